import { badUserInput, checkDecimal, checkInt, checkString } from '@pm/service-kit'
import { GraphQLError } from 'graphql'
import type { ImportMetricInput, ProductMetricInput, SupplierMetricInput } from './generated/graphql'

/** At most this many metric rows per call (one statement each way). */
export const MAX_METRIC_ROWS = 1_000

export interface RowError {
  index: number
  field: string
  message: string
}

export interface CheckedRows<V> {
  good: { index: number; value: V }[]
  errors: RowError[]
}

export const todayUtc = () => new Date().toISOString().slice(0, 10)

/** A metric's day: a real calendar date (the scalar checks the form), not after today (UTC). */
export function checkMetricDate(field: string, value: string, today = todayUtc()): string {
  if (value > today)
    throw badUserInput(`${field} (${value}) is in the future; today (UTC) is ${today}`, { field })
  return value
}

/** A count column (INTEGER DEFAULT 0): 0 or more. */
export const checkCount = (field: string, value: number) => checkInt(field, value, { min: 0 })!

/**
 * Validates each row on its own: the good ones are kept with their index, the bad ones reported with
 * theirs; a row repeating the key of an earlier one is reported (one statement cannot write a key twice).
 */
export function checkRows<I, V>(
  rows: readonly I[],
  check: (row: I, at: string) => V,
  keyOf: (value: V) => string,
  keyField: string,
): CheckedRows<V> {
  if (rows.length > MAX_METRIC_ROWS) {
    throw badUserInput(`rows: at most ${MAX_METRIC_ROWS} per call (got ${rows.length}); send them in parts`, {
      field: 'rows',
    })
  }
  const good: CheckedRows<V>['good'] = []
  const errors: RowError[] = []
  const seen = new Map<string, number>()
  rows.forEach((row, index) => {
    const at = `rows[${index}]`
    try {
      const value = check(row, at)
      const key = keyOf(value)
      const first = seen.get(key)
      if (first !== undefined) {
        throw badUserInput(
          `${at}.${keyField} repeats rows[${first}] (same entity and date); send each once`,
          {
            field: `${at}.${keyField}`,
          },
        )
      }
      seen.set(key, index)
      good.push({ index, value })
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error
      errors.push({ index, field: String(error.extensions.field ?? at), message: error.message })
    }
  })
  return { good, errors }
}

/** product_metrics: counts >= 0, conversion_rate NUMERIC(5,4) in [0, 1], revenue NUMERIC(12,2) >= 0. */
export function checkProductMetric(row: ProductMetricInput, at: string) {
  return {
    product_id: row.productId,
    date: checkMetricDate(`${at}.date`, row.date),
    view_count: checkCount(`${at}.viewCount`, row.viewCount),
    sales_count: checkCount(`${at}.salesCount`, row.salesCount),
    conversion_rate: checkDecimal(`${at}.conversionRate`, row.conversionRate, {
      precision: 5,
      scale: 4,
      min: '0',
      max: '1',
    }),
    revenue: checkDecimal(`${at}.revenue`, row.revenue, { precision: 12, scale: 2, min: '0' }),
  }
}

/** supplier_metrics: counts >= 0, success_rate NUMERIC(5,2) percent in [0, 100], seconds >= 0. */
export function checkSupplierMetric(row: SupplierMetricInput, at: string) {
  return {
    supplier_id: row.supplierId,
    date: checkMetricDate(`${at}.date`, row.date),
    products_count: checkCount(`${at}.productsCount`, row.productsCount),
    imports_count: checkCount(`${at}.importsCount`, row.importsCount),
    success_rate: checkDecimal(`${at}.successRate`, row.successRate, {
      precision: 5,
      scale: 2,
      min: '0',
      max: '100',
    }),
    avg_processing_time: checkInt(`${at}.avgProcessingTime`, row.avgProcessingTime, { min: 0 }),
  }
}

/** import_metrics: counts >= 0 and successful + failed <= total; seconds >= 0. */
export function checkImportMetric(row: ImportMetricInput, at: string) {
  const value = {
    date: checkMetricDate(`${at}.date`, row.date),
    total_imports: checkCount(`${at}.totalImports`, row.totalImports),
    successful_imports: checkCount(`${at}.successfulImports`, row.successfulImports),
    failed_imports: checkCount(`${at}.failedImports`, row.failedImports),
    total_products_processed: checkCount(`${at}.totalProductsProcessed`, row.totalProductsProcessed),
    avg_processing_time: checkInt(`${at}.avgProcessingTime`, row.avgProcessingTime, { min: 0 }),
  }
  if (value.successful_imports + value.failed_imports > value.total_imports) {
    throw badUserInput(
      `${at}.totalImports (${value.total_imports}) is less than successfulImports + failedImports (${value.successful_imports + value.failed_imports})`,
      { field: `${at}.totalImports` },
    )
  }
  return value
}

/** Audit entry fields written by front ends: identifiers in lower case, bounded by the columns. */
export function checkAuditName(field: string, value: string, max: number): string {
  return checkString(field, value, {
    max,
    pattern: /^[a-z][a-z0-9_.-]*$/,
    patternHint:
      'must start with a lower-case letter and hold only lower-case letters, digits, dots, dashes and underscores',
  })
}
