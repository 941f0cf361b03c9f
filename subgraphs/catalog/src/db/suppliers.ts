import type { DB } from '@pm/db/types/catalog'
import type { Insertable, Updateable } from 'kysely'
import type { CatalogTrx } from './writes'

/** Another supplier with this code, if any. */
export function supplierWithCode(trx: CatalogTrx, code: string, exceptId: string | null) {
  let query = trx.selectFrom('suppliers').select('id').where('code', '=', code)
  if (exceptId) query = query.where('id', '<>', exceptId)
  return query.executeTakeFirst()
}

/** Whether a supplier exists (its id, or undefined). */
export function supplierExists(trx: CatalogTrx, id: string) {
  return trx.selectFrom('suppliers').select('id').where('id', '=', id).executeTakeFirst()
}

export function insertSupplier(trx: CatalogTrx, values: Insertable<DB['suppliers']>) {
  return trx.insertInto('suppliers').values(values).returningAll().executeTakeFirstOrThrow()
}

/** Writes these columns of one supplier (locked by the caller); returns the row as written. */
export function updateSupplier(trx: CatalogTrx, id: string, changes: Updateable<DB['suppliers']>) {
  return trx
    .updateTable('suppliers')
    .set(changes)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** Inserts the supplier's details row, or writes these columns of the one it has. */
export function upsertSupplierDetails(
  trx: CatalogTrx,
  supplierId: string,
  changes: Omit<Insertable<DB['supplier_details']>, 'supplier_id'>,
) {
  return trx
    .insertInto('supplier_details')
    .values({ supplier_id: supplierId, ...changes })
    .onConflict((oc) => oc.column('supplier_id').doUpdateSet(changes))
    .returningAll()
    .executeTakeFirstOrThrow()
}
