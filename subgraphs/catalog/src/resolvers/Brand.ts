import type { BrandResolvers } from '../generated/graphql'
import { idKey } from './args'
import { nestedProducts } from './products'

export const Brand = {
  __resolveReference: (ref, ctx) => ctx.loaders.brandById.load(idKey(ref.id)),
  products: (b, args, ctx) => nestedProducts('brand_id', b.id, args, ctx),
} satisfies BrandResolvers
