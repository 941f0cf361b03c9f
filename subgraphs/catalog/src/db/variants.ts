import type { DB } from '@pm/db/types/catalog'
import { type Insertable, sql } from 'kysely'
import type { CatalogTrx } from './writes'

/** Another variant with this SKU, if any. */
export function variantWithSku(trx: CatalogTrx, sku: string, exceptId: string | null) {
  let query = trx.selectFrom('product_variants').select('id').where('sku', '=', sku)
  if (exceptId) query = query.where('id', '<>', exceptId)
  return query.executeTakeFirst()
}

/**
 * The product a new variant joins, held FOR KEY SHARE (it cannot be deleted meanwhile), with the position
 * after its last variant. Undefined when there is no such product.
 */
export function lockVariantProduct(trx: CatalogTrx, productId: string) {
  return trx
    .selectFrom('products')
    .select([
      'id',
      sql<number>`(SELECT COALESCE(MAX(position) + 1, 0) FROM product_variants v WHERE v.product_id = products.id)`.as(
        'next_position',
      ),
    ])
    .where('id', '=', productId)
    .forKeyShare()
    .executeTakeFirst()
}

export function insertVariant(trx: CatalogTrx, values: Insertable<DB['product_variants']>) {
  return trx.insertInto('product_variants').values(values).returningAll().executeTakeFirstOrThrow()
}

/** Deletes a variant; returns the deleted row, undefined when there was none. */
export function deleteVariant(trx: CatalogTrx, id: string) {
  return trx.deleteFrom('product_variants').where('id', '=', id).returningAll().executeTakeFirst()
}
