import { addJobInTransaction } from '@pm/jobs'
import type { ExportsTrx } from '../db/writes'

/** The worker task that runs one export job (payload { jobId }). */
export const EXPORT_TASK = 'exports:run'
/** A job whose task keeps failing (the exports database or the gateway unreachable, …) is tried this often. */
const MAX_ATTEMPTS = 10

/**
 * Queues the job's run in the same transaction as the job row (graphile-worker's add_jobs in db_exports): the
 * two commit together or not at all; one queue entry per job (job key). A resume queues an entry of its own
 * (`fresh`): an earlier entry of the job may be running at that moment, finding the job not runnable, and must
 * not take the resume's run with it when it ends; the runs serialise on the job row (claimJobLease), so an extra entry
 * finds the job held or finished and does nothing.
 */
export async function enqueueExport(
  trx: ExportsTrx,
  jobId: string,
  o: { fresh?: boolean } = {},
): Promise<void> {
  await addJobInTransaction(
    trx,
    'exports',
    {
      task: EXPORT_TASK,
      payload: { jobId },
      ...(o.fresh ? {} : { jobKey: `export:${jobId}` }),
      maxAttempts: MAX_ATTEMPTS,
    },
    { workerName: 'export worker' },
  )
}
