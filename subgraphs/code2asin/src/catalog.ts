import { queryPeer } from '@pm/service-kit'
import type { Context } from './context'

/** Questions to catalog through its graph (never its database); queryPeer answers SERVICE_UNAVAILABLE when down. */

const SUPPLIER_PRODUCTS = `query($code: String!) {
  supplierByCode(code: $code) { code products(first: 1) { totalCount } }
}`

/** The supplier's canonical code and how many products it has; null when catalog has no such supplier. */
export async function supplierProductCount(ctx: Context, code: string) {
  const data = await queryPeer<{
    supplierByCode: { code: string; products: { totalCount: number } } | null
  }>(ctx.peers, 'catalog', SUPPLIER_PRODUCTS, { code })
  const supplier = data.supplierByCode
  return supplier ? { code: supplier.code, productCount: supplier.products.totalCount } : null
}

const CATALOG_COUNT = `query { products(first: 1) { totalCount } }`

/** How many products the catalog has. */
export async function catalogProductCount(ctx: Context): Promise<number> {
  const data = await queryPeer<{ products: { totalCount: number } }>(ctx.peers, 'catalog', CATALOG_COUNT, {})
  return data.products.totalCount
}
