import { ErrorCode, userError } from '@pm/service-kit'
import { type Kysely, sql, type Transaction } from 'kysely'

/** The worker task that processes one media file (payload { mediaFileId }). */
export const PROCESS_TASK = 'media:process'
/** Storage or the database unreachable: the task is tried this often before the file is marked failed. */
export const MAX_ATTEMPTS = 5

/**
 * Queues processing of these files in the caller's transaction (graphile-worker's add_job in db_media), so the
 * rows and their jobs commit together. One queue entry per file (job key): queueing again while one waits
 * replaces it.
 */
// biome-ignore lint/suspicious/noExplicitAny: any domain transaction holding db_media
export async function enqueueProcessing(trx: Transaction<any> | Kysely<any>, ids: readonly string[]) {
  if (ids.length === 0) return
  const { rows } = await sql<{ ready: boolean }>`
    SELECT to_regproc('graphile_worker.add_job') IS NOT NULL AS ready
  `.execute(trx)
  if (!rows[0]?.ready) {
    throw userError(
      ErrorCode.SERVICE_UNAVAILABLE,
      'No media worker has run on this database yet: start one (pm worker --domain media, or pnpm start), then try again',
    )
  }
  await sql`
    SELECT graphile_worker.add_job(
      identifier => ${PROCESS_TASK},
      payload => json_build_object('mediaFileId', id),
      job_key => 'media:process:' || id,
      max_attempts => ${MAX_ATTEMPTS}
    )
    FROM unnest(${[...ids]}::uuid[]) AS t(id)
  `.execute(trx)
}
