import { addJobInTransaction } from '@pm/jobs'
import type { Kysely } from 'kysely'

/** The worker task that processes one media file (payload { mediaFileId }). */
export const PROCESS_TASK = 'media:process'
/** Storage or the database unreachable: the task is tried this often before the file is marked failed. */
export const MAX_ATTEMPTS = 5

/**
 * Queues processing of these files in the caller's transaction (db_media), so the rows and their jobs commit
 * together. One queue entry per file (job key): queueing again while one waits replaces it.
 */
// biome-ignore lint/suspicious/noExplicitAny: a db_media transaction
export async function enqueueProcessing(trx: Kysely<any>, ids: readonly string[]) {
  for (const id of ids) {
    await addJobInTransaction(trx, 'media', {
      task: PROCESS_TASK,
      payload: { mediaFileId: id },
      jobKey: `media:process:${id}`,
      maxAttempts: MAX_ATTEMPTS,
    })
  }
}
