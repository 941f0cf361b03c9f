import type { Context } from '../context'
import { dateRange } from '../dates'
import { toProductMetricsSummary } from '../db/mappers'
import type { ProductResolvers } from '../generated/graphql'

type RangeArgs = { from?: string | null; to?: string | null }

/** Catalog owns products: the representation is returned as is, existence is checked there. */
export const Product = {
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  metrics: (product: { id: string }, args: RangeArgs, ctx: Context) =>
    ctx.loaders.productMetrics.for(dateRange(args)).load(product.id),
  metricsSummary: async (product: { id: string }, args: RangeArgs, ctx: Context) => {
    const range = dateRange(args)
    return toProductMetricsSummary(range, await ctx.loaders.productMetricsSummary.for(range).load(product.id))
  },
} satisfies ProductResolvers
