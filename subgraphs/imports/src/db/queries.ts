import type { DB } from '@pm/db/types/imports'
import { uuidKeys } from '@pm/service-kit'
import { type Kysely, sql } from 'kysely'

export type ImportsDb = Kysely<DB>

/** The values of import_logs_log_level_check (migration 002). */
export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const

export function jobsByIds(db: ImportsDb, ids: readonly string[]) {
  return db
    .selectFrom('import_jobs')
    .selectAll('import_jobs')
    .where('import_jobs.id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(ids))))
    .execute()
}

export interface ImportJobFilter {
  status?: string | null
  supplierCode?: string | null
  importType?: string | null
}

/** Served by idx_import_jobs_status_created, idx_import_jobs_supplier_created_id or idx_import_jobs_created_id. */
export function jobsQuery(db: ImportsDb, filter: ImportJobFilter = {}) {
  let query = db.selectFrom('import_jobs').selectAll('import_jobs')
  if (filter.status != null) query = query.where('import_jobs.status', '=', filter.status)
  if (filter.supplierCode != null) query = query.where('import_jobs.supplier_code', '=', filter.supplierCode)
  if (filter.importType != null) query = query.where('import_jobs.import_type', '=', filter.importType)
  return query
}

export function jobsBySupplierCodesQuery(db: ImportsDb, codes: readonly string[], status: string | null) {
  let query = db
    .selectFrom('import_jobs')
    .selectAll('import_jobs')
    .where('import_jobs.supplier_code', '=', (eb) => eb.fn.any(eb.val([...codes])))
  if (status != null) query = query.where('import_jobs.status', '=', status)
  return query
}

export function jobsByConfigIdsQuery(db: ImportsDb, configIds: readonly string[], status: string | null) {
  let query = db
    .selectFrom('import_jobs')
    .selectAll('import_jobs')
    .where('import_jobs.config_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(configIds))))
  if (status != null) query = query.where('import_jobs.status', '=', status)
  return query
}

export function configsByIds(db: ImportsDb, ids: readonly string[]) {
  return db
    .selectFrom('import_configs')
    .selectAll('import_configs')
    .where('import_configs.id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(ids))))
    .execute()
}

export function configsBySupplierCodes(db: ImportsDb, codes: readonly string[]) {
  return db
    .selectFrom('import_configs')
    .selectAll('import_configs')
    .where('import_configs.supplier_code', '=', (eb) => eb.fn.any(eb.val([...codes])))
    .orderBy('import_configs.config_name')
    .orderBy('import_configs.id')
    .execute()
}

export interface ImportConfigFilter {
  supplierCode?: string | null
  isActive?: boolean | null
}

export function configsQuery(db: ImportsDb, filter: ImportConfigFilter = {}) {
  let query = db.selectFrom('import_configs').selectAll('import_configs')
  if (filter.supplierCode != null)
    query = query.where('import_configs.supplier_code', '=', filter.supplierCode)
  if (filter.isActive != null) query = query.where('import_configs.is_active', '=', filter.isActive)
  return query
}

export interface ImportScheduleFilter {
  configId?: string | null
  isActive?: boolean | null
}

export function schedulesQuery(db: ImportsDb, filter: ImportScheduleFilter = {}) {
  let query = db.selectFrom('import_schedules').selectAll('import_schedules')
  if (filter.configId != null) query = query.where('import_schedules.config_id', '=', filter.configId)
  if (filter.isActive != null) query = query.where('import_schedules.is_active', '=', filter.isActive)
  return query
}

/** Next run first, never-scheduled (NULL next_run) last, as Query.importSchedules orders them. */
export function schedulesByConfigIds(db: ImportsDb, configIds: readonly string[]) {
  return db
    .selectFrom('import_schedules')
    .selectAll('import_schedules')
    .where('import_schedules.config_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(configIds))))
    .orderBy(sql`import_schedules.next_run ASC NULLS LAST`)
    .orderBy('import_schedules.id')
    .execute()
}

export function mappingTemplatesQuery(db: ImportsDb, supplierCode: string | null | undefined) {
  let query = db.selectFrom('mapping_templates').selectAll('mapping_templates')
  if (supplierCode != null) query = query.where('mapping_templates.supplier_code', '=', supplierCode)
  return query
}

/** Logs of the given jobs, on idx_import_logs_job_created_level in every monthly partition. */
export function logsQuery(db: ImportsDb, jobIds: readonly string[], level: string | null) {
  let query = db
    .selectFrom('import_logs')
    .selectAll('import_logs')
    .where('import_logs.job_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(jobIds))))
  if (level != null) query = query.where('import_logs.log_level', '=', level)
  return query
}

export function errorsQuery(db: ImportsDb, jobIds: readonly string[]) {
  return db
    .selectFrom('import_errors')
    .selectAll('import_errors')
    .where('import_errors.job_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(jobIds))))
}

export function filesByJobIds(db: ImportsDb, jobIds: readonly string[]) {
  return db
    .selectFrom('import_files')
    .selectAll('import_files')
    .where('import_files.job_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(jobIds))))
    .orderBy('import_files.uploaded_at')
    .orderBy('import_files.id')
    .execute()
}

export function statisticsByJobIds(db: ImportsDb, jobIds: readonly string[]) {
  return db
    .selectFrom('import_statistics')
    .selectAll('import_statistics')
    .where('import_statistics.job_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(jobIds))))
    .execute()
}

/** Creates the monthly import_logs partitions up to monthsAhead months from now; returns how many it created. */
export async function ensureLogPartitions(db: ImportsDb, monthsAhead: number): Promise<number> {
  const { rows } = await sql<{
    created: number
  }>`SELECT ensure_import_logs_partitions(${monthsAhead}::integer) AS created`.execute(db)
  return rows[0]?.created ?? 0
}
