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

/** One queue entry per file and task (job key): queueing again while one waits replaces it. One statement. */
function enqueue(trx: MediaQueueDb, task: string, maxAttempts: number, ids: readonly string[]) {
  return addJobsInTransaction(
    trx,
    'media',
    ids.map((id) => ({ task, payload: { mediaFileId: id }, jobKey: `${task}:${id}`, maxAttempts })),
  )
}

/** Queues processing of these files in the caller's transaction (db_media): the rows and jobs commit together. */
export const enqueueProcessing = (trx: MediaQueueDb, ids: readonly string[]) =>
  enqueue(trx, PROCESS_TASK, MAX_ATTEMPTS, ids)

/** Queues the download of these URL files in the caller's transaction. */
export const enqueueFetch = (trx: MediaQueueDb, ids: readonly string[]) =>
  enqueue(trx, FETCH_TASK, FETCH_ATTEMPTS, ids)
