import { entityTag } from '@pm/cache'
import type { DB } from '@pm/db/types/media'
import type { JobHelpers } from '@pm/jobs'
import type { Logger } from '@pm/service-kit'
import { type Storage, StorageNotFoundError } from '@pm/storage'
import { type Kysely, sql } from 'kysely'
import { lockContent } from '../db/writes'
import { inspectImage, MediaInputError, renderImage } from './image'
import type { MediaSettings } from './settings'
import { deleteStoredContent, servedKey, thumbnailKey } from './store'

export interface ProcessDeps {
  db: Kysely<DB>
  storage: Storage
  settings: MediaSettings
  logger: Logger
  /** Drops the gateways' cached answers of these subgraphs once a file's state changed. */
  invalidate?: (domains: string[]) => Promise<void>
  /** Narrower: only the answers of these entities of a subgraph (and its answers tied to none). */
  invalidateEntities?: (domain: string, entities: string[]) => Promise<void>
}

export const NOW_UTC = sql<Date>`(now() AT TIME ZONE 'UTC')`

/**
 * The gateways' caches of media go stale: of one file and its product when given (processing changes nothing
 * else: its status, format, size and thumbnails), else all of media's. A failure to say so is logged, never the
 * job's failure.
 */
export async function invalidate(deps: ProcessDeps, file?: { id: string; productId: string | null }) {
  try {
    if (file && deps.invalidateEntities) {
      const entities = [entityTag('MediaFile', file.id)]
      if (file.productId) entities.push(entityTag('Product', file.productId))
      await deps.invalidateEntities('media', entities)
    } else await deps.invalidate?.(['media'])
  } catch (error) {
    deps.logger.warn('media: gateway cache invalidation failed', { error: (error as Error).message })
  }
}

async function readAll(storage: Storage, key: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of await storage.get(key)) {
    size += chunk.length
    if (size > maxBytes)
      throw new MediaInputError('TOO_LARGE', `the stored image is larger than ${maxBytes} bytes`)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array))
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
}

async function markFailed(deps: ProcessDeps, id: string, message: string) {
  const failed = await deps.db
    .updateTable('media_files')
    .set({
      processing_status: 'failed',
      processing_error: message.slice(0, 2000),
      is_valid: false,
      processed_at: NOW_UTC,
    })
    .where('id', '=', id)
    .returning('product_id')
    .executeTakeFirst()
  await invalidate(deps, { id, productId: failed?.product_id ?? null })
}

/**
 * Processes one media file: reads its original from storage, checks it, makes the served full-size copy
 * (when orientation or metadata call for one) and the thumbnails, then records them in one transaction.
 * Idempotent: objects are written under content-addressed keys and thumbnail rows are upserted per
 * (size, format), so a re-run (after a crash, or a reprocess) replaces rather than duplicates. A file already
 * completed, or deleted meanwhile, is left alone. Bytes that are not a usable image mark it failed with the
 * reason kept; other errors are thrown so the queue retries, and the last attempt marks it failed.
 */
export async function processMediaFile(deps: ProcessDeps, id: string, helpers: JobHelpers): Promise<void> {
  const claimed = await deps.db
    .updateTable('media_files')
    .set({ processing_status: 'processing' })
    .where('id', '=', id)
    .where('processing_status', 'in', ['pending', 'processing', 'failed'])
    .returning(['file_hash', 'object_key', 'product_id'])
    .executeTakeFirst()
  if (!claimed) return
  const file = { id, productId: claimed.product_id }
  const sha256 = claimed.file_hash
  if (!sha256 || !claimed.object_key) {
    await markFailed(deps, id, 'the file has no stored content to process')
    return
  }
  await invalidate(deps, file)
  try {
    let bytes: Buffer
    try {
      bytes = await readAll(deps.storage, claimed.object_key, deps.settings.maxBytes)
    } catch (error) {
      if (error instanceof StorageNotFoundError) {
        await markFailed(deps, id, 'the stored original is missing: attach the image again')
        return
      }
      throw error
    }
    const info = await inspectImage(bytes, deps.settings)
    const rendered = await renderImage(bytes, info, deps.settings)
    helpers.signal.throwIfAborted()
    const served = rendered.served ? servedKey(sha256, info.format) : null
    await Promise.all([
      ...(rendered.served && served
        ? [deps.storage.put(served, rendered.served.data, { contentType: info.mime })]
        : []),
      ...rendered.thumbnails.map((t) =>
        deps.storage.put(thumbnailKey(sha256, t.size, t.format), t.data, {
          contentType: `image/${t.format}`,
        }),
      ),
    ])
    const orphaned = await deps.db.transaction().execute(async (trx) => {
      // The file's row before its content, the order deleteMediaFile takes them in: the other order
      // deadlocks against a delete of this file while it is processed.
      const row = await trx
        .selectFrom('media_files')
        .select('id')
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst()
      await lockContent(trx, sha256)
      if (!row) {
        // Deleted while it was processed: what this run stored goes unless another file holds this content.
        const other = await trx
          .selectFrom('media_files')
          .select('id')
          .where('file_hash', '=', sha256)
          .limit(1)
          .executeTakeFirst()
        return other === undefined
      }
      await trx
        .insertInto('media_thumbnails')
        .values(
          rendered.thumbnails.map((t) => ({
            media_file_id: id,
            size_name: t.size,
            format: t.format,
            width: t.width,
            height: t.height,
            object_key: thumbnailKey(sha256, t.size, t.format),
            storage_url: null,
            file_size_bytes: t.data.length,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['media_file_id', 'size_name', 'format']).doUpdateSet((eb) => ({
            width: eb.ref('excluded.width'),
            height: eb.ref('excluded.height'),
            object_key: eb.ref('excluded.object_key'),
            file_size_bytes: eb.ref('excluded.file_size_bytes'),
            created_at: NOW_UTC,
          })),
        )
        .execute()
      // Thumbnails of another era (sizes or formats no longer made, made elsewhere) go.
      const kept = rendered.thumbnails.map((t) => `${t.size}/${t.format}`)
      await trx
        .deleteFrom('media_thumbnails')
        .where('media_file_id', '=', id)
        .where(sql<boolean>`(size_name || '/' || coalesce(format, '')) <> ALL(${kept}::text[])`)
        .execute()
      await trx
        .updateTable('media_files')
        .set({
          processing_status: 'completed',
          processing_error: null,
          processed_at: NOW_UTC,
          is_valid: true,
          format: info.format,
          mime_type: info.mime,
          width: info.width,
          height: info.height,
          served_object_key: served ?? claimed.object_key,
        })
        .where('id', '=', id)
        .execute()
      return false
    })
    if (orphaned) await deleteStoredContent(deps.storage, sha256)
    await invalidate(deps, file)
  } catch (error) {
    if (error instanceof MediaInputError) {
      await markFailed(deps, id, error.message)
      return
    }
    if (helpers.signal.aborted) throw error
    if (helpers.attempts >= helpers.maxAttempts) {
      await markFailed(
        deps,
        id,
        'processing failed repeatedly (storage or database unavailable); reprocess it later',
      )
    }
    throw error
  }
}
