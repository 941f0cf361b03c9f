import type { DB } from '@pm/db/types/analytics'
import { type Logger, type Peers, queryPeer } from '@pm/service-kit'
import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import { type ImportJobFact, recomputeDays, replaceDayFacts, utcDay } from '../db/facts'
import { supplierIdsByCode } from './peers'

const JOB_ENDS = `query($date: LocalDate!) { importJobEnds(date: $date) {
  jobId supplierCode status endedAt rowsProcessed productsCreated productsUpdated rowsFailed durationSeconds
} }`

interface JobEnd {
  jobId: string
  supplierCode: string
  /** The ImportJobStatus name (COMPLETED). */
  status: Uppercase<ImportJobFact['status']>
  endedAt: string
  rowsProcessed: number
  productsCreated: number
  productsUpdated: number
  rowsFailed: number
  durationSeconds: number | null
}

export interface RunDeps {
  db: Kysely<DB>
  peers: Peers
  logger: Logger
  /** Tells the gateways' caches that analytics changed. */
  invalidate: (domains?: readonly string[]) => Promise<void>
}

const DAY_MS = 86_400_000
export const nextDay = (date: string) => utcDay(new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS))
export const daysBetween = (from: string, to: string) =>
  Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1

/** A run this worker may work on: claimed (pending → running) or resumed (running); null otherwise. */
export async function claimRun(db: Kysely<DB>, runId: string) {
  return db
    .updateTable('metric_runs')
    .set({ status: 'running', started_at: sql<Date>`coalesce(started_at, now())` })
    .where('id', '=', runId)
    .where('status', 'in', ['pending', 'running'])
    .returningAll()
    .executeTakeFirst()
}

export async function endRun(
  db: Kysely<DB>,
  runId: string,
  status: 'completed' | 'failed' | 'cancelled',
  errorMessage: string | null = null,
) {
  await db
    .updateTable('metric_runs')
    .set({ status, error_message: errorMessage, completed_at: sql<Date>`now()` })
    .where('id', '=', runId)
    .where('status', '=', 'running')
    .execute()
}

/**
 * Recomputes the import metrics of the run's days, one day per transaction: that day's job facts are
 * replaced by what imports answers for it, then its figures recomputed, with the run's checkpoint and
 * progress in the same transaction. A resumed run starts after its checkpoint; a cancel stops it between days.
 */
export async function runImportMetrics(deps: RunDeps, runId: string, signal?: AbortSignal): Promise<void> {
  const run = await claimRun(deps.db, runId)
  if (!run) return
  let date = run.checkpoint_date ? nextDay(String(run.checkpoint_date)) : String(run.date_from)
  const last = String(run.date_to)
  try {
    while (date <= last) {
      const state = await deps.db
        .selectFrom('metric_runs')
        .select(['status', 'cancel_requested_at'])
        .where('id', '=', runId)
        .executeTakeFirstOrThrow()
      if (state.status !== 'running') return
      if (state.cancel_requested_at) {
        await endRun(deps.db, runId, 'cancelled')
        return
      }
      signal?.throwIfAborted()
      const ends = (
        await queryPeer<{ importJobEnds: JobEnd[] }>(deps.peers, 'imports', JOB_ENDS, { date }, 30_000)
      ).importJobEnds
      const ids = await supplierIdsByCode(
        deps.peers,
        ends.map((e) => e.supplierCode),
      )
      const facts: ImportJobFact[] = ends.map((e) => ({
        job_id: e.jobId,
        supplier_code: e.supplierCode,
        supplier_id: ids.get(e.supplierCode) ?? null,
        status: e.status.toLowerCase() as ImportJobFact['status'],
        date,
        rows_processed: e.rowsProcessed,
        products_created: e.productsCreated,
        products_updated: e.productsUpdated,
        rows_failed: e.rowsFailed,
        duration_seconds: e.durationSeconds,
        ended_at: new Date(e.endedAt),
      }))
      const day = date
      await deps.db.transaction().execute(async (trx) => {
        await replaceDayFacts(trx, day, facts)
        await recomputeDays(trx, [day])
        await trx
          .updateTable('metric_runs')
          .set((eb) => ({ checkpoint_date: day, processed: eb('processed', '+', 1) }))
          .where('id', '=', runId)
          .execute()
      })
      date = nextDay(date)
    }
    await endRun(deps.db, runId, 'completed')
  } catch (error) {
    if (signal?.aborted) throw error
    const message = error instanceof Error ? error.message : String(error)
    deps.logger.warn('import metrics recomputation failed', { runId, error: message })
    await endRun(deps.db, runId, 'failed', message)
  } finally {
    await deps.invalidate().catch(() => {})
  }
}
