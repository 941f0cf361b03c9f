import type { DB } from '@pm/db/types/catalog'
import { type Insertable, sql } from 'kysely'
import type { CatalogDb } from './queries'
import type { CatalogTrx } from './writes'

/**
 * Locks one product row (FOR NO KEY UPDATE, as the bulk upsert's lockProducts): prices and stock are written
 * under it. Undefined when there is no such product.
 */
export function lockProduct(trx: CatalogTrx, productId: string) {
  return trx
    .selectFrom('products')
    .select(['id', 'supplier_id'])
    .where('id', '=', productId)
    .forNoKeyUpdate()
    .executeTakeFirst()
}

/** A product's supplier, unlocked: read to take the supplier's key lock before the row lock. */
export function productSupplierId(trx: CatalogTrx, id: string) {
  return trx.selectFrom('products').select('supplier_id').where('id', '=', id).executeTakeFirst()
}

export function insertProduct(trx: CatalogTrx, values: Insertable<DB['products']>) {
  return trx.insertInto('products').values(values).returningAll().executeTakeFirstOrThrow()
}

/** Deletes a product (the foreign keys cascade); returns the deleted row, undefined when there was none. */
export function deleteProduct(trx: CatalogTrx, id: string) {
  return trx.deleteFrom('products').where('id', '=', id).returningAll().executeTakeFirst()
}

export interface AsinChange {
  id: string
  before: string | null
  changed: boolean
}

/**
 * Sets products' ASINs in one statement: the products found are locked in id order, only those whose ASIN
 * differs are written. One row per product found, with its ASIN before and whether it changed.
 */
export async function setAsins(trx: CatalogTrx, wanted: ReadonlyMap<string, string | null>) {
  const payload = JSON.stringify([...wanted].map(([id, asin]) => ({ id, asin })))
  const { rows } = await sql<AsinChange>`
      WITH wanted AS (
        SELECT r.id, r.asin FROM jsonb_to_recordset(${payload}::jsonb) AS r(id uuid, asin text)
      ), locked AS (
        SELECT p.id, p.asin AS before, w.asin AS after
        FROM products p JOIN wanted w ON w.id = p.id
        ORDER BY p.id
        FOR UPDATE OF p
      ), written AS (
        UPDATE products p SET asin = l.after, updated_at = now()
        FROM locked l
        WHERE p.id = l.id AND p.asin IS DISTINCT FROM l.after
        RETURNING p.id
      )
      SELECT l.id, l.before, (l.id IN (SELECT id FROM written)) AS changed FROM locked l`.execute(trx)
  return rows
}

/** The supplier, brand and category of these products (one row per product found). */
export function productOwners(db: CatalogDb, ids: readonly string[]) {
  return db
    .selectFrom('products')
    .select(['supplier_id', 'brand_id', 'category_id'])
    .where('id', '=', (eb) => eb.fn.any(eb.val([...ids])))
    .execute()
}
