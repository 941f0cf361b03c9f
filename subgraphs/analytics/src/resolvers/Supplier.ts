import { dateRange } from '../dates'
import type { SupplierResolvers } from '../generated/graphql'

/** Catalog owns suppliers: the representation is returned as is, existence is checked there. */
export const Supplier = {
  __resolveReference: (ref) => ({ id: ref.id }),
  metrics: (supplier, args, ctx) => ctx.loaders.supplierMetrics.for(dateRange(args)).load(supplier.id),
  importMetrics: (supplier, args, ctx) =>
    ctx.loaders.supplierImportMetrics.for(dateRange(args)).load(supplier.id),
} satisfies SupplierResolvers
