import { fixedStatement } from '@pm/db'
import type { DB } from '@pm/db/types/media'
import { uuidKeys } from '@pm/service-kit'
import { type Kysely, sql } from 'kysely'
import { thumbnailCodec } from './codecs'

export type MediaDb = Kysely<DB>

const filesByIds = fixedStatement('media files by ids', (db: MediaDb, keys: string[]) =>
  db
    .selectFrom('media_files')
    .selectAll()
    .where('media_files.id', '=', (eb) => eb.fn.any(eb.val(keys))),
)

export function mediaFilesByIds(db: MediaDb, ids: readonly string[]) {
  const keys = uuidKeys(ids)
  if (keys.length === 0) return Promise.resolve([])
  return filesByIds(db, keys)
}

/** The earliest file of each hash (files with the same content share it). */
export function mediaFilesByHashes(db: MediaDb, hashes: readonly string[]) {
  return db
    .selectFrom('media_files')
    .distinctOn('media_files.file_hash')
    .selectAll()
    .where('media_files.file_hash', '=', (eb) => eb.fn.any(eb.val([...hashes])))
    .orderBy('media_files.file_hash')
    .orderBy('media_files.created_at')
    .orderBy('media_files.id')
    .execute()
}

/** Each file's thumbnails as JSON (`__thumbnails`, narrowest first, as thumbnailsByMediaFileIds orders them). */
const THUMBNAILS_JSON =
  sql<unknown>`(SELECT ${thumbnailCodec.agg('t', sql`t.width, t.id`)} FROM media_thumbnails AS t WHERE t.media_file_id = media_files.id)`.as(
    '__thumbnails',
  )

/** Every file of the given products in display order; idx_media_files_product_display_order serves it. */
function filesOfProducts(db: MediaDb, keys: string[]) {
  return db
    .selectFrom('media_files')
    .selectAll('media_files')
    .where('media_files.product_id', '=', (eb) => eb.fn.any(eb.val(keys)))
    .orderBy('media_files.product_id')
    .orderBy('media_files.display_order')
    .orderBy('media_files.id')
}

const filesByProductIds = fixedStatement('media files by product ids', filesOfProducts)

export function mediaFilesByProductIds(db: MediaDb, productIds: readonly string[]) {
  const keys = uuidKeys(productIds)
  if (keys.length === 0) return Promise.resolve([])
  return filesByProductIds(db, keys)
}

/**
 * The same files with each one's thumbnails as JSON in the same statement (`__thumbnails`, narrowest first
 * as thumbnailsByMediaFileIds orders them), one idx_media_thumbnails_media_file_id probe per file.
 */
const filesWithThumbnailsByProductIds = fixedStatement(
  'media files with thumbnails by product ids',
  (db: MediaDb, keys: string[]) => filesOfProducts(db, keys).select(THUMBNAILS_JSON),
)

export function mediaFilesWithThumbnailsByProductIds(db: MediaDb, productIds: readonly string[]) {
  const keys = uuidKeys(productIds)
  if (keys.length === 0) return Promise.resolve([])
  return filesWithThumbnailsByProductIds(db, keys)
}

/**
 * Each product's primary image as Product.primaryImage picks it from the product's files: the first file marked
 * primary in display order, else the first file; one row per product that has files.
 */
function primaryFilesOfProducts(db: MediaDb, keys: string[]) {
  return db
    .selectFrom((eb) =>
      eb
        .selectFrom('media_files')
        .distinctOn('media_files.product_id')
        .selectAll('media_files')
        .where('media_files.product_id', '=', (e) => e.fn.any(e.val(keys)))
        .orderBy('media_files.product_id')
        .orderBy(sql`media_files.is_primary IS TRUE`, 'desc')
        .orderBy('media_files.display_order')
        .orderBy('media_files.id')
        .as('media_files'),
    )
    .selectAll('media_files')
}

const primaryFilesByProductIds = fixedStatement('primary media files by product ids', primaryFilesOfProducts)

export function primaryMediaFilesByProductIds(db: MediaDb, productIds: readonly string[]) {
  const keys = uuidKeys(productIds)
  if (keys.length === 0) return Promise.resolve([])
  return primaryFilesByProductIds(db, keys)
}

/** The same files with their thumbnails as JSON (`__thumbnails`), as mediaFilesWithThumbnailsByProductIds. */
const primaryFilesWithThumbnailsByProductIds = fixedStatement(
  'primary media files with thumbnails by product ids',
  (db: MediaDb, keys: string[]) => primaryFilesOfProducts(db, keys).select(THUMBNAILS_JSON),
)

export function primaryMediaFilesWithThumbnailsByProductIds(db: MediaDb, productIds: readonly string[]) {
  const keys = uuidKeys(productIds)
  if (keys.length === 0) return Promise.resolve([])
  return primaryFilesWithThumbnailsByProductIds(db, keys)
}

const thumbnailsOfFiles = fixedStatement('thumbnails by media file ids', (db: MediaDb, keys: string[]) =>
  db
    .selectFrom('media_thumbnails')
    .selectAll()
    .where('media_thumbnails.media_file_id', '=', (eb) => eb.fn.any(eb.val(keys)))
    .orderBy('media_thumbnails.media_file_id')
    .orderBy('media_thumbnails.width')
    .orderBy('media_thumbnails.id'),
)

export function thumbnailsByMediaFileIds(db: MediaDb, mediaFileIds: readonly string[]) {
  const keys = uuidKeys(mediaFileIds)
  if (keys.length === 0) return Promise.resolve([])
  return thumbnailsOfFiles(db, keys)
}

export interface MediaFileFilter {
  productId?: string | null
  processingStatus?: string | null
  imageType?: string | null
  isPrimary?: boolean | null
}

export function mediaFilesQuery(db: MediaDb, filter: MediaFileFilter = {}) {
  let query = db.selectFrom('media_files').selectAll('media_files')
  if (filter.productId != null) query = query.where('media_files.product_id', '=', filter.productId)
  if (filter.processingStatus != null)
    query = query.where('media_files.processing_status', '=', filter.processingStatus)
  if (filter.imageType != null) query = query.where('media_files.image_type', '=', filter.imageType)
  if (filter.isPrimary != null) {
    // The column is nullable and defaults to false: a NULL is "not primary".
    query = filter.isPrimary
      ? query.where('media_files.is_primary', '=', true)
      : query.where((eb) =>
          eb.or([eb('media_files.is_primary', '=', false), eb('media_files.is_primary', 'is', null)]),
        )
  }
  return query
}
