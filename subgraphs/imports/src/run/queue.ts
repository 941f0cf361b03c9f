import { ErrorCode, userError } from '@pm/service-kit'
import { sql } from 'kysely'
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
  const { rows } = await sql<{ ready: boolean }>`
    SELECT to_regproc('graphile_worker.add_job') IS NOT NULL AS ready
  `.execute(trx)
  if (!rows[0]?.ready) {
    throw userError(
      ErrorCode.SERVICE_UNAVAILABLE,
      'No import worker has run on this database yet: start one (pm worker --domain imports, or pnpm start), then try again',
    )
  }
  await sql`
    SELECT graphile_worker.add_job(
      identifier => ${IMPORT_TASK},
      payload => ${JSON.stringify({ jobId })}::json,
      job_key => ${`import:${jobId}`},
      max_attempts => ${MAX_ATTEMPTS}
    )
  `.execute(trx)
}
