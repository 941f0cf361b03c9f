import type { ImportRow } from './types'

/** How a target field's value is checked and converted before it leaves the engine. */
export type FieldKind =
  | 'text'
  | 'ean'
  | 'gtin'
  | 'upc'
  | 'asin'
  | 'decimal'
  | 'integer'
  | 'boolean'
  | 'currency'
  | 'urls'

export interface FieldSpec {
  /** The name a configuration uses ("manufacturer_reference", "technical_specs.color"). */
  name: string
  /** Where it goes in an ImportRow. */
  key: keyof ImportRow
  kind: FieldKind
  /** text: the column's VARCHAR length. */
  max?: number
  /** decimal: NUMERIC(precision, scale). */
  precision?: number
  scale?: number
}

const text = (key: keyof ImportRow, max: number) => ({ key, kind: 'text' as const, max })
const decimal = (key: keyof ImportRow, scale: number) => ({
  key,
  kind: 'decimal' as const,
  precision: 10,
  scale,
})

/** The product fields a source column can feed (catalog's products, prices and stock), by configuration name. */
const SPECS: Record<string, Omit<FieldSpec, 'name'>> = {
  ean: { key: 'ean', kind: 'ean' },
  asin: { key: 'asin', kind: 'asin' },
  sku: text('sku', 100),
  upc: { key: 'upc', kind: 'upc' },
  gtin: { key: 'gtin', kind: 'gtin' },
  manufacturer_reference: text('manufacturerReference', 100),
  external_id: text('externalId', 255),
  title: text('title', 500),
  // What catalog takes (products.description is TEXT; catalog bounds it at 50,000 characters).
  description: text('description', 50_000),
  short_description: text('shortDescription', 500),
  brand: text('brand', 255),
  category: text('category', 255),
  status: text('status', 50),
  is_active: { key: 'isActive', kind: 'boolean' },
  weight: decimal('weight', 3),
  width: decimal('width', 2),
  height: decimal('height', 2),
  depth: decimal('depth', 2),
  price: decimal('price', 2),
  cost: decimal('cost', 2),
  retail_price: decimal('retailPrice', 2),
  currency: { key: 'currency', kind: 'currency' },
  quantity: { key: 'stockQuantity', kind: 'integer' },
  min_stock: { key: 'minStock', kind: 'integer' },
  warehouse: text('warehouse', 100),
  image_url: { key: 'imageUrls', kind: 'urls' },
}

export const TARGET_FIELDS = Object.keys(SPECS)

const SPEC_FIELD = /^technical_specs\.([a-z0-9_]{1,64})$/

/** The spec of a target field name, or undefined when it is not one. */
export function fieldSpec(name: string): FieldSpec | undefined {
  const known = SPECS[name]
  if (known) return { name, ...known }
  if (SPEC_FIELD.test(name)) return { name, key: 'technicalSpecs', kind: 'text', max: 2000 }
  return undefined
}

/** The fields that identify a product: a mapping must feed one of them. */
export const IDENTIFIER_FIELDS = ['sku', 'ean'] as const

/** Fields several columns may feed (their values are appended in mapping order). */
export const MULTI_COLUMN_FIELDS = ['image_url']
