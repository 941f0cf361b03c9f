import type { DB } from '@pm/db/types/catalog'
import type { Insertable, Updateable } from 'kysely'
import type { CatalogTrx } from './writes'

/** The product of a price row, unlocked (the product is locked next, then the price row). */
export function priceProductId(trx: CatalogTrx, id: string) {
  return trx.selectFrom('product_prices').select('product_id').where('id', '=', id).executeTakeFirst()
}

/**
 * The current price of (product, price type, minimum quantity), locked: the active row with the newest
 * valid_from, then the greatest id (a missing min_quantity counts as 1).
 */
export function lockCurrentPrice(trx: CatalogTrx, productId: string, priceType: string, minQuantity: number) {
  return trx
    .selectFrom('product_prices')
    .selectAll()
    .where('product_id', '=', productId)
    .where('price_type', '=', priceType)
    .where((eb) => eb.fn.coalesce('min_quantity', eb.lit(1)), '=', minQuantity)
    .where('is_active', 'is', true)
    .orderBy('valid_from', (ob) => ob.desc().nullsLast())
    .orderBy('id', 'desc')
    .limit(1)
    .forUpdate()
    .executeTakeFirst()
}

/** The amount price_history last recorded for this product and price type (undefined when none was). */
export function lastRecordedPrice(trx: CatalogTrx, productId: string, priceType: string) {
  return trx
    .selectFrom('price_history')
    .select('new_price')
    .where('product_id', '=', productId)
    .where('price_type', '=', priceType)
    .orderBy('changed_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
}

export function insertPrice(trx: CatalogTrx, values: Insertable<DB['product_prices']>) {
  return trx.insertInto('product_prices').values(values).returningAll().executeTakeFirstOrThrow()
}

/** Writes these columns of one price row; returns the row as written. */
export function updatePrice(trx: CatalogTrx, id: string, changes: Updateable<DB['product_prices']>) {
  return trx
    .updateTable('product_prices')
    .set(changes)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function insertPriceHistoryEntry(trx: CatalogTrx, values: Insertable<DB['price_history']>) {
  await trx.insertInto('price_history').values(values).execute()
}
