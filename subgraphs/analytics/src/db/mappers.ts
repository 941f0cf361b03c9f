import type { DB } from '@pm/db/types/analytics'
import type { Selectable } from 'kysely'
import type { DateRange, productMetricsSummaries } from './queries'

type ReportRow = Selectable<DB['reports']>
type AuditLogRow = Selectable<DB['audit_logs']>
type AiUsageLogRow = Selectable<DB['ai_usage_logs']>
type ImportMetricRow = Selectable<DB['import_metrics']>
type ProductMetricRow = Selectable<DB['product_metrics']>
type SupplierMetricRow = Selectable<DB['supplier_metrics']>
type ProductMetricsSummaryRow = Awaited<ReturnType<typeof productMetricsSummaries>>[number]

export type Report = ReturnType<typeof toReport>
export type AuditLog = ReturnType<typeof toAuditLog>
export type AiUsageLog = ReturnType<typeof toAiUsageLog>
export type ProductMetric = ReturnType<typeof toProductMetric>
export type SupplierMetric = ReturnType<typeof toSupplierMetric>
export type ProductMetricsSummary = ReturnType<typeof toProductMetricsSummary>

/** BIGINT columns arrive as strings; ids and byte counts stay far below 2^53. */
const toNumber = (value: string | null) => (value === null ? null : Number(value))

export function toReport(row: ReportRow) {
  return {
    id: row.id,
    name: row.name,
    reportType: row.report_type,
    parameters: row.parameters,
    status: row.status,
    format: row.format,
    bucketName: row.bucket_name,
    objectKey: row.object_key,
    fileSizeBytes: toNumber(row.file_size_bytes),
    rowCount: row.row_count,
    errorMessage: row.error_message,
    createdById: row.created_by,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function toAuditLog(row: AuditLogRow) {
  return {
    id: Number(row.id),
    userId: row.user_id,
    action: row.action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    changes: row.changes,
    ipAddress: row.ip_address,
    userAgent: row.user_agent,
    createdAt: row.created_at,
  }
}

export function toAiUsageLog(row: AiUsageLogRow) {
  return {
    id: Number(row.id),
    userId: row.user_id,
    provider: row.provider,
    model: row.model,
    operation: row.operation,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    totalTokens: row.total_tokens,
    cost: row.cost,
    currency: row.currency,
    latencyMs: row.latency_ms,
    success: row.success,
    errorMessage: row.error_message,
    createdAt: row.created_at,
  }
}

export function toAiUsageSummary(row: {
  provider: string
  model: string | null
  currency: string
  request_count: string
  failed_count: string
  prompt_tokens: string
  completion_tokens: string
  total_tokens: string
  cost: string | null
}) {
  return {
    provider: row.provider,
    model: row.model,
    currency: row.currency,
    requestCount: Number(row.request_count),
    failedCount: Number(row.failed_count),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    totalTokens: Number(row.total_tokens),
    cost: row.cost,
  }
}

export function toImportMetric(row: ImportMetricRow) {
  return {
    id: row.id,
    date: row.date,
    totalImports: row.total_imports,
    successfulImports: row.successful_imports,
    failedImports: row.failed_imports,
    totalProductsProcessed: row.total_products_processed,
    avgProcessingTime: row.avg_processing_time,
  }
}

export function toProductMetric(row: ProductMetricRow) {
  return {
    id: row.id,
    productId: row.product_id,
    date: row.date,
    viewCount: row.view_count,
    salesCount: row.sales_count,
    conversionRate: row.conversion_rate,
    revenue: row.revenue,
    createdAt: row.created_at,
  }
}

/** A summary row, or zeros for a product without figures in the range. */
export function toProductMetricsSummary(range: DateRange, row: ProductMetricsSummaryRow | null) {
  return {
    from: range.from,
    to: range.to,
    dayCount: row ? Number(row.day_count) : 0,
    viewCount: row ? Number(row.view_count) : 0,
    salesCount: row ? Number(row.sales_count) : 0,
    conversionRate: row?.conversion_rate ?? null,
    revenue: row?.revenue ?? '0.00',
  }
}

export function toSupplierMetric(row: SupplierMetricRow) {
  return {
    id: row.id,
    supplierId: row.supplier_id,
    date: row.date,
    productsCount: row.products_count,
    importsCount: row.imports_count,
    successRate: row.success_rate,
    avgProcessingTime: row.avg_processing_time,
    activeProductsCount: row.active_products_count,
    avgPrice: row.avg_price,
    stockValue: row.stock_value,
    imageShare: row.image_share,
    verifiedAsinShare: row.verified_asin_share,
    computedAt: row.computed_at,
  }
}

export function toMetricRun(row: Selectable<DB['metric_runs']>) {
  return {
    id: row.id,
    kind: row.kind.toUpperCase(),
    from: row.date_from,
    to: row.date_to,
    status: row.status.toUpperCase(),
    processed: row.processed,
    total: row.total,
    errorMessage: row.error_message,
    cancelRequested: row.cancel_requested_at !== null,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    createdAt: row.created_at,
  }
}

export function toSupplierImportMetric(row: Selectable<DB['supplier_import_metrics']>) {
  const durationSeconds = Number(row.duration_seconds)
  return {
    supplierId: row.supplier_id,
    date: row.date,
    jobsCount: row.jobs_count,
    completedCount: row.completed_count,
    failedCount: row.failed_count,
    cancelledCount: row.cancelled_count,
    rowsProcessed: Number(row.rows_processed),
    productsCreated: Number(row.products_created),
    productsUpdated: Number(row.products_updated),
    rowsFailed: Number(row.rows_failed),
    durationSeconds,
    avgDurationSeconds: row.jobs_count > 0 ? Math.round(durationSeconds / row.jobs_count) : null,
  }
}

export function toCatalogMetric(row: Selectable<DB['catalog_metrics']>) {
  return {
    date: row.date,
    suppliersCount: row.suppliers_count,
    productsCount: row.products_count,
    activeProductsCount: row.active_products_count,
    avgPrice: row.avg_price,
    stockValue: row.stock_value,
    imageShare: row.image_share,
    verifiedAsinShare: row.verified_asin_share,
    computedAt: row.computed_at,
  }
}

export type MetricRun = ReturnType<typeof toMetricRun>
export type ImportMetric = ReturnType<typeof toImportMetric>
export type SupplierImportMetric = ReturnType<typeof toSupplierImportMetric>
export type CatalogMetric = ReturnType<typeof toCatalogMetric>
export type AiUsageSummary = ReturnType<typeof toAiUsageSummary>
