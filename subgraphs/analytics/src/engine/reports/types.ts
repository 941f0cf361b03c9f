import { badUserInput } from '@pm/service-kit'

/** The report types a user may ask for. */
export const REPORT_TYPES = [
  'import_summary',
  'supplier_performance',
  'stock_alerts',
  'price_changes',
  'catalog_completeness',
] as const
export type ReportType = (typeof REPORT_TYPES)[number]

export const REPORT_FORMATS = ['csv', 'xlsx', 'pdf', 'json'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]

/** A period longer than this is refused (a report reads every day of it). */
export const MAX_PERIOD_DAYS = 366

export interface Column {
  key: string
  label: string
  kind: 'text' | 'int' | 'decimal' | 'date'
}

/** What a report holds, whatever its format. */
export interface ReportData {
  title: string
  columns: Column[]
  rows: Record<string, string | number | null>[]
  /**
   * The bar chart of the PDF: the rows' `value` summed per `label` (or the rows counted per label when value
   * is null), largest first, at most 15 bars.
   */
  chart: { label: string; value: string | null; title: string }
}

/** The checked parameters of a report. */
export interface ReportParameters {
  from?: string
  to?: string
  supplierCode?: string
}

const DAY = /^\d{4}-\d{2}-\d{2}$/
const DAY_MS = 86_400_000

const validDay = (value: string) =>
  DAY.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value)

/** Types that cover a period take from and to (YYYY-MM-DD, at most 366 days; default the last 30 days); others take none. */
const PERIOD_TYPES: readonly ReportType[] = ['import_summary', 'price_changes', 'supplier_performance']

/**
 * Checks a report's type and parameters; the same check runs when it is asked for and when it is generated.
 * `field` is the input path errors name (input.parameters…).
 */
export function checkReportParameters(
  type: ReportType,
  parameters: Record<string, unknown>,
  field = 'input.parameters',
): ReportParameters {
  const known = ['from', 'to', 'supplierCode']
  for (const key of Object.keys(parameters)) {
    if (!known.includes(key)) {
      throw badUserInput(`${field}.${key} is not a parameter of reports (from, to, supplierCode)`, {
        field: `${field}.${key}`,
      })
    }
  }
  const out: ReportParameters = {}
  for (const key of ['from', 'to'] as const) {
    const value = parameters[key]
    if (value === undefined || value === null) continue
    if (typeof value !== 'string' || !validDay(value)) {
      throw badUserInput(`${field}.${key} must be a date such as 2026-01-31`, { field: `${field}.${key}` })
    }
    out[key] = value
  }
  if (parameters.supplierCode != null) {
    if (typeof parameters.supplierCode !== 'string' || !/^\S{1,50}$/.test(parameters.supplierCode)) {
      throw badUserInput(`${field}.supplierCode must be a supplier code (at most 50 characters)`, {
        field: `${field}.supplierCode`,
      })
    }
    out.supplierCode = parameters.supplierCode
  }
  if (PERIOD_TYPES.includes(type)) {
    // Defaults: to today (UTC), from 29 days before to.
    out.to ??= new Date().toISOString().slice(0, 10)
    out.from ??= new Date(Date.parse(`${out.to}T00:00:00Z`) - 29 * DAY_MS).toISOString().slice(0, 10)
    const days = (Date.parse(`${out.to}T00:00:00Z`) - Date.parse(`${out.from}T00:00:00Z`)) / DAY_MS + 1
    if (days < 1) throw badUserInput(`${field}.from is after ${field}.to`, { field: `${field}.from` })
    if (days > MAX_PERIOD_DAYS) {
      throw badUserInput(
        `${field}: the period from ${out.from} to ${out.to} spans ${days} days; a report covers at most ${MAX_PERIOD_DAYS}`,
        { field: `${field}.from` },
      )
    }
  } else if (out.from || out.to) {
    throw badUserInput(`${field}: a ${type} report covers the current state, it takes no period`, {
      field: `${field}.${out.from ? 'from' : 'to'}`,
    })
  }
  return out
}
