import type { DB } from '@pm/db/types/media'
import { type Storage, StorageNotFoundError } from '@pm/storage'
import type { Kysely } from 'kysely'
import { contentInUse, lockContent, type MediaTrx } from '../db/writes'
import type { ReceivedImage } from './source'
import { deleteStoredContent, originalKey } from './store'

/**
 * Under lockContent(sha256), before the file that will hold these bytes refers to them: stores the original
 * unless another file already refers to the same bytes and they are in storage (then they are shared).
 */
export async function storeOriginal(trx: MediaTrx, storage: Storage, image: ReceivedImage) {
  const reusedStoredFile =
    (await contentInUse(trx, image.sha256)) && (await storage.head(originalKey(image.sha256))) !== null
  if (reusedStoredFile) return { reusedStoredFile, stored: false }
  const key = originalKey(image.sha256)
  const options = { contentType: image.info.mime }
  if (image.storedAt) {
    // Already in storage (an upload): copied there (a link or a server-side copy), not written again.
    try {
      await storage.copy(image.storedAt, key, options)
      return { reusedStoredFile, stored: true }
    } catch (error) {
      // Discarded meanwhile: the bytes read are written instead.
      if (!(error instanceof StorageNotFoundError)) throw error
    }
  }
  await storage.put(key, image.bytes, options)
  return { reusedStoredFile, stored: true }
}

/** The media_files columns that describe stored bytes, as received and measured. */
export function contentColumns(storage: Storage, bucket: string | null, image: ReceivedImage) {
  return {
    file_hash: image.sha256,
    mime_type: image.info.mime,
    file_size_bytes: image.bytes.length,
    storage_type: storage.driver,
    bucket_name: storage.driver === 's3' ? bucket : null,
    object_key: originalKey(image.sha256),
    storage_url: null,
    width: image.info.width,
    height: image.info.height,
    format: image.info.format,
  }
}

/** The S3 bucket named by the environment (recorded with the files stored there). */
export const storageBucket = (env: NodeJS.ProcessEnv) => env.STORAGE_S3_BUCKET?.trim() || null

/** Content stored by a write whose transaction failed goes, unless a file refers to it meanwhile. */
export async function dropUnreferencedContent(db: Kysely<DB>, storage: Storage, sha256: string) {
  await db.transaction().execute(async (trx) => {
    await lockContent(trx, sha256)
    if (!(await contentInUse(trx, sha256))) await deleteStoredContent(storage, sha256)
  })
}
