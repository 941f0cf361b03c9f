import { fixedStatement } from '@pm/db'
import type { DB } from '@pm/db/types/analytics'
import { uuidKeys } from '@pm/service-kit'
import { type Kysely, sql } from 'kysely'

export type AnalyticsDb = Kysely<DB>

/** An inclusive range of calendar days, YYYY-MM-DD. */
export interface DateRange {
  from: string
  to: string
}

/** An ISO instant as a UTC TIMESTAMP (the columns have no zone; a JS Date would be sent in local time). */
const utc = (iso: string) => sql<Date>`${iso}::timestamp`

export function reportsByIds(db: AnalyticsDb, ids: readonly string[]) {
  const keys = uuidKeys(ids)
  if (keys.length === 0) return Promise.resolve([])
  return db
    .selectFrom('reports')
    .selectAll()
    .where('reports.id', '=', (eb) => eb.fn.any(eb.val(keys)))
    .execute()
}

export interface ReportFilter {
  reportType?: string | null
  status?: string | null
  createdBy?: string | null
}

/** idx_reports_status_created_id and idx_reports_created_by_created_id serve the filters in list order. */
export function reportsQuery(db: AnalyticsDb, filter: ReportFilter = {}) {
  let query = db.selectFrom('reports').selectAll('reports')
  if (filter.reportType != null) query = query.where('reports.report_type', '=', filter.reportType)
  if (filter.status != null) query = query.where('reports.status', '=', filter.status)
  if (filter.createdBy != null) query = query.where('reports.created_by', '=', filter.createdBy)
  return query
}

export interface AuditLogFilter {
  entityType?: string | null
  entityId?: string | null
  userId?: string | null
  action?: string | null
}

/** idx_audit_logs_entity (entity_type, entity_id, created_at DESC) and idx_audit_logs_user_created serve it. */
export function auditLogsQuery(db: AnalyticsDb, filter: AuditLogFilter = {}) {
  let query = db.selectFrom('audit_logs').selectAll('audit_logs')
  if (filter.entityType != null) query = query.where('audit_logs.entity_type', '=', filter.entityType)
  if (filter.entityId != null) query = query.where('audit_logs.entity_id', '=', filter.entityId)
  if (filter.userId != null) query = query.where('audit_logs.user_id', '=', filter.userId)
  if (filter.action != null) query = query.where('audit_logs.action', '=', filter.action)
  return query
}

export interface AiUsageLogFilter {
  userId?: string | null
  provider?: string | null
  model?: string | null
  /** ISO instants; the column is a UTC TIMESTAMP. */
  from?: string | null
  to?: string | null
}

export function aiUsageLogsQuery(db: AnalyticsDb, filter: AiUsageLogFilter = {}) {
  let query = db.selectFrom('ai_usage_logs').selectAll('ai_usage_logs')
  if (filter.userId != null) query = query.where('ai_usage_logs.user_id', '=', filter.userId)
  if (filter.provider != null) query = query.where('ai_usage_logs.provider', '=', filter.provider)
  if (filter.model != null) query = query.where('ai_usage_logs.model', '=', filter.model)
  if (filter.from != null) query = query.where('ai_usage_logs.created_at', '>=', utc(filter.from))
  if (filter.to != null) query = query.where('ai_usage_logs.created_at', '<', utc(filter.to))
  return query
}

/** Totals per provider (and model) and currency in one statement; the BRIN index serves the time range. */
export function aiUsageSummary(
  db: AnalyticsDb,
  range: { from: string | null; to: string | null },
  groupBy: 'PROVIDER' | 'MODEL',
) {
  const byModel = groupBy === 'MODEL'
  let query = db
    .selectFrom('ai_usage_logs')
    .select([
      'ai_usage_logs.provider',
      byModel ? 'ai_usage_logs.model' : sql<string | null>`NULL::text`.as('model'),
      'ai_usage_logs.currency',
      sql<string>`count(*)`.as('request_count'),
      sql<string>`count(*) FILTER (WHERE NOT ai_usage_logs.success)`.as('failed_count'),
      sql<string>`coalesce(sum(ai_usage_logs.prompt_tokens), 0)`.as('prompt_tokens'),
      sql<string>`coalesce(sum(ai_usage_logs.completion_tokens), 0)`.as('completion_tokens'),
      sql<string>`coalesce(sum(ai_usage_logs.total_tokens), 0)`.as('total_tokens'),
      sql<string | null>`sum(ai_usage_logs.cost)`.as('cost'),
    ])
    .groupBy(['ai_usage_logs.provider', 'ai_usage_logs.currency'])
    .orderBy('ai_usage_logs.provider')
  if (byModel) query = query.groupBy('ai_usage_logs.model').orderBy('ai_usage_logs.model')
  query = query.orderBy('ai_usage_logs.currency')
  if (range.from != null) query = query.where('ai_usage_logs.created_at', '>=', utc(range.from))
  if (range.to != null) query = query.where('ai_usage_logs.created_at', '<', utc(range.to))
  return query.execute()
}

export function importMetricsBetween(db: AnalyticsDb, range: DateRange) {
  return db
    .selectFrom('import_metrics')
    .selectAll()
    .where('import_metrics.date', '>=', range.from)
    .where('import_metrics.date', '<=', range.to)
    .orderBy('import_metrics.date')
    .execute()
}

/** Daily rows of the given products in the range; uq_product_metrics_product_date serves it. */
const productMetricsInRange = fixedStatement(
  'product metrics by product ids in a range',
  (db: AnalyticsDb, keys: string[], from: DateRange['from'], to: DateRange['to']) =>
    db
      .selectFrom('product_metrics')
      .selectAll()
      .where('product_metrics.product_id', '=', (eb) => eb.fn.any(eb.val(keys)))
      .where('product_metrics.date', '>=', from)
      .where('product_metrics.date', '<=', to)
      .orderBy('product_metrics.product_id')
      .orderBy('product_metrics.date'),
)

export function productMetricsByProductIds(db: AnalyticsDb, productIds: readonly string[], range: DateRange) {
  const keys = uuidKeys(productIds)
  if (keys.length === 0) return Promise.resolve([])
  return productMetricsInRange(db, keys, range.from, range.to)
}

/** The same rows summed per product in SQL (NUMERIC sums stay exact). */
export function productMetricsSummaries(db: AnalyticsDb, productIds: readonly string[], range: DateRange) {
  const keys = uuidKeys(productIds)
  if (keys.length === 0) return Promise.resolve([])
  return db
    .selectFrom('product_metrics')
    .select([
      'product_metrics.product_id',
      sql<string>`count(*)`.as('day_count'),
      sql<string>`coalesce(sum(product_metrics.view_count), 0)`.as('view_count'),
      sql<string>`coalesce(sum(product_metrics.sales_count), 0)`.as('sales_count'),
      sql<string>`coalesce(sum(product_metrics.revenue), 0.00)`.as('revenue'),
      sql<
        string | null
      >`round(sum(product_metrics.sales_count)::numeric / nullif(sum(product_metrics.view_count), 0), 4)`.as(
        'conversion_rate',
      ),
    ])
    .where('product_metrics.product_id', '=', (eb) => eb.fn.any(eb.val(keys)))
    .where('product_metrics.date', '>=', range.from)
    .where('product_metrics.date', '<=', range.to)
    .groupBy('product_metrics.product_id')
    .execute()
}

/** Daily rows of the given suppliers in the range; uq_supplier_metrics_supplier_date serves it. */
export function supplierMetricsBySupplierIds(
  db: AnalyticsDb,
  supplierIds: readonly string[],
  range: DateRange,
) {
  const keys = uuidKeys(supplierIds)
  if (keys.length === 0) return Promise.resolve([])
  return db
    .selectFrom('supplier_metrics')
    .selectAll()
    .where('supplier_metrics.supplier_id', '=', (eb) => eb.fn.any(eb.val(keys)))
    .where('supplier_metrics.date', '>=', range.from)
    .where('supplier_metrics.date', '<=', range.to)
    .orderBy('supplier_metrics.supplier_id')
    .orderBy('supplier_metrics.date')
    .execute()
}
