import type { Context } from '../context'
import type { ProductResolvers } from '../generated/graphql'

/** Catalog owns products: the representation is returned as is, existence is checked there. */
export const Product = {
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  asinMatches: (product: { id: string }, _: unknown, ctx: Context) =>
    ctx.loaders.asinMatchesByProductId.load(product.id),
  bestAsinMatch: (product: { id: string }, _: unknown, ctx: Context) =>
    ctx.loaders.bestAsinMatchByProductId.load(product.id),
} satisfies ProductResolvers
