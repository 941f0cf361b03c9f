import type { Context } from '../context'
import type { Category as CategoryModel } from '../db/mappers'
import { type NestedProductsFieldArgs, nestedProducts } from './products'

export const Category = {
  __resolveReference: (ref: { id: string }, ctx: Context) => ctx.loaders.categoryById.load(ref.id),
  parent: (c: CategoryModel, _: unknown, ctx: Context) =>
    c.parentId ? ctx.loaders.categoryById.load(c.parentId) : null,
  children: (c: CategoryModel, _: unknown, ctx: Context) => ctx.loaders.categoriesByParentId.load(c.id),
  products: (c: CategoryModel, args: NestedProductsFieldArgs, ctx: Context) =>
    nestedProducts('category_id', c.id, args, ctx),
}
