import { type Logger, type Peers, queryPeer } from '@pm/service-kit'
import { sql } from 'kysely'
import type { ImportJobRow } from '../db/mappers'
import type { ImportsDb } from '../db/queries'

const RECORD_END = `mutation($input: ImportJobEndInput!) { recordImportJobEnd(input: $input) }`

/** What analytics counts of an ended job (also served to its recomputations by importJobEnds). */
export function jobEnd(job: ImportJobRow) {
  return {
    jobId: job.id,
    supplierCode: job.supplier_code,
    status: job.status,
    endedAt: job.completed_at ?? new Date(),
    rowsProcessed: job.processed_rows ?? 0,
    productsCreated: job.products_created ?? 0,
    productsUpdated: job.products_updated ?? 0,
    rowsFailed: job.failed_rows ?? 0,
    durationSeconds: job.duration_seconds,
  }
}

/**
 * Tells analytics the job ended, so its import metrics count it, then the gateways' caches; a failure is logged
 * (a recomputation catches up).
 */
export async function reportJobEnd(
  deps: {
    peers: Peers
    logger: Logger
    invalidate?: (domains: readonly 'analytics'[]) => Promise<void>
  },
  job: ImportJobRow,
) {
  try {
    // The variable carries the ImportJobStatus name (COMPLETED), not the stored value.
    const end = jobEnd(job)
    await queryPeer(deps.peers, 'analytics', RECORD_END, {
      input: { ...end, status: end.status.toUpperCase() },
    })
    // The gateways may hold analytics' answers from before this job counted.
    await deps.invalidate?.(['analytics'])
  } catch (error) {
    deps.logger.warn('import job end not recorded by analytics', { jobId: job.id, error: String(error) })
  }
}

/** The jobs that ended on a UTC day (completed_at is stored in UTC), oldest first. */
export function jobsEndedOn(db: ImportsDb, date: string) {
  return db
    .selectFrom('import_jobs')
    .selectAll()
    .where('status', 'in', ['completed', 'failed', 'cancelled'])
    .where('completed_at', '>=', sql<Date>`${date}::date`)
    .where('completed_at', '<', sql<Date>`${date}::date + 1`)
    .orderBy('completed_at')
    .orderBy('id')
    .execute()
}
