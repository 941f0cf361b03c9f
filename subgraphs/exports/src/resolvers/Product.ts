import { mapConnection, type PageArgs } from '@pm/service-kit'
import type { Context } from '../context'
import { toExportJobItem } from '../db/mappers'
import type { ProductResolvers } from '../generated/graphql'

/** catalog owns Product: any id is taken as is, existence is catalog's to decide. */
export const Product = {
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  exportItems: async (product: { id: string }, { first, after }: PageArgs, ctx: Context) =>
    mapConnection(await ctx.loaders.itemsByProductId.for({ first, after }).load(product.id), toExportJobItem),
} satisfies ProductResolvers
