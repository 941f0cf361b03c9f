import { mapConnection, type PageArgs } from '@pm/service-kit'
import type { Context } from '../context'
import { toProduct } from '../db/mappers'
import type { ProductParentColumn } from '../db/queries'
import { type OrderArg, productOrder } from '../loaders'

export type NestedProductsFieldArgs = PageArgs & { isActive?: boolean | null; orderBy?: OrderArg | null }

/** Supplier.products, Brand.products and Category.products: one statement for all parents of a request. */
export async function nestedProducts(
  parent: ProductParentColumn,
  parentId: string,
  { isActive, orderBy, first, after }: NestedProductsFieldArgs,
  ctx: Context,
) {
  const loader = ctx.loaders.productsByParent.for({
    parent,
    isActive: isActive ?? null,
    order: productOrder(orderBy),
    first,
    after,
  })
  return mapConnection(await loader.load(parentId), toProduct)
}
