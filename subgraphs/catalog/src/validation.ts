import {
  badUserInput,
  checkDecimal,
  checkEnum,
  checkJsonObject,
  checkString,
  MAX_URL_LENGTH,
  normalizeEan,
  PRODUCT_STATUSES,
} from '@pm/service-kit'
import { GraphQLError } from 'graphql'
import type { UpdateProductInput } from './generated/graphql'

/**
 * Catalog input rules that run before SQL (sizes from migrations/catalog/*.sql). Every error is a
 * BAD_USER_INPUT naming the GraphQL field path, e.g. 'input.title' or 'rows[17].ean'.
 */

/** Statuses of a product on sale: isActive follows status when a status is given without isActive. */
export const SELLING_STATUSES: ReadonlySet<string> = new Set(['active', 'out_of_stock'])
export const PRICE_TYPES = ['retail', 'wholesale', 'promo', 'msrp'] as const
/** price_history.source (migration 002). */
export const PRICE_SOURCES = ['manual', 'import', 'api', 'sync'] as const
/** stock_history.reason (migration 002). */
export const STOCK_REASONS = ['import', 'sale', 'return', 'adjustment', 'reservation'] as const

/** TEXT columns have no size: these bounds only stop obvious mistakes (a whole file pasted in a field). */
export const MAX_DESCRIPTION = 50_000
export const MAX_NOTE = 2_000

const CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
const SLUG = /^[a-z0-9]+(?:-+[a-z0-9]+)*$/
const ASIN = /^[A-Z0-9]{10}$/
const PHONE = /^\+?[0-9 ()./-]*[0-9][0-9 ()./-]*$/
const HTTP_URL = /^https?:\/\/[^\s/$.?#][^\s]*$/i

/** Supplier and brand codes: letters, digits, '_', '.', '-' (import configurations refer to them). */
export const checkCode = (field: string, value: string | null | undefined) =>
  checkString(field, value, {
    max: 50,
    pattern: CODE,
    patternHint: 'may contain only letters, digits, "_", "." and "-" (e.g. "ACME_FR")',
  })

export const checkSlug = (field: string, value: string | null | undefined) =>
  checkString(field, value, {
    max: 255,
    pattern: SLUG,
    patternHint: 'must be lower-case letters and digits separated by "-" (e.g. "power-tools")',
  })

export const checkPhone = (field: string, value: string | null | undefined) =>
  checkString(field, value, {
    max: 50,
    pattern: PHONE,
    patternHint: 'may contain only digits, spaces, "+", "(", ")", ".", "/" and "-"',
  })

export const checkUrl = (field: string, value: string | null | undefined) =>
  checkString(field, value, { max: MAX_URL_LENGTH, pattern: HTTP_URL, patternHint: 'must be an http(s) URL' })

export const checkText = (field: string, value: string | null | undefined, max = MAX_DESCRIPTION) =>
  checkString(field, value, { max })

/** A non-negative amount for NUMERIC(10,2) (prices, costs, dimensions). */
export const checkAmount = (field: string, value: string | null | undefined) =>
  checkDecimal(field, value, { precision: 10, scale: 2, min: '0' })

/** A non-negative NUMERIC(10,3) (weights). */
export const checkWeight = (field: string, value: string | null | undefined) =>
  checkDecimal(field, value, { precision: 10, scale: 3, min: '0' })

/** Refuses null for a field whose column is NOT NULL (or has no meaning when empty). */
export function notNull<T>(field: string, value: T | null | undefined): T | undefined {
  if (value === null) throw badUserInput(`${field} cannot be null`, { field })
  return value
}

/** A decimal string as an integer count of 10^-scale units (exact). */
function scaled(value: string, scale: number): bigint {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value.trim())
  if (!match) throw new Error(`not a decimal: ${value}`)
  const [, sign, whole, fraction = ''] = match
  const digits = BigInt(whole! + fraction.padEnd(scale, '0').slice(0, scale))
  return sign === '-' ? -digits : digits
}

const MAX_MARGIN_HUNDREDTHS = 99_999n // NUMERIC(5,2)

/**
 * (price − cost) / price × 100 rounded half away from zero to 2 decimals (PostgreSQL's round()), in exact
 * integer arithmetic. Null when there is no cost or the price is 0; undefined when the margin does not
 * fit NUMERIC(5,2) (a cost above about 11 times the price).
 */
export function marginPercent(price: string, cost: string | null | undefined): string | null | undefined {
  if (cost === null || cost === undefined) return null
  const p = scaled(price, 2)
  if (p === 0n) return null
  const c = scaled(cost, 2)
  const numerator = (p - c) * 10_000n
  let hundredths = numerator / p
  const remainder = numerator % p
  const abs = (n: bigint) => (n < 0n ? -n : n)
  if (2n * abs(remainder) >= abs(p)) hundredths += numerator < 0n ? -1n : 1n
  if (abs(hundredths) > MAX_MARGIN_HUNDREDTHS) return undefined
  const negative = hundredths < 0n
  const digits = abs(hundredths).toString().padStart(3, '0')
  return `${negative ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`
}

/** The margin of a price, or BAD_USER_INPUT on `field` when it cannot be stored. */
export function checkedMargin(field: string, price: string, cost: string | null | undefined) {
  const margin = marginPercent(price, cost)
  if (margin === undefined) {
    throw badUserInput(
      `${field}: a cost of ${cost} against a price of ${price} gives a margin below -999.99 %; check both amounts`,
      { field },
    )
  }
  return margin
}

/**
 * The product fields every product input shares (create, update, upsert and import rows): UpdateProductInput's,
 * with a free-text status (ProductImportRowInput.status is a String; productColumns checks it).
 */
export type ProductFieldsInput = Omit<UpdateProductInput, 'status'> & { status?: string | null }

/** products columns, as validated values (technical_specs serialised for jsonb). */
export interface ProductColumns {
  ean?: string | null
  asin?: string | null
  sku?: string | null
  upc?: string | null
  gtin?: string | null
  manufacturer_reference?: string | null
  external_id?: string | null
  title?: string
  description?: string | null
  short_description?: string | null
  supplier_id?: string | null
  category_id?: string | null
  brand_id?: string | null
  status?: string
  is_active?: boolean
  weight?: string | null
  width?: string | null
  height?: string | null
  depth?: string | null
  technical_specs?: string | null
}

const opt = <T>(value: T | null | undefined, check: (v: T) => unknown) =>
  value === undefined ? undefined : value === null ? null : check(value)

/** A 12-digit UPC-A: any GTIN that normalises to an EAN-13 starting with 0. */
export function normalizeUpc(value: string, field: string): string {
  const ean = normalizeEan(value, field)
  if (ean.length !== 13 || !ean.startsWith('0')) {
    throw badUserInput(`${field} "${value}" is not a UPC-A: a UPC has 12 digits`, { field })
  }
  return ean.slice(1)
}

/** A GTIN stored on 14 digits (leading zeros added), as the source schema's `gtin` column (docs/requirements.md). */
export const normalizeGtin = (value: string, field: string) => normalizeEan(value, field).padStart(14, '0')

/**
 * Validates the product fields present in `input` (undefined = not given, null = clear) and returns the
 * columns to write. `at` is the path prefix used in error fields ('input', 'rows[3]').
 */
export function productColumns(input: ProductFieldsInput, at: string): ProductColumns {
  const f = (name: string) => `${at}.${name}`
  const columns: ProductColumns = {
    ean: opt(input.ean, (v) => normalizeEan(v, f('ean'))) as string | null | undefined,
    asin: opt(input.asin, (v) =>
      checkString(f('asin'), v.toUpperCase(), {
        max: 20,
        pattern: ASIN,
        patternHint: 'must be 10 letters or digits (e.g. "B08N5WRWNW")',
      }),
    ) as string | null | undefined,
    sku: opt(input.sku, (v) => checkString(f('sku'), v, { max: 100 })) as string | null | undefined,
    upc: opt(input.upc, (v) => normalizeUpc(v, f('upc'))) as string | null | undefined,
    gtin: opt(input.gtin, (v) => normalizeGtin(v, f('gtin'))) as string | null | undefined,
    manufacturer_reference: opt(input.manufacturerReference, (v) =>
      checkString(f('manufacturerReference'), v, { max: 100 }),
    ) as string | null | undefined,
    external_id: opt(input.externalId, (v) => checkString(f('externalId'), v, { max: 255 })) as
      | string
      | null
      | undefined,
    title: opt(notNull(f('title'), input.title), (v) => checkString(f('title'), v, { max: 500 })) as
      | string
      | undefined,
    description: opt(input.description, (v) => checkText(f('description'), v)) as string | null | undefined,
    short_description: opt(input.shortDescription, (v) =>
      checkString(f('shortDescription'), v, { max: 500 }),
    ) as string | null | undefined,
    supplier_id: input.supplierId,
    category_id: input.categoryId,
    brand_id: input.brandId,
    status: opt(notNull(f('status'), input.status), (v) => checkEnum(f('status'), v, PRODUCT_STATUSES)) as
      | string
      | undefined,
    is_active: notNull(f('isActive'), input.isActive),
    weight: opt(input.weight, (v) => checkWeight(f('weight'), v)) as string | null | undefined,
    width: opt(input.width, (v) => checkAmount(f('width'), v)) as string | null | undefined,
    height: opt(input.height, (v) => checkAmount(f('height'), v)) as string | null | undefined,
    depth: opt(input.depth, (v) => checkAmount(f('depth'), v)) as string | null | undefined,
    technical_specs: opt(input.technicalSpecs, (v) =>
      JSON.stringify(checkJsonObject(f('technicalSpecs'), v)),
    ) as string | null | undefined,
  }
  // A status given alone decides isActive: a product on sale is active, a draft or discontinued one is not.
  if (columns.status !== undefined && columns.is_active === undefined) {
    columns.is_active = SELLING_STATUSES.has(columns.status)
  }
  for (const key of Object.keys(columns) as (keyof ProductColumns)[]) {
    if (columns[key] === undefined) delete columns[key]
  }
  return columns
}

/** A row-level error of a bulk call, from a GraphQLError raised by a check. */
export interface RowError {
  code: string
  field: string | null
  message: string
}

export function rowError(error: unknown): RowError {
  if (error instanceof GraphQLError) {
    return {
      code: String(error.extensions.code ?? 'BAD_USER_INPUT'),
      field: (error.extensions.field as string | undefined) ?? null,
      message: error.message,
    }
  }
  throw error
}
