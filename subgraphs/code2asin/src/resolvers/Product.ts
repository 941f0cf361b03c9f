import type { ProductResolvers } from '../generated/graphql'

/** Catalog owns products: the representation is returned as is, existence is checked there. */
export const Product = {
  __resolveReference: (ref) => ({ id: ref.id }),
  asinMatches: (product, _, ctx) => ctx.loaders.asinMatchesByProductId.load(product.id),
  bestAsinMatch: (product, _, ctx) => ctx.loaders.bestAsinMatchByProductId.load(product.id),
} satisfies ProductResolvers
