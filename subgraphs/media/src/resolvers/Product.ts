import type { Context } from '../context'

/** Catalog owns products: the representation is returned as is, existence is checked there. */
export const Product = {
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  media: (product: { id: string }, _: unknown, ctx: Context) => ctx.loaders.mediaByProductId.load(product.id),
  primaryImage: (product: { id: string }, _: unknown, ctx: Context) =>
    ctx.loaders.primaryImageByProductId.load(product.id),
}
