import type { CategoryResolvers } from '../generated/graphql'
import { idKey } from './args'
import { nestedProducts } from './products'

export const Category = {
  __resolveReference: (ref, ctx) => ctx.loaders.categoryById.load(idKey(ref.id)),
  parent: (c, _, ctx) => (c.parentId ? ctx.loaders.categoryById.load(c.parentId) : null),
  children: (c, _, ctx) => ctx.loaders.categoriesByParentId.load(c.id),
  products: (c, args, ctx) => nestedProducts('category_id', c.id, args, ctx),
} satisfies CategoryResolvers
