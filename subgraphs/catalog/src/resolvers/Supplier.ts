import type { SupplierResolvers } from '../generated/graphql'
import { idKey } from './args'
import { nestedProducts } from './products'

export const Supplier = {
  // Either key may come: { id } from analytics or catalog references, { code } from imports.
  __resolveReference: (ref, ctx) => {
    if ('id' in ref) return ctx.loaders.supplierById.load(idKey(ref.id))
    if ('code' in ref) return ctx.loaders.supplierByCode.load(ref.code)
    return null
  },
  details: (s, _, ctx) => ctx.loaders.supplierDetailsBySupplierId.load(s.id),
  products: (s, args, ctx) => nestedProducts('supplier_id', s.id, args, ctx),
} satisfies SupplierResolvers
