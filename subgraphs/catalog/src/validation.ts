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
  // Only the fields given become columns, set in this order (the order of the table's columns); the checks
  // run in that order too, so the first field a row gets wrong is the one reported. Written out field by
  // field: a bulk call runs this on thousands of rows. The string and decimal checks give null for null (the
  // column cleared).
  const columns: ProductColumns = {}
  const f = (name: string) => `${at}.${name}`
  const { ean, asin, sku, upc, gtin, manufacturerReference, externalId, title, description } = input
  if (ean !== undefined) columns.ean = ean === null ? null : normalizeEan(ean, f('ean'))
  if (asin !== undefined) {
    columns.asin = checkString(f('asin'), asin?.toUpperCase(), {
      max: 20,
      pattern: ASIN,
      patternHint: 'must be 10 letters or digits (e.g. "B08N5WRWNW")',
    })
  }
  if (sku !== undefined) columns.sku = checkString(f('sku'), sku, { max: 100 })
  if (upc !== undefined) columns.upc = upc === null ? null : normalizeUpc(upc, f('upc'))
  if (gtin !== undefined) columns.gtin = gtin === null ? null : normalizeGtin(gtin, f('gtin'))
  if (manufacturerReference !== undefined)
    columns.manufacturer_reference = checkString(f('manufacturerReference'), manufacturerReference, {
      max: 100,
    })
  if (externalId !== undefined) columns.external_id = checkString(f('externalId'), externalId, { max: 255 })
  if (title !== undefined)
    columns.title = checkString(f('title'), notNull(f('title'), title) as string, { max: 500 })
  if (description !== undefined) columns.description = checkText(f('description'), description)
  const { shortDescription, supplierId, categoryId, brandId, status, isActive } = input
  if (shortDescription !== undefined)
    columns.short_description = checkString(f('shortDescription'), shortDescription, { max: 500 })
  if (supplierId !== undefined) columns.supplier_id = supplierId
  if (categoryId !== undefined) columns.category_id = categoryId
  if (brandId !== undefined) columns.brand_id = brandId
  if (status !== undefined)
    columns.status = checkEnum(f('status'), notNull(f('status'), status) as string, PRODUCT_STATUSES)
  // A status given alone decides isActive: a product on sale is active, a draft or discontinued one is not.
  if (isActive !== undefined) columns.is_active = notNull(f('isActive'), isActive) as boolean
  else if (columns.status !== undefined) columns.is_active = SELLING_STATUSES.has(columns.status)
  const { weight, width, height, depth, technicalSpecs } = input
  if (weight !== undefined) columns.weight = checkWeight(f('weight'), weight)
  if (width !== undefined) columns.width = checkAmount(f('width'), width)
  if (height !== undefined) columns.height = checkAmount(f('height'), height)
  if (depth !== undefined) columns.depth = checkAmount(f('depth'), depth)
  if (technicalSpecs !== undefined) {
    columns.technical_specs =
      technicalSpecs === null ? null : JSON.stringify(checkJsonObject(f('technicalSpecs'), technicalSpecs))
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
