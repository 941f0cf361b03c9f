import type { DB } from '@pm/db/types/exports'
import { uuidKeys } from '@pm/service-kit'
import type { Kysely } from 'kysely'

export type ExportsDb = Kysely<DB>

export function platformsByIds(db: ExportsDb, ids: readonly string[]) {
  return db
    .selectFrom('export_platforms')
    .selectAll('export_platforms')
    .where('export_platforms.id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(ids))))
    .execute()
}

/** The whole (small) table by name: no pagination needed. */
export function platforms(db: ExportsDb, isActive: boolean | null | undefined) {
  let query = db.selectFrom('export_platforms').selectAll('export_platforms')
  if (isActive != null) query = query.where('export_platforms.is_active', '=', isActive)
  return query.orderBy('export_platforms.name').execute()
}

export function jobsByIds(db: ExportsDb, ids: readonly string[]) {
  return db
    .selectFrom('export_jobs')
    .selectAll('export_jobs')
    .where('export_jobs.id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(ids))))
    .execute()
}

export interface ExportJobFilter {
  status?: string | null
  platformId?: string | null
  jobType?: string | null
}

/** idx_export_jobs_status_created_id serves a status filter, idx_export_jobs_created_id the whole list. */
export function jobsQuery(db: ExportsDb, filter: ExportJobFilter = {}) {
  let query = db.selectFrom('export_jobs').selectAll('export_jobs')
  if (filter.status != null) query = query.where('export_jobs.status', '=', filter.status)
  if (filter.platformId != null) query = query.where('export_jobs.platform_id', '=', filter.platformId)
  if (filter.jobType != null) query = query.where('export_jobs.job_type', '=', filter.jobType)
  return query
}

export function jobsByPlatformIdsQuery(db: ExportsDb, platformIds: readonly string[], status: string | null) {
  let query = db
    .selectFrom('export_jobs')
    .selectAll('export_jobs')
    .where('export_jobs.platform_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(platformIds))))
  if (status != null) query = query.where('export_jobs.status', '=', status)
  return query
}

export function itemsByJobIdsQuery(db: ExportsDb, jobIds: readonly string[], status: string | null) {
  let query = db
    .selectFrom('export_job_items')
    .selectAll('export_job_items')
    .where('export_job_items.job_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(jobIds))))
  if (status != null) query = query.where('export_job_items.status', '=', status)
  return query
}

/** On idx_export_job_items_product_id. */
export function itemsByProductIdsQuery(db: ExportsDb, productIds: readonly string[]) {
  return db
    .selectFrom('export_job_items')
    .selectAll('export_job_items')
    .where('export_job_items.product_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(productIds))))
}
