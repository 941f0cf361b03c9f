import { mapConnection } from '@pm/service-kit'
import { toExportJobItem } from '../db/mappers'
import type { ProductResolvers } from '../generated/graphql'

/** catalog owns Product: any id is taken as is, existence is catalog's to decide. */
export const Product = {
  __resolveReference: (ref) => ({ id: ref.id }),
  exportItems: async (product, { first, after }, ctx) =>
    mapConnection(await ctx.loaders.itemsByProductId.for({ first, after }).load(product.id), toExportJobItem),
} satisfies ProductResolvers
