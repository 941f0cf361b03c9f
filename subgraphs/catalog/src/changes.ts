import type { DB } from '@pm/db/types/catalog'
import type { Kysely } from 'kysely'
import type { Context } from './context'

/** Past this many products a mutation's change counts as catalog-wide for the gateway's cache. */
const MAX_DECLARED_PRODUCTS = 200

/**
 * Tells the gateway's cache (ctx.changes) that the current mutation changes these products' own data (prices,
 * stock, completeness), not which supplier, brand or category they belong to. Whose cached answers that
 * alters: each product's, and its supplier's, brand's and category's, whose `products` lists show it. A
 * mutation that moves a product elsewhere, or renames what products' answers nest, declares nothing (the
 * whole of catalog's cache goes).
 */
export async function declareProductsChanged(ctx: Context, db: Kysely<DB>, ids: readonly string[]) {
  if (ids.length > MAX_DECLARED_PRODUCTS) return ctx.changes.wholeDomain()
  const owners =
    ids.length === 0
      ? []
      : await db
          .selectFrom('products')
          .select(['supplier_id', 'brand_id', 'category_id'])
          .where('id', '=', (eb) => eb.fn.any(eb.val([...ids])))
          .execute()
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
