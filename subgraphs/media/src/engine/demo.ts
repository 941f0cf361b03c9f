import { createHash } from 'node:crypto'
import type { DB } from '@pm/db/types/media'
import type { Storage } from '@pm/storage'
import { type Kysely, sql } from 'kysely'
import { inspectImage, renderImage } from './image'
import type { MediaSettings } from './settings'
import { originalKey, servedKey, thumbnailKey } from './store'

/**
 * Makes the demo data set's media files real: stores the given images (original, thumbnails in their format
 * and WebP) and points every seeded file still referring to storage outside the stack at one of them (a
 * product's files at different ones), with its thumbnails, processed as the worker would have processed them.
 * Files the seed marked failed keep that status. Idempotent: files already under media/ are left alone.
 * Returns how many files it updated.
 */
export async function storeDemoMedia(
  db: Kysely<DB>,
  storage: Storage,
  images: readonly { bytes: Buffer }[],
  settings: MediaSettings,
): Promise<number> {
  const pending = await db
    .selectFrom('media_files')
    .select('id')
    .where((eb) => eb.or([eb('object_key', 'is', null), eb('object_key', 'not like', 'media/%')]))
    .limit(1)
    .executeTakeFirst()
  if (!pending || images.length === 0) return 0
  const stored = []
  for (const image of images) {
    const sha256 = createHash('sha256').update(image.bytes).digest('hex')
    const info = await inspectImage(image.bytes, settings)
    const rendered = await renderImage(image.bytes, info, settings)
    await storage.put(originalKey(sha256), image.bytes, { contentType: info.mime })
    const served = rendered.served ? servedKey(sha256, info.format) : originalKey(sha256)
    if (rendered.served) await storage.put(served, rendered.served.data, { contentType: info.mime })
    for (const t of rendered.thumbnails) {
      await storage.put(thumbnailKey(sha256, t.size, t.format), t.data, { contentType: `image/${t.format}` })
    }
    stored.push({ sha256, info, size: image.bytes.length, served, thumbnails: rendered.thumbnails })
  }
  const files = sql.join(
    stored.map(
      (s, i) =>
        sql`(${i}::int, ${s.sha256}::text, ${s.info.mime}::text, ${s.size}::bigint, ${s.info.width}::int, ${s.info.height}::int, ${s.info.format}::text, ${s.served}::text)`,
    ),
  )
  const thumbnails = sql.join(
    stored.flatMap((s, i) =>
      s.thumbnails.map(
        (t) =>
          sql`(${i}::int, ${t.size}::text, ${t.format}::text, ${t.width}::int, ${t.height}::int, ${thumbnailKey(s.sha256, t.size, t.format)}::text, ${t.data.length}::bigint)`,
      ),
    ),
  )
  return db.transaction().execute(async (trx) => {
    // A product's files take consecutive images from a start of its own: never the same one twice.
    const { rows } = await sql<{ id: string; idx: number; failed: boolean }>`
      WITH picked AS (
        SELECT id, processing_status = 'failed' AS failed,
          ((abs(hashtext(coalesce(product_id::text, id::text))) +
            row_number() OVER (PARTITION BY product_id ORDER BY display_order, id)) % ${stored.length})::int AS idx
        FROM media_files
        WHERE object_key IS NULL OR object_key NOT LIKE 'media/%'
      )
      UPDATE media_files AS m SET
        file_hash = v.sha256, mime_type = v.mime, file_size_bytes = v.size, width = v.width, height = v.height,
        format = v.format, storage_type = ${storage.driver}, bucket_name = NULL, object_key = 'media/originals/' || v.sha256,
        storage_url = NULL, served_object_key = v.served, source_url = NULL,
        processing_status = CASE WHEN p.failed THEN 'failed' ELSE 'completed' END,
        processing_error = CASE WHEN p.failed THEN 'the supplier image could not be decoded' END,
        is_valid = NOT p.failed,
        processed_at = m.created_at
      FROM picked AS p JOIN (VALUES ${files}) AS v(idx, sha256, mime, size, width, height, format, served) ON v.idx = p.idx
      WHERE m.id = p.id
      RETURNING m.id, p.idx, p.failed
    `.execute(trx)
    const ids = rows.map((r) => r.id)
    await trx
      .deleteFrom('media_thumbnails')
      .where('media_file_id', '=', (eb) => eb.fn.any(eb.val(ids)))
      .execute()
    await sql`
      INSERT INTO media_thumbnails (media_file_id, size_name, format, width, height, object_key, file_size_bytes)
      SELECT f.id, t.size_name, t.format, t.width, t.height, t.object_key, t.bytes
      FROM unnest(${ids}::uuid[], ${rows.map((r) => r.idx)}::int[], ${rows.map((r) => r.failed)}::boolean[])
        AS f(id, idx, failed)
      JOIN (VALUES ${thumbnails}) AS t(idx, size_name, format, width, height, object_key, bytes) ON t.idx = f.idx
      WHERE NOT f.failed
    `.execute(trx)
    return rows.length
  })
}
