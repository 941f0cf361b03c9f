import type { Context } from '../context'

/** Catalog owns products: the representation is returned as is, existence is checked there. */
export const Product = {
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  media: (product: { id: string }, _: unknown, ctx: Context) => ctx.loaders.mediaByProductId.load(product.id),
  // Picked from the same batch as media: a page asking for both runs one statement, and its thumbnails
  // are then loaded in one wave too.
  primaryImage: async (product: { id: string }, _: unknown, ctx: Context) => {
    const files = await ctx.loaders.mediaByProductId.load(product.id)
    return files.find((f) => f.isPrimary === true) ?? files[0] ?? null
  },
}
