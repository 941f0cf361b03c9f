import type { Context } from '../context'
import type { Brand as BrandModel } from '../db/mappers'
import { type NestedProductsFieldArgs, nestedProducts } from './products'

export const Brand = {
  __resolveReference: (ref: { id: string }, ctx: Context) => ctx.loaders.brandById.load(ref.id),
  products: (b: BrandModel, args: NestedProductsFieldArgs, ctx: Context) =>
    nestedProducts('brand_id', b.id, args, ctx),
}
