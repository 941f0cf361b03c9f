import { addJobsInTransaction } from '@pm/jobs'
import type { Kysely } from 'kysely'

/** The worker task that processes one media file (payload { mediaFileId }). */
export const PROCESS_TASK = 'media:process'
/** Storage or the database unreachable: the task is tried this often before the file is marked failed. */
export const MAX_ATTEMPTS = 5
/** The worker task that downloads the image of a media file recorded from a URL (payload { mediaFileId }). */
export const FETCH_TASK = 'media:fetch'
/** An image URL that times out, is unreachable or answers 5xx/429 is tried this often before the file fails. */
export const FETCH_ATTEMPTS = 3

// biome-ignore lint/suspicious/noExplicitAny: a db_media transaction
type MediaQueueDb = Kysely<any>

/**
 * Queues processing of these files in the caller's transaction (db_media), so the rows and their jobs commit
 * together. One queue entry per file (job key): queueing again while one waits replaces it.
 */
export async function enqueueProcessing(trx: MediaQueueDb, ids: readonly string[]) {
  await addJobsInTransaction(
    trx,
    'media',
    ids.map((id) => ({
      task: PROCESS_TASK,
      payload: { mediaFileId: id },
      jobKey: `media:process:${id}`,
      maxAttempts: MAX_ATTEMPTS,
    })),
  )
}

/** Queues the download of these URL files in the caller's transaction; one statement whatever their number. */
export async function enqueueFetch(trx: MediaQueueDb, ids: readonly string[]) {
  await addJobsInTransaction(
    trx,
    'media',
    ids.map((id) => ({
      task: FETCH_TASK,
      payload: { mediaFileId: id },
      jobKey: `media:fetch:${id}`,
      maxAttempts: FETCH_ATTEMPTS,
    })),
  )
}
