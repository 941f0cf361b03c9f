import type { Context } from '../context'
import { dateRange } from '../dates'
import type { SupplierResolvers } from '../generated/graphql'

/** Catalog owns suppliers: the representation is returned as is, existence is checked there. */
export const Supplier = {
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  metrics: (supplier: { id: string }, args: { from?: string | null; to?: string | null }, ctx: Context) =>
    ctx.loaders.supplierMetrics.for(dateRange(args)).load(supplier.id),
  importMetrics: (
    supplier: { id: string },
    args: { from?: string | null; to?: string | null },
    ctx: Context,
  ) => ctx.loaders.supplierImportMetrics.for(dateRange(args)).load(supplier.id),
} satisfies SupplierResolvers
