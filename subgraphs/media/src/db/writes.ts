import type { DB } from '@pm/db/types/media'
import { type Insertable, type Kysely, sql, type Transaction } from 'kysely'
import type { ThumbnailValues } from '../validation'

/** Statements of the media mutations; each runs inside the mutation's transaction. */
export type MediaTrx = Transaction<DB>

/**
 * Serialises the writes that touch a product's set of files (primary flag, display order, registration,
 * deletion) until the transaction ends. Row locks alone cannot: a product's first file has no row to lock yet.
 * Always taken before any media_files row lock, so two such writers never wait on each other in a cycle.
 */
export async function lockProductMedia(trx: MediaTrx, productId: string) {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`media_files.product_id:${productId}`}, 0))`.execute(
    trx,
  )
}

/** The file's product, read without a lock: product_id never changes once registered. */
export function productIdOfFile(db: Kysely<DB>, id: string) {
  return db.selectFrom('media_files').select(['id', 'product_id']).where('id', '=', id).executeTakeFirst()
}

export function fileForUpdate(trx: MediaTrx, id: string) {
  return trx.selectFrom('media_files').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

export function fileById(trx: MediaTrx, id: string) {
  return trx.selectFrom('media_files').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Every file of the product in display order, locked. */
export function productFilesForUpdate(trx: MediaTrx, productId: string) {
  return trx
    .selectFrom('media_files')
    .selectAll()
    .where('product_id', '=', productId)
    .orderBy('display_order')
    .orderBy('id')
    .forUpdate()
    .execute()
}

/** Inserts unless the hash is registered already (even by a concurrent transaction): undefined then. */
export function insertFileUnlessHashExists(trx: MediaTrx, values: Insertable<DB['media_files']>) {
  return trx
    .insertInto('media_files')
    .values(values)
    .onConflict((oc) => oc.column('file_hash').doNothing())
    .returningAll()
    .executeTakeFirst()
}

/** Sets is_primary on exactly `primaryId` among the product's files; returns the rows it changed. */
export function makeOnlyPrimary(trx: MediaTrx, productId: string, primaryId: string) {
  const isTarget = sql<boolean>`(id = ${primaryId})`
  return trx
    .updateTable('media_files')
    .set({ is_primary: isTarget })
    .where('product_id', '=', productId)
    .where(sql<boolean>`is_primary IS DISTINCT FROM ${isTarget}`)
    .returning(['id', 'is_primary'])
    .execute()
}

/** display_order = position in `ids` (0-based), for the rows whose order changes; one statement. */
export function setDisplayOrders(trx: MediaTrx, productId: string, ids: readonly string[]) {
  return sql<{ id: string }>`
    UPDATE media_files AS m SET display_order = v.position - 1
    FROM unnest(${[...ids]}::uuid[]) WITH ORDINALITY AS v(id, position)
    WHERE m.id = v.id AND m.product_id = ${productId}
      AND m.display_order IS DISTINCT FROM (v.position - 1)::int
    RETURNING m.id`.execute(trx)
}

export function deleteFile(trx: MediaTrx, id: string) {
  return trx.deleteFrom('media_files').where('id', '=', id).executeTakeFirst()
}

export function thumbnailsOfFile(trx: MediaTrx, mediaFileId: string) {
  return trx
    .selectFrom('media_thumbnails')
    .selectAll()
    .where('media_file_id', '=', mediaFileId)
    .orderBy('width')
    .orderBy('id')
    .execute()
}

export function deleteThumbnails(trx: MediaTrx, mediaFileId: string, sizeNames: readonly string[] | 'all') {
  let query = trx.deleteFrom('media_thumbnails').where('media_file_id', '=', mediaFileId)
  if (sizeNames !== 'all') {
    if (sizeNames.length === 0) return Promise.resolve([])
    query = query.where('size_name', '=', (eb) => eb.fn.any(eb.val([...sizeNames])))
  }
  return query.returningAll().execute()
}

export function insertThumbnails(trx: MediaTrx, mediaFileId: string, thumbnails: readonly ThumbnailValues[]) {
  if (thumbnails.length === 0) return Promise.resolve([])
  return trx
    .insertInto('media_thumbnails')
    .values(thumbnails.map((t) => ({ ...t, media_file_id: mediaFileId })))
    .returningAll()
    .execute()
}
