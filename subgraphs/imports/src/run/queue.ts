import { addJobInTransaction } from '@pm/jobs'
import type { ImportsTrx } from '../db/writes'

/** The worker task that runs one import job (payload { jobId }). */
export const IMPORT_TASK = 'imports:run'
/** The minutely task that starts the due schedules' imports. */
export const SCHEDULES_TASK = 'imports:schedules'
/** A job whose task keeps failing (the imports database unreachable, …) is tried this often. */
const MAX_ATTEMPTS = 10

/**
 * Queues the job's run in the same transaction as the job row (graphile-worker's add_job in db_imports): the
 * two commit together or not at all. One queue entry per job (job key), whoever queues it again.
 */
export async function enqueueImport(trx: ImportsTrx, jobId: string): Promise<void> {
  await addJobInTransaction(trx, 'imports', {
    task: IMPORT_TASK,
    payload: { jobId },
    jobKey: `import:${jobId}`,
    maxAttempts: MAX_ATTEMPTS,
  })
}
