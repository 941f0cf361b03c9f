import type { DB } from '@pm/db/types/catalog'
import type { Insertable } from 'kysely'
import type { CatalogTrx } from './writes'

/** Another brand with this code, if any. */
export function brandWithCode(trx: CatalogTrx, code: string, exceptId: string | null) {
  let query = trx.selectFrom('brands').select('id').where('code', '=', code)
  if (exceptId) query = query.where('id', '<>', exceptId)
  return query.executeTakeFirst()
}

export function insertBrand(trx: CatalogTrx, values: Insertable<DB['brands']>) {
  return trx.insertInto('brands').values(values).returningAll().executeTakeFirstOrThrow()
}
