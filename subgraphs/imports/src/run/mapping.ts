import type { Readable } from 'node:stream'
import type { DB } from '@pm/db/types/imports'
import type { Kysely } from 'kysely'
import type { ImportConfigRow } from '../db/mappers'
import type { ErrorRow } from '../db/writes'
import {
  type CompiledImport,
  compileImport,
  ImportConfigError,
  openSource,
  type ParsedSource,
  type ParseOptions,
  type RawRecord,
  type RowIssue,
  SOURCE_FORMATS,
  type SourceFormat,
} from '../engine'
import { CatalogRefusal, type CatalogRowError } from './catalog'

/** ImportRow key → the source column that feeds it (for error rows). */
export type SourceColumns = Map<string, string>

/**
 * What a job and a preview say about the mapping itself: a column mapped and yet not imported. retail_price stands
 * for the price only when no column feeds price.
 */
export function mappingWarnings(columns: SourceColumns): string[] {
  const price = columns.get('price')
  const retail = columns.get('retailPrice')
  if (price === undefined || retail === undefined) return []
  return [
    `column "${retail}" (retail_price) is not imported: the price comes from column "${price}" (price); map retail_price alone to take the price from it`,
  ]
}

/** The ImportRow key a configuration's target field name fills ("short_description" → shortDescription). */
export function rowKeyOf(target: string): string {
  if (target.startsWith('technical_specs.')) return 'technicalSpecs'
  const special: Record<string, string> = {
    quantity: 'stockQuantity',
    image_url: 'imageUrls',
    min_stock: 'minStock',
  }
  return special[target] ?? target.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
}

/**
 * The configuration's mapping (or, without one, the supplier's default mapping template, else the shared
 * default one) compiled with its rules; CatalogRefusal when the configuration cannot run.
 */
export async function compileConfig(
  db: Kysely<DB>,
  config: ImportConfigRow,
): Promise<CompiledImport & { columns: SourceColumns }> {
  let fieldMapping = config.field_mapping
  if (fieldMapping == null) {
    const template = await db
      .selectFrom('mapping_templates')
      .select('field_mapping')
      .where('is_default', '=', true)
      .where((eb) => eb.or([eb('supplier_code', '=', config.supplier_code), eb('supplier_code', 'is', null)]))
      .orderBy((eb) => eb.case().when('supplier_code', 'is', null).then(1).else(0).end())
      .limit(1)
      .executeTakeFirst()
    fieldMapping = template?.field_mapping ?? null
  }
  let compiled: CompiledImport
  try {
    compiled = compileImport({
      fieldMapping,
      transformationRules: config.transformation_rules,
      validationRules: config.validation_rules,
    })
  } catch (error) {
    if (error instanceof ImportConfigError) {
      throw new CatalogRefusal(`the configuration cannot run: ${error.message}`, 'BAD_USER_INPUT')
    }
    throw error
  }
  const columns: SourceColumns = new Map()
  for (const [column, target] of Object.entries((fieldMapping ?? {}) as Record<string, string>)) {
    const key = rowKeyOf(String(target))
    if (!columns.has(key)) columns.set(key, column)
  }
  return Object.assign(compiled, { columns })
}

/** Opens the file's records with the configuration's format, encoding and delimiter (detected when absent). */
export function openRecords(
  stream: Readable,
  config: ImportConfigRow,
  fileName: string,
  /** What the worker's settings add (the XLSX shared strings' bounds). */
  parse: Pick<ParseOptions, 'sharedStrings'> = {},
): Promise<ParsedSource> {
  const format = (config.file_format ?? '').toLowerCase()
  return openSource(stream, {
    ...parse,
    format: (SOURCE_FORMATS as readonly string[]).includes(format) ? (format as SourceFormat) : 'auto',
    filename: fileName,
    ...(config.encoding ? { encoding: config.encoding } : {}),
    ...(config.delimiter ? { delimiter: config.delimiter } : {}),
  })
}

const MAX_TEXT = 10_000
const clip = (value: string | undefined | null) => (value == null ? null : value.slice(0, MAX_TEXT))

/**
 * An import_errors row for a record: from a mapping issue (its column, rule and raw value) or from catalog's
 * verdict (its field path `rows[i].field` becomes the source column feeding that field).
 */
export function rowErrorOf(
  record: RawRecord,
  issue: RowIssue | CatalogRowError,
  columns: SourceColumns,
): ErrorRow {
  if ('rule' in issue) {
    const column = issue.column ?? (issue.field ? columns.get(rowKeyOf(issue.field)) : undefined)
    return {
      row_number: record.rowNumber,
      column_name: column?.slice(0, 255) ?? null,
      error_code: issue.rule.slice(0, 100),
      message: clip(issue.message)!,
      raw_value: clip(issue.rawValue ?? (column ? record.values[column] : undefined)),
      raw_row: record.values,
      severity: issue.severity === 'warning' ? 'warning' : 'error',
    }
  }
  const field = issue.field?.replace(/^rows\[\d+\]\.?/, '').replace(/\[\d+\]$/, '') || null
  const column = field ? columns.get(field) : undefined
  return {
    row_number: record.rowNumber,
    column_name: column?.slice(0, 255) ?? null,
    error_code: issue.code.slice(0, 100),
    message: clip(issue.message.replace(/rows\[\d+\]\.?/g, ''))!,
    raw_value: clip(column ? record.values[column] : undefined),
    raw_row: record.values,
    severity: 'error',
  }
}
