import { dateRange } from '../dates'
import { toProductMetricsSummary } from '../db/mappers'
import type { ProductResolvers } from '../generated/graphql'

/** Catalog owns products: the representation is returned as is, existence is checked there. */
export const Product = {
  __resolveReference: (ref) => ({ id: ref.id }),
  metrics: (product, args, ctx) => ctx.loaders.productMetrics.for(dateRange(args)).load(product.id),
  metricsSummary: async (product, args, ctx) => {
    const range = dateRange(args)
    return toProductMetricsSummary(range, await ctx.loaders.productMetricsSummary.for(range).load(product.id))
  },
} satisfies ProductResolvers
