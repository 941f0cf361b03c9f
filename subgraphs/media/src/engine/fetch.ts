import { ConnectorError } from '@pm/connectors'
import type { JobHelpers } from '@pm/jobs'
import { deleteFile, lockContent, lockProductMedia, makeOnlyPrimary } from '../db/writes'
import { contentColumns, dropUnreferencedContent, storeOriginal } from './content'
import { MediaInputError } from './image'
import { invalidate, NOW_UTC, type ProcessDeps } from './process'
import { enqueueProcessing } from './queue'
import { downloadImage, measureImage, type ReceivedImage } from './source'
import type { MediaEnv } from './store'

/** What the download task works with: the processing task's, plus the fetch limits. */
export interface FetchDeps extends ProcessDeps {
  media: MediaEnv
  /** The S3 bucket recorded with stored files (null for the local driver). */
  bucket: string | null
}

/** HTTP answers worth asking again later (the server is busy or failing), as opposed to a refusal. */
const RETRIED_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504])

/**
 * Why a URL will never give a usable image (kept on the file, which fails at once), or undefined for what
 * may pass when tried again: a timeout, an unreachable host, a 5xx or 429 answer.
 */
function refusalOf(error: unknown): string | undefined {
  if (error instanceof MediaInputError) return error.message
  if (error instanceof ConnectorError) {
    if (error.code === 'TIMEOUT' || error.code === 'UNREACHABLE' || error.code === 'PROTOCOL')
      return undefined
    if (error.code === 'HTTP_STATUS' && error.status !== undefined && RETRIED_STATUSES.has(error.status))
      return undefined
    return error.message
  }
  return undefined
}

/**
 * The file's download failed for good: it is marked failed with the reason, and when it was its product's
 * primary image the role passes to the next file (by display order) that has not failed.
 */
async function failUrlFile(deps: FetchDeps, id: string, message: string) {
  await deps.db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('media_files')
      .select(['product_id', 'is_primary'])
      .where('id', '=', id)
      .executeTakeFirst()
    if (!row) return
    if (row.product_id) await lockProductMedia(trx, row.product_id)
    await trx
      .updateTable('media_files')
      .set({
        processing_status: 'failed',
        processing_error: message.slice(0, 2000),
        is_valid: false,
        is_primary: false,
        processed_at: NOW_UTC,
      })
      .where('id', '=', id)
      .execute()
    if (row.product_id && row.is_primary) {
      const next = await trx
        .selectFrom('media_files')
        .select('id')
        .where('product_id', '=', row.product_id)
        .where('id', '<>', id)
        .where('processing_status', '<>', 'failed')
        .orderBy('display_order')
        .orderBy('id')
        .limit(1)
        .executeTakeFirst()
      if (next) await makeOnlyPrimary(trx, row.product_id, next.id)
    }
  })
  await invalidate(deps)
}

/**
 * The downloaded image joins its file, as attachProductImage would attach it: bytes stored under their hash
 * (shared when already stored), then processing queued. When the product already has these bytes, the URL is
 * remembered for that file and the pending one goes (its primary role too). A product with no primary image
 * gets this one.
 */
async function recordFetched(deps: FetchDeps, id: string, productId: string, image: ReceivedImage) {
  let stored = false
  try {
    const outcome = await deps.db.transaction().execute(async (trx) => {
      await lockProductMedia(trx, productId)
      await lockContent(trx, image.sha256)
      const row = await trx
        .selectFrom('media_files')
        .select(['id', 'file_hash', 'is_primary'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst()
      if (!row || row.file_hash !== null) return 'gone'
      const same = await trx
        .selectFrom('media_files')
        .select(['id', 'is_primary'])
        .where('product_id', '=', productId)
        .where('file_hash', '=', image.sha256)
        .executeTakeFirst()
      if (same) {
        await trx
          .updateTable('media_source_urls')
          .set({ media_file_id: same.id })
          .where('media_file_id', '=', id)
          .execute()
        await deleteFile(trx, id)
        if (row.is_primary && !same.is_primary) await makeOnlyPrimary(trx, productId, same.id)
        return 'deduplicated'
      }
      const content = await storeOriginal(trx, deps.storage, image)
      stored = content.stored
      const primary = await trx
        .selectFrom('media_files')
        .select('id')
        .where('product_id', '=', productId)
        .where('is_primary', '=', true)
        .limit(1)
        .executeTakeFirst()
      await trx
        .updateTable('media_files')
        .set({
          ...contentColumns(deps.storage, deps.bucket, image),
          file_name: image.fileName,
          processing_status: 'pending',
          processing_error: null,
          is_valid: true,
        })
        .where('id', '=', id)
        .execute()
      if (!primary) await makeOnlyPrimary(trx, productId, id)
      await enqueueProcessing(trx, [id])
      return 'stored'
    })
    deps.logger.info('media: image URL fetched', { mediaFileId: id, outcome })
  } catch (error) {
    if (stored) await dropUnreferencedContent(deps.db, deps.storage, image.sha256).catch(() => {})
    throw error
  }
  await invalidate(deps)
}

/**
 * Downloads the image of a media file recorded from a URL (importProductImageUrls), with attachProductImage's
 * safeguards (safeFetch: time, size, private addresses, redirects; the bytes measured and checked), then hands
 * it to processing. A URL that can never give an image fails the file at once with the reason kept; one that
 * may pass later (timeout, unreachable, 5xx) is retried by the queue, and its last attempt fails the file.
 * A file already fetched, or deleted meanwhile, is left alone.
 */
export async function fetchMediaFile(deps: FetchDeps, id: string, helpers: JobHelpers): Promise<void> {
  const claimed = await deps.db
    .updateTable('media_files')
    .set({ processing_status: 'processing' })
    .where('id', '=', id)
    .where('file_hash', 'is', null)
    .where('source_url', 'is not', null)
    .where('product_id', 'is not', null)
    .where('processing_status', 'in', ['pending', 'processing', 'failed'])
    .returning(['product_id', 'source_url'])
    .executeTakeFirst()
  if (!claimed) return
  await invalidate(deps)
  let image: ReceivedImage
  try {
    const { bytes, fileName } = await downloadImage(deps.media, claimed.source_url!)
    image = await measureImage(deps.media, bytes, fileName)
  } catch (error) {
    const refusal = refusalOf(error)
    if (refusal !== undefined) {
      await failUrlFile(deps, id, refusal)
      return
    }
    if (helpers.signal.aborted) throw error
    if (helpers.attempts >= helpers.maxAttempts) {
      const reason = error instanceof ConnectorError ? error.message : 'the download failed'
      await failUrlFile(deps, id, `${reason} (tried ${helpers.attempts} times)`)
      return
    }
    throw error
  }
  await recordFetched(deps, id, claimed.product_id!, image)
}
