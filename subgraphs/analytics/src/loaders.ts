import { groupedLoader, LoaderFamily, type Order, uniqueLoader, uuidKeys } from '@pm/service-kit'
import { supplierImportMetrics } from './db/facts'
import { toProductMetric, toReport, toSupplierImportMetric, toSupplierMetric } from './db/mappers'
import {
  type AnalyticsDb,
  type DateRange,
  productMetricsByProductIds,
  productMetricsSummaries,
  reportsByIds,
  supplierMetricsBySupplierIds,
} from './db/queries'

export const REPORT_ORDER: Order = {
  key: 'CREATED_AT:DESC',
  column: 'reports.created_at',
  id: 'reports.id',
  direction: 'desc',
}

export const AUDIT_LOG_ORDER: Order = {
  key: 'CREATED_AT:DESC',
  column: 'audit_logs.created_at',
  id: 'audit_logs.id',
  direction: 'desc',
}

export const AI_USAGE_LOG_ORDER: Order = {
  key: 'CREATED_AT:DESC',
  column: 'ai_usage_logs.created_at',
  id: 'ai_usage_logs.id',
  direction: 'desc',
}

/** Per-request loaders: each batch is one SQL statement; metrics loaders exist once per date range. */
export function createLoaders(db: AnalyticsDb) {
  return {
    reportById: uniqueLoader(
      async (ids) => (await reportsByIds(db, ids)).map(toReport),
      (r) => r.id,
    ),
    productMetrics: new LoaderFamily((range: DateRange) =>
      groupedLoader(
        async (ids) => (await productMetricsByProductIds(db, ids, range)).map(toProductMetric),
        (m) => m.productId,
      ),
    ),
    productMetricsSummary: new LoaderFamily((range: DateRange) =>
      uniqueLoader(
        (ids) => productMetricsSummaries(db, ids, range),
        (s) => s.product_id,
      ),
    ),
    supplierMetrics: new LoaderFamily((range: DateRange) =>
      groupedLoader(
        async (ids) => (await supplierMetricsBySupplierIds(db, ids, range)).map(toSupplierMetric),
        (m) => m.supplierId,
      ),
    ),
    supplierImportMetrics: new LoaderFamily((range: DateRange) =>
      groupedLoader(
        async (ids) => (await supplierImportMetrics(db, uuidKeys(ids), range)).map(toSupplierImportMetric),
        (m) => m.supplierId,
      ),
    ),
  }
}

export type AnalyticsLoaders = ReturnType<typeof createLoaders>
