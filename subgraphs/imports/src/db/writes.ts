import type { DB } from '@pm/db/types/imports'
import { type Insertable, type Kysely, sql, type Transaction } from 'kysely'

/** The SQL of the mutations; every function runs inside the mutation's transaction. */
export type ImportsTrx = Transaction<DB>

/** TIMESTAMP columns hold UTC: the transaction's start time, whatever the session's zone. */
export const NOW_UTC = sql<Date>`(now() AT TIME ZONE 'UTC')`

/** Serialises writers of one scope (a supplier's config names, a supplier's default template) until commit. */
export async function lockScope(trx: ImportsTrx, scope: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext(${scope}))`.execute(trx)
}

// ---------------------------------------------------------------- configurations

export async function configNameTaken(
  trx: ImportsTrx,
  supplierCode: string,
  name: string,
  exceptId: string | null,
): Promise<boolean> {
  let query = trx
    .selectFrom('import_configs')
    .select('id')
    .where('supplier_code', '=', supplierCode)
    .where(sql<boolean>`lower(config_name) = lower(${name})`)
  if (exceptId) query = query.where('id', '<>', exceptId)
  return (await query.executeTakeFirst()) !== undefined
}

export function insertConfig(trx: ImportsTrx, values: Insertable<DB['import_configs']>) {
  return trx.insertInto('import_configs').values(values).returningAll().executeTakeFirstOrThrow()
}

/** The configuration as it is now, read before a transaction opens (no lock). */
export function configById(db: Kysely<DB>, id: string) {
  return db.selectFrom('import_configs').selectAll().where('id', '=', id).executeTakeFirst()
}

/** FOR SHARE: the configuration cannot be deactivated until the schedule or job that uses it is written. */
export function configForShare(trx: ImportsTrx, id: string) {
  return trx.selectFrom('import_configs').selectAll().where('id', '=', id).forShare().executeTakeFirst()
}

/** A deactivated configuration stops running: its active schedules are switched off too. */
export async function deactivateSchedulesOfConfig(trx: ImportsTrx, configId: string): Promise<number> {
  const rows = await trx
    .updateTable('import_schedules')
    .set({ is_active: false, next_run: null })
    .where('config_id', '=', configId)
    .where('is_active', 'is not', false)
    .returning('id')
    .execute()
  return rows.length
}

// ---------------------------------------------------------------- mapping templates

export function insertTemplate(trx: ImportsTrx, values: Insertable<DB['mapping_templates']>) {
  return trx.insertInto('mapping_templates').values(values).returningAll().executeTakeFirstOrThrow()
}

export function templateForUpdate(trx: ImportsTrx, id: string) {
  return trx.selectFrom('mapping_templates').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

export function deleteTemplate(trx: ImportsTrx, id: string) {
  return trx.deleteFrom('mapping_templates').where('id', '=', id).execute()
}

/** One default per supplier (NULL supplier: the shared templates): the others lose the flag. */
export async function unsetOtherDefaults(
  trx: ImportsTrx,
  supplierCode: string | null,
  exceptId: string,
): Promise<string[]> {
  const rows = await trx
    .updateTable('mapping_templates')
    .set({ is_default: false })
    .where(sql<boolean>`supplier_code IS NOT DISTINCT FROM ${supplierCode}`)
    .where('id', '<>', exceptId)
    .where('is_default', '=', true)
    .returning('id')
    .execute()
  return rows.map((r) => r.id)
}

// ---------------------------------------------------------------- schedules

export function insertSchedule(trx: ImportsTrx, values: Insertable<DB['import_schedules']>) {
  return trx.insertInto('import_schedules').values(values).returningAll().executeTakeFirstOrThrow()
}

// ---------------------------------------------------------------- jobs

export function insertJob(trx: ImportsTrx, values: Insertable<DB['import_jobs']>) {
  return trx.insertInto('import_jobs').values(values).returningAll().executeTakeFirstOrThrow()
}

/** FOR SHARE: appends run side by side, while a status change waits for them (and they for it). */
export function jobForShare(trx: ImportsTrx, id: string) {
  return trx.selectFrom('import_jobs').selectAll().where('id', '=', id).forShare().executeTakeFirst()
}

/** The size of the job's uploaded file, once it is recorded. */
export async function setJobBytesTotal(trx: ImportsTrx, id: string, bytes: number): Promise<void> {
  await trx.updateTable('import_jobs').set({ bytes_total: bytes }).where('id', '=', id).execute()
}

/** Whether the job's worker stopped answering: no heartbeat, or none within the last `leaseSeconds`. */
export async function workerStale(trx: ImportsTrx, id: string, leaseSeconds: number): Promise<boolean> {
  const { rows } = await sql<{ stale: boolean }>`
    SELECT heartbeat_at IS NULL OR heartbeat_at < ${NOW_UTC} - make_interval(secs => ${leaseSeconds}) AS stale
    FROM import_jobs WHERE id = ${id}::uuid
  `.execute(trx)
  return rows[0]?.stale === true
}

export function jobStatus(trx: ImportsTrx, id: string) {
  return trx.selectFrom('import_jobs').select(['id', 'status']).where('id', '=', id).executeTakeFirst()
}

export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled'

/**
 * The columns that move a job (locked FOR UPDATE and checked by the caller) to `to`: running stamps
 * started_at; a final status stamps completed_at and, for a job that ran, duration_seconds (whole seconds
 * since started_at).
 */
export function transitionValues(to: JobStatus, extra: { lastError?: string; totalRows?: number }) {
  const final = to === 'completed' || to === 'failed' || to === 'cancelled'
  return {
    status: to,
    ...(to === 'running' ? { started_at: NOW_UTC } : {}),
    ...(final
      ? {
          completed_at: NOW_UTC,
          duration_seconds: sql<number>`CASE WHEN started_at IS NULL THEN NULL
              ELSE GREATEST(0, ROUND(EXTRACT(EPOCH FROM (${NOW_UTC} - started_at))))::integer END`,
        }
      : {}),
    ...(extra.lastError !== undefined ? { last_error: extra.lastError } : {}),
    ...(extra.totalRows !== undefined ? { total_rows: extra.totalRows } : {}),
  }
}

export interface ProgressIncrements {
  processedRows: number
  successfulRows: number
  failedRows: number
  productsCreated: number
  productsUpdated: number
}

/**
 * Adds to a running job's counters in one statement (col = col + n under the row lock), so parallel
 * callers never lose an increment; undefined when no running job has this id.
 */
export function addProgress(trx: ImportsTrx, id: string, inc: ProgressIncrements) {
  const plus = (column: string, n: number) => sql<number>`COALESCE(${sql.ref(column)}, 0) + ${n}::integer`
  return trx
    .updateTable('import_jobs')
    .set({
      processed_rows: plus('processed_rows', inc.processedRows),
      successful_rows: plus('successful_rows', inc.successfulRows),
      failed_rows: plus('failed_rows', inc.failedRows),
      products_created: plus('products_created', inc.productsCreated),
      products_updated: plus('products_updated', inc.productsUpdated),
    })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .returningAll()
    .executeTakeFirst()
}

/** Rows as one JSON array; absent (not JSON null) values, so jsonb columns get SQL NULL rather than 'null'. */
function recordset(rows: readonly object[]): string {
  return JSON.stringify(
    rows.map((row) =>
      Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null && v !== undefined)),
    ),
  )
}

export interface LogRow {
  level: string
  message: string
  row_number: number | null
  details: unknown
}

/**
 * All the entries in one statement whatever their number (one jsonb parameter). created_at is the default
 * NOW(), so PostgreSQL routes them to the current month's partition.
 */
export async function insertLogs(trx: ImportsTrx, jobId: string, rows: LogRow[]): Promise<number> {
  const result = await sql`
    INSERT INTO import_logs (job_id, log_level, message, context, row_number)
    SELECT ${jobId}::uuid, r.level, r.message, r.details, r.row_number
    FROM jsonb_to_recordset(${recordset(rows)}::jsonb)
      AS r(level text, message text, details jsonb, row_number integer)`.execute(trx)
  return Number(result.numAffectedRows ?? 0)
}

export interface ErrorRow {
  row_number: number | null
  column_name: string | null
  error_code: string
  message: string
  raw_value: string | null
  raw_row: unknown
  severity: 'error' | 'warning'
}

/** All the errors in one statement (one jsonb parameter). */
export async function insertErrors(trx: ImportsTrx, jobId: string, rows: ErrorRow[]): Promise<number> {
  const result = await sql`
    INSERT INTO import_errors (job_id, row_number, column_name, error_code, message, raw_value, raw_row, severity)
    SELECT ${jobId}::uuid, r.row_number, r.column_name, r.error_code, r.message, r.raw_value, r.raw_row, r.severity
    FROM jsonb_to_recordset(${recordset(rows)}::jsonb)
      AS r(row_number integer, column_name text, error_code text, message text, raw_value text, raw_row jsonb,
           severity text)`.execute(trx)
  return Number(result.numAffectedRows ?? 0)
}

/** error_count += n and last_error, in one statement, on a pending or running job; undefined otherwise. */
export function bumpErrors(trx: ImportsTrx, id: string, count: number, lastError: string | null) {
  return trx
    .updateTable('import_jobs')
    .set({
      error_count: sql<number>`COALESCE(error_count, 0) + ${count}::integer`,
      ...(lastError !== null ? { last_error: lastError } : {}),
    })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'running'])
    .returningAll()
    .executeTakeFirst()
}
