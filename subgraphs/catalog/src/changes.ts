import type { Context } from './context'
import { productOwners } from './db/products'
import type { CatalogDb } from './db/queries'

/** Past this many products a mutation's change counts as catalog-wide for the gateway's cache. */
const MAX_DECLARED_PRODUCTS = 200

/**
 * Tells the gateway's cache (ctx.changes) that the current mutation changes these products' own data (prices,
 * stock, completeness), not which supplier, brand or category they belong to. Whose cached answers that
 * alters: each product's, and its supplier's, brand's and category's, whose `products` lists show it. A
 * mutation that moves a product elsewhere, or renames what products' answers nest, declares nothing (the
 * whole of catalog's cache goes).
 */
export async function declareProductsChanged(ctx: Context, db: CatalogDb, ids: readonly string[]) {
  if (ids.length > MAX_DECLARED_PRODUCTS) return ctx.changes.wholeDomain()
  const owners = ids.length === 0 ? [] : await productOwners(db, ids)
  ctx.changes.entities('Product', ids)
  ctx.changes.entities(
    'Supplier',
    owners.map((o) => o.supplier_id),
  )
  ctx.changes.entities(
    'Brand',
    owners.map((o) => o.brand_id),
  )
  ctx.changes.entities(
    'Category',
    owners.map((o) => o.category_id),
  )
}
