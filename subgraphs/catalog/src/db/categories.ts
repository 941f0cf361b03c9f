import type { DB } from '@pm/db/types/catalog'
import type { Insertable } from 'kysely'
import type { CatalogTrx } from './writes'

/** Another category with this slug, if any. */
export function categoryWithSlug(trx: CatalogTrx, slug: string, exceptId: string | null) {
  let query = trx.selectFrom('categories').select('id').where('slug', '=', slug)
  if (exceptId) query = query.where('id', '<>', exceptId)
  return query.executeTakeFirst()
}

/** A category's id and slug (a new child's slug starts with its parent's). */
export function categorySlug(trx: CatalogTrx, id: string) {
  return trx.selectFrom('categories').select(['id', 'slug']).where('id', '=', id).executeTakeFirst()
}

export function insertCategory(trx: CatalogTrx, values: Insertable<DB['categories']>) {
  return trx.insertInto('categories').values(values).returningAll().executeTakeFirstOrThrow()
}
