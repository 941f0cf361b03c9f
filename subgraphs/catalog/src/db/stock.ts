import type { DB } from '@pm/db/types/catalog'
import { type Insertable, sql } from 'kysely'
import type { CatalogTrx } from './writes'

/**
 * The stock row of (product, warehouse), locked; with legacy duplicates (no unique key on the pair), the
 * oldest id. The caller holds the product's row lock and the pair's advisory lock (stockLock).
 */
export function lockStockLevel(trx: CatalogTrx, productId: string, warehouseId: string | null) {
  return trx
    .selectFrom('product_stocks')
    .selectAll()
    .where('product_id', '=', productId)
    .where('warehouse_id', 'is not distinct from', warehouseId)
    .orderBy('id')
    .limit(1)
    .forUpdate()
    .executeTakeFirst()
}

export interface StockLevelValues {
  quantity?: number
  reserved_quantity?: number
  min_stock?: number
}

/** Writes these columns of one stock row and stamps last_update; returns the row as written. */
export function updateStockLevel(trx: CatalogTrx, id: string, values: StockLevelValues) {
  return trx
    .updateTable('product_stocks')
    .set({ ...values, last_update: sql`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export function insertStockLevel(trx: CatalogTrx, values: Insertable<DB['product_stocks']>) {
  return trx.insertInto('product_stocks').values(values).returningAll().executeTakeFirstOrThrow()
}

/** One stock_history row (delta is a generated column: never written). */
export async function insertStockHistoryEntry(
  trx: CatalogTrx,
  values: Omit<Insertable<DB['stock_history']>, 'delta'>,
) {
  await trx.insertInto('stock_history').values(values).execute()
}
