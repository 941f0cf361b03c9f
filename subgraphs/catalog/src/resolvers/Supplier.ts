import type { Context } from '../context'
import type { Supplier as SupplierModel } from '../db/mappers'
import { type NestedProductsFieldArgs, nestedProducts } from './products'

export const Supplier = {
  // Either key may come: { id } from analytics or catalog references, { code } from imports.
  __resolveReference: (ref: { id?: string | null; code?: string | null }, ctx: Context) => {
    if (ref.id != null) return ctx.loaders.supplierById.load(ref.id)
    if (ref.code != null) return ctx.loaders.supplierByCode.load(ref.code)
    return null
  },
  details: (s: SupplierModel, _: unknown, ctx: Context) => ctx.loaders.supplierDetailsBySupplierId.load(s.id),
  products: (s: SupplierModel, args: NestedProductsFieldArgs, ctx: Context) =>
    nestedProducts('supplier_id', s.id, args, ctx),
}
