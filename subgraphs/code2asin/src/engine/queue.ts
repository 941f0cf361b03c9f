import { ErrorCode, userError } from '@pm/service-kit'
import { sql } from 'kysely'
import type { Code2AsinTrx } from '../db/writes'

/** The worker task that runs one matching job (payload { jobId }). */
export const MATCH_TASK = 'code2asin:match'
/** A job whose task keeps failing (the code2asin database unreachable, …) is tried this often. */
const MAX_ATTEMPTS = 10

/**
 * Queues the job's run in the same transaction as the job row (graphile-worker's add_job in db_code2asin): the
 * two commit together or not at all. One queue entry per job (job key), however often it is queued.
 */
export async function enqueueMatch(trx: Code2AsinTrx, jobId: string): Promise<void> {
  const { rows } = await sql<{ ready: boolean }>`
    SELECT to_regproc('graphile_worker.add_job') IS NOT NULL AS ready
  `.execute(trx)
  if (!rows[0]?.ready) {
    throw userError(
      ErrorCode.SERVICE_UNAVAILABLE,
      'No code2asin worker has run on this database yet: start one (pm worker --domain code2asin, or pnpm start), then try again',
    )
  }
  await sql`
    SELECT graphile_worker.add_job(
      identifier => ${MATCH_TASK},
      payload => ${JSON.stringify({ jobId })}::json,
      job_key => ${`code2asin:${jobId}`},
      max_attempts => ${MAX_ATTEMPTS}
    )
  `.execute(trx)
}
