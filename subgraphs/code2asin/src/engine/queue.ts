import { addJobInTransaction } from '@pm/jobs'
import type { Code2AsinTrx } from '../db/writes'

/** The worker task that runs one matching job (payload { jobId }). */
export const MATCH_TASK = 'code2asin:match'
/** A job whose task keeps failing (the code2asin database unreachable, …) is tried this often. */
const MAX_ATTEMPTS = 10

/**
 * Queues the job's run in the same transaction as the job row (graphile-worker's add_jobs in db_code2asin): the
 * two commit together or not at all. One queue entry per job (job key), however often it is queued.
 */
export async function enqueueMatch(trx: Code2AsinTrx, jobId: string): Promise<void> {
  await addJobInTransaction(trx, 'code2asin', {
    task: MATCH_TASK,
    payload: { jobId },
    jobKey: `code2asin:${jobId}`,
    maxAttempts: MAX_ATTEMPTS,
  })
}
