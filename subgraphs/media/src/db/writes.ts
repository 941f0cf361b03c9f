import type { DB } from '@pm/db/types/media'
import { type Insertable, type Kysely, sql, type Transaction } from 'kysely'

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

/**
 * lockProductMedia for several products in one statement, in product id order: the only writer that holds
 * more than one of these locks takes them in that order, so two of them never wait on each other in a cycle.
 * Each lock is a slot of the server's shared lock table: callers take a few hundred at most per transaction.
 */
export async function lockProductsMedia(trx: MediaTrx, productIds: readonly string[]) {
  const keys = [...new Set(productIds)].sort().map((id) => `media_files.product_id:${id}`)
  await sql`SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))
    FROM unnest(${keys}::text[]) WITH ORDINALITY AS t(k, n)`.execute(trx)
}

/** The file's product, read without a lock: product_id never changes once registered. */
export function productIdOfFile(db: Kysely<DB>, id: string) {
  return db.selectFrom('media_files').select(['id', 'product_id']).where('id', '=', id).executeTakeFirst()
}

/** The product's file with these bytes (its sha-256), if it has one: an attachment of them again is a retry. */
export function productFileWithContent(db: Kysely<DB>, productId: string, sha256: string) {
  return db
    .selectFrom('media_files')
    .selectAll()
    .where('product_id', '=', productId)
    .where('file_hash', '=', sha256)
    .executeTakeFirst()
}

/** What a new file of the product is placed after: the last display order, whether one is primary, how many. */
export function productMediaSummary(trx: MediaTrx, productId: string) {
  return trx
    .selectFrom('media_files')
    .select((eb) => [
      eb.fn.max('display_order').as('lastOrder'),
      eb.fn<boolean | null>('bool_or', ['is_primary']).as('hasPrimary'),
      eb.fn.countAll<string>().as('count'),
    ])
    .where('product_id', '=', productId)
    .executeTakeFirstOrThrow()
}

export function insertFile(trx: MediaTrx, values: Insertable<DB['media_files']>) {
  return trx.insertInto('media_files').values(values).returningAll().executeTakeFirstOrThrow()
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

/** Sets is_primary on one file (the others are the caller's: checked under the product's lock). */
export function setPrimary(trx: MediaTrx, id: string) {
  return trx
    .updateTable('media_files')
    .set({ is_primary: true })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** Back to pending with no error, for the worker to take again; returns the rows. */
export function markPending(trx: MediaTrx, ids: string[]) {
  return trx
    .updateTable('media_files')
    .set({ processing_status: 'pending', processing_error: null })
    .where('id', '=', (eb) => eb.fn.any(eb.val(ids)))
    .returningAll()
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

/**
 * Serialises what touches one stored content (its first upload, the deletion of its last file, a job recording
 * thumbnails): the reference count read under it holds until the transaction ends. A transaction that also locks
 * the file's media_files row takes the row first (deleteMediaFile, processing), or holds the product's lock, as
 * deleteMediaFile does, before both (recording a fetched image): no two of them wait on each other in a cycle.
 */
export async function lockContent(trx: MediaTrx, sha256: string) {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`media_files.file_hash:${sha256}`}, 0))`.execute(
    trx,
  )
}

/** Whether any file (other than `exceptId`) still refers to this content. */
export async function contentInUse(trx: MediaTrx, sha256: string, exceptId?: string) {
  let query = trx.selectFrom('media_files').select('id').where('file_hash', '=', sha256)
  if (exceptId) query = query.where('id', '<>', exceptId)
  return (await query.limit(1).executeTakeFirst()) !== undefined
}
