import type { DB } from '@pm/db/types/imports'
import { type Insertable, type Kysely, sql } from 'kysely'
import { type ErrorRow, type ImportsTrx, insertErrors, insertLogs, type LogRow, NOW_UTC } from './writes'

/** The SQL of the import engine: the worker's claims, batch commits and final figures, and the schedules. */
export type ImportsDb = Kysely<DB> | ImportsTrx

export interface BatchCommit {
  /** The last source row the batch covers: every row up to it is now committed. */
  checkpoint: number
  processed: number
  created: number
  updated: number
  unchanged: number
  failed: number
  bytesRead: number
  errors: ErrorRow[]
  logs: LogRow[]
}

/**
 * Records a batch catalog committed, in one transaction of the caller: counters, checkpoint, heartbeat, its
 * errors and log lines. Undefined when the runner lost the job; else whether a cancel was asked for.
 */
export async function commitBatch(trx: ImportsTrx, jobId: string, runnerId: string, batch: BatchCommit) {
  const errorCount = batch.errors.filter((e) => e.severity === 'error').length
  const last = batch.errors.filter((e) => e.severity === 'error').at(-1)
  const plus = (column: string, n: number) => sql<number>`COALESCE(${sql.ref(column)}, 0) + ${n}::integer`
  const row = await trx
    .updateTable('import_jobs')
    .set({
      processed_rows: plus('processed_rows', batch.processed),
      successful_rows: plus('successful_rows', batch.created + batch.updated + batch.unchanged),
      failed_rows: plus('failed_rows', batch.failed),
      products_created: plus('products_created', batch.created),
      products_updated: plus('products_updated', batch.updated),
      products_unchanged: plus('products_unchanged', batch.unchanged),
      error_count: plus('error_count', errorCount),
      ...(last
        ? {
            last_error: `${last.row_number !== null ? `row ${last.row_number}: ` : ''}${last.error_code}: ${last.message}`,
          }
        : {}),
      checkpoint_row: batch.checkpoint,
      bytes_read: batch.bytesRead,
      heartbeat_at: NOW_UTC,
    })
    .where('id', '=', jobId)
    .where('runner_id', '=', runnerId)
    .where('status', '=', 'running')
    .returning(['cancel_requested_at'])
    .executeTakeFirst()
  if (!row) return undefined
  if (batch.errors.length > 0) await insertErrors(trx, jobId, batch.errors)
  if (batch.logs.length > 0) await insertLogs(trx, jobId, batch.logs)
  return { cancelRequested: row.cancel_requested_at !== null }
}

/** Ends the runner's job (completed, failed or cancelled), as setImportJobStatus's final moves do. */
export function finishJob(
  trx: ImportsTrx,
  jobId: string,
  runnerId: string,
  to: 'completed' | 'failed' | 'cancelled',
  extra: { lastError?: string; totalRows?: number },
) {
  return trx
    .updateTable('import_jobs')
    .set({
      status: to,
      completed_at: NOW_UTC,
      duration_seconds: sql<number>`CASE WHEN started_at IS NULL THEN NULL
        ELSE GREATEST(0, ROUND(EXTRACT(EPOCH FROM (${NOW_UTC} - started_at))))::integer END`,
      runner_id: null,
      ...(to === 'completed' ? { bytes_read: sql<number>`COALESCE(bytes_total, bytes_read)` } : {}),
      ...(extra.lastError !== undefined ? { last_error: extra.lastError } : {}),
      ...(extra.totalRows !== undefined ? { total_rows: extra.totalRows } : {}),
    })
    .where('id', '=', jobId)
    .where('runner_id', '=', runnerId)
    .where('status', '=', 'running')
    .returningAll()
    .executeTakeFirst()
}

export function jobFile(db: ImportsDb, jobId: string) {
  return db
    .selectFrom('import_files')
    .selectAll()
    .where('job_id', '=', jobId)
    .orderBy('uploaded_at')
    .orderBy('id')
    .executeTakeFirst()
}

export function insertFile(trx: ImportsDb, values: Insertable<DB['import_files']>) {
  return trx.insertInto('import_files').values(values).returningAll().executeTakeFirstOrThrow()
}

/**
 * The earlier job of this configuration that imported a file with this SHA-256 (completed, or still going),
 * other than `exceptJobId`; the newest first.
 */
export function jobWithFile(db: ImportsDb, configId: string, sha256: string, exceptJobId: string | null) {
  let query = db
    .selectFrom('import_files as f')
    .innerJoin('import_jobs as j', 'j.id', 'f.job_id')
    .select(['j.id', 'j.status'])
    .where('j.config_id', '=', configId)
    .where('f.file_hash', '=', sha256)
    .where('j.status', 'in', ['pending', 'running', 'completed'])
  if (exceptJobId) query = query.where('j.id', '<>', exceptJobId)
  return query.orderBy('j.created_at', 'desc').limit(1).executeTakeFirst()
}

export function setBytesTotal(db: ImportsDb, jobId: string, bytes: number) {
  return db.updateTable('import_jobs').set({ bytes_total: bytes }).where('id', '=', jobId).execute()
}

export async function appendLogs(db: Kysely<DB>, jobId: string, logs: LogRow[]) {
  if (logs.length > 0) await db.transaction().execute((trx) => insertLogs(trx, jobId, logs))
}

/** Final figures of a job (one row per job: a resumed job's end replaces them). */
export function upsertStatistics(trx: ImportsDb, values: Insertable<DB['import_statistics']>) {
  return trx
    .insertInto('import_statistics')
    .values(values)
    .onConflict((oc) =>
      oc.column('job_id').doUpdateSet((eb) => ({
        skipped_rows: eb.ref('excluded.skipped_rows'),
        duplicate_rows: eb.ref('excluded.duplicate_rows'),
        products_unchanged: eb.ref('excluded.products_unchanged'),
        warning_count: eb.ref('excluded.warning_count'),
        errors_by_code: eb.ref('excluded.errors_by_code'),
        file_count: eb.ref('excluded.file_count'),
        bytes_processed: eb.ref('excluded.bytes_processed'),
        download_duration_ms: eb.ref('excluded.download_duration_ms'),
        parse_duration_ms: eb.ref('excluded.parse_duration_ms'),
        persist_duration_ms: eb.ref('excluded.persist_duration_ms'),
        total_duration_ms: eb.ref('excluded.total_duration_ms'),
        rows_per_second: eb.ref('excluded.rows_per_second'),
      })),
    )
    .execute()
}

/** Error counts per code over the whole job (a resumed job's earlier errors included). */
export async function errorsByCode(db: ImportsDb, jobId: string) {
  const rows = await db
    .selectFrom('import_errors')
    .select(['error_code', 'severity', sql<string>`count(*)`.as('n')])
    .where('job_id', '=', jobId)
    .groupBy(['error_code', 'severity'])
    .execute()
  const byCode: Record<string, number> = {}
  let warnings = 0
  for (const r of rows) {
    if (r.severity === 'warning') warnings += Number(r.n)
    else byCode[r.error_code] = (byCode[r.error_code] ?? 0) + Number(r.n)
  }
  return { byCode, warnings }
}

// ---------------------------------------------------------------- schedules

/**
 * Claims the due runs of active schedules with active configurations (FOR UPDATE SKIP LOCKED: two workers
 * never take the same one) and moves their next_run on; the caller creates their jobs in the same
 * transaction. Returns each schedule with the time it was due.
 */
export async function claimDueSchedules(trx: ImportsTrx, limit: number) {
  const { rows } = await sql<{
    id: string
    config_id: string
    cron_expression: string
    next_run: Date
  }>`
    SELECT s.id, s.config_id, s.cron_expression, s.next_run
    FROM import_schedules s
    JOIN import_configs c ON c.id = s.config_id
    WHERE s.is_active IS TRUE AND c.is_active IS NOT FALSE AND s.next_run <= ${NOW_UTC}
    ORDER BY s.next_run
    LIMIT ${limit}
    FOR UPDATE OF s SKIP LOCKED
  `.execute(trx)
  return rows
}

export function markScheduleRun(trx: ImportsTrx, id: string, lastRun: Date, nextRun: Date | null) {
  return trx
    .updateTable('import_schedules')
    .set({ last_run: lastRun, next_run: nextRun })
    .where('id', '=', id)
    .execute()
}
