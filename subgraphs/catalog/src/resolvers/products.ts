import { mapConnection, type PageArgs } from '@pm/service-kit'
import type { Context } from '../context'
import { type Product, toProduct } from '../db/mappers'
import type { ProductParentColumn } from '../db/queries'
import { type OrderArg, productOrder } from '../loaders'
import type { ProductPrefetchPlan } from '../prefetch'

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

/** One product by id, SKU or EAN: with its asked-for children in the same statement when there are any. */
export function loadProduct(
  ctx: Context,
  by: 'id' | 'sku' | 'ean',
  key: string,
  plan: ProductPrefetchPlan | null,
): Promise<Product | null> {
  if (plan) return ctx.loaders.productsWith.for({ by, plan }).load(key)
  if (by === 'id') return ctx.loaders.productById.load(key)
  return (by === 'sku' ? ctx.loaders.productBySku : ctx.loaders.productByEan).load(key)
}
