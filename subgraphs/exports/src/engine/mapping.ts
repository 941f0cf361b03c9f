import {
  checkRuleOp,
  fail,
  object,
  onlyKeys,
  RuleConfigError,
  RuleFailure,
  ruleList,
  string,
  type TransformationRule,
  transformation,
} from '@pm/transform'

/**
 * What a feed can carry: the product fields read through the graph (catalog, prices, stock, media, ASIN),
 * by source name, each with the part of the products query that fetches it and how its value is read.
 */
export interface GraphProduct {
  id: string
  [field: string]: unknown
}

/**
 * What a column holds, for formats with typed cells (XLSX): numbers are written as numeric cells, booleans as
 * booleans, the rest as text (codes such as an EAN keep their leading zeros; dates are ISO 8601 text).
 */
export type ColumnKind = 'number' | 'boolean' | 'text'

interface SourceField {
  /** The selection under `node` that brings the value. */
  selection: string
  read: (p: GraphProduct) => unknown
  kind?: ColumnKind
}

const own = (field: string, kind?: ColumnKind): SourceField => ({
  selection: field,
  read: (p) => p[field],
  ...(kind ? { kind } : {}),
})
const named = (field: string): SourceField => ({
  selection: `${field} { name }`,
  read: (p) => (p[field] as { name?: string } | null)?.name,
})

type Price = { priceType: string; price: string; currency: string | null }
const pricesSelection = 'prices { priceType price currency }'
/** The retail price when there is one, else the first active price. */
const mainPrice = (p: GraphProduct): Price | undefined => {
  const prices = (p.prices as Price[] | undefined) ?? []
  return prices.find((x) => x.priceType === 'RETAIL') ?? prices[0]
}
/** type: the PriceType enum name (RETAIL). */
const priceOfType = (type: string): SourceField => ({
  selection: pricesSelection,
  kind: 'number',
  read: (p) => ((p.prices as Price[] | undefined) ?? []).find((x) => x.priceType === type)?.price,
})

export const SOURCE_FIELDS: Record<string, SourceField> = {
  id: own('id'),
  sku: own('sku'),
  ean: own('ean'),
  upc: own('upc'),
  gtin: own('gtin'),
  asin: {
    selection: 'asin bestAsinMatch { asin }',
    read: (p) => p.asin ?? (p.bestAsinMatch as { asin?: string } | null)?.asin,
  },
  manufacturer_reference: own('manufacturerReference'),
  external_id: own('externalId'),
  title: own('title'),
  description: own('description'),
  short_description: own('shortDescription'),
  // The stored value ('out_of_stock'), as feeds always carried it, not the API's enum name.
  status: { selection: 'status', read: (p) => (p.status as string | null | undefined)?.toLowerCase() },
  is_active: own('isActive', 'boolean'),
  weight: own('weight', 'number'),
  width: own('width', 'number'),
  height: own('height', 'number'),
  depth: own('depth', 'number'),
  created_at: own('createdAt'),
  updated_at: own('updatedAt'),
  brand: named('brand'),
  category: named('category'),
  supplier: named('supplier'),
  price: { selection: pricesSelection, read: (p) => mainPrice(p)?.price, kind: 'number' },
  currency: { selection: pricesSelection, read: (p) => mainPrice(p)?.currency },
  retail_price: priceOfType('RETAIL'),
  wholesale_price: priceOfType('WHOLESALE'),
  promo_price: priceOfType('PROMO'),
  quantity: own('totalAvailableQuantity', 'number'),
  image_url: {
    selection: 'primaryImage { storageUrl }',
    read: (p) => (p.primaryImage as { storageUrl?: string } | null)?.storageUrl,
  },
}

const SPEC_FIELD = /^technical_specs\.([A-Za-z0-9_]{1,64})$/

function sourceField(name: string): SourceField | undefined {
  const known = SOURCE_FIELDS[name]
  if (known) return known
  const spec = SPEC_FIELD.exec(name)?.[1]
  if (spec) {
    return {
      selection: 'technicalSpecs',
      read: (p) => (p.technicalSpecs as Record<string, unknown> | null)?.[spec],
    }
  }
  return undefined
}

export interface FieldMappingEntry {
  /** The product field read (a SOURCE_FIELDS name or technical_specs.<name>). */
  source: string
  /** The name the platform knows it by: a CSV header, an XML element, a JSON key (dots nest: images.0.src). */
  target: string
  rules: TransformationRule[]
}

export interface ExportMapping {
  fields: FieldMappingEntry[]
}

/** A platform with no mapping exports these fields under their own names. */
export const DEFAULT_MAPPING: ExportMapping = {
  fields: ['id', 'sku', 'ean', 'title', 'price', 'currency', 'quantity', 'image_url', 'asin'].map((f) => ({
    source: f,
    target: f,
    rules: [],
  })),
}

const TARGET = /^[\p{L}_][\p{L}\p{N}_.:-]{0,99}$/u
const MAX_FIELDS = 200

/**
 * A platform's fieldMappings, checked when the platform is saved: `{ "fields": [{ "source", "target",
 * "rules"? }] }`, in the feed's column order. A source that is not a product field, a target used twice or a
 * rule the shared vocabulary does not know is refused, naming the path (RuleConfigError).
 */
export function checkExportMapping(value: unknown, base = 'fieldMappings'): ExportMapping {
  const root = object(base, value)
  onlyKeys(base, root, ['fields'], 'fieldMappings')
  if (!Array.isArray(root.fields))
    fail(`${base}.fields`, 'must be a list of { source, target, rules } objects')
  const list = root.fields as unknown[]
  if (list.length === 0) fail(`${base}.fields`, 'must map at least one field')
  if (list.length > MAX_FIELDS) fail(`${base}.fields`, `has more than ${MAX_FIELDS} fields`)
  const targets = new Set<string>()
  const fields = list.map((raw, i) => {
    const at = `${base}.fields[${i}]`
    const entry = object(at, raw)
    onlyKeys(at, entry, ['source', 'target', 'rules'], 'a field mapping')
    const source = string(`${at}.source`, entry.source, { max: 100, min: 1 })!
    if (!sourceField(source)) {
      fail(
        `${at}.source`,
        `: "${source}" is not a product field; use one of ${Object.keys(SOURCE_FIELDS).join(', ')} or technical_specs.<name>`,
      )
    }
    const target = string(`${at}.target`, entry.target ?? source, { max: 100, min: 1 })!
    if (!TARGET.test(target)) {
      fail(`${at}.target`, 'must start with a letter or _ and hold only letters, digits, _ . : and -')
    }
    if (targets.has(target)) fail(`${at}.target`, `: "${target}" is already the target of another field`)
    targets.add(target)
    const rules =
      entry.rules === undefined || entry.rules === null
        ? []
        : ruleList(`${at}.rules`, entry.rules).map((rule, j) => checkRuleOp(rule, `${at}.rules[${j}]`))
    return { source, target, rules }
  })
  return { fields }
}

/** The mapping stored on a platform, or the default one; a stored mapping that no longer checks throws. */
export function platformMapping(stored: unknown): ExportMapping {
  if (stored === null || stored === undefined) return DEFAULT_MAPPING
  return checkExportMapping(stored)
}

/** The selection under `node` that brings every field the mapping reads (always the id). */
export function productSelection(mapping: ExportMapping): string {
  const parts = new Set<string>(['id'])
  for (const f of mapping.fields) parts.add(sourceField(f.source)!.selection)
  return [...parts].join(' ')
}

export type Row = Record<string, string | null>

/** Rules whose result is a decimal number; `default` keeps what the column held; any other rule makes text. */
const NUMERIC_RULES = new Set(['number', 'multiply', 'divide', 'round', 'applyVat'])

/** The kind of a mapped column: its source field's, as the rules leave it. */
export function columnKind(entry: FieldMappingEntry): ColumnKind {
  let kind = sourceField(entry.source)?.kind ?? 'text'
  for (const rule of entry.rules) {
    if (NUMERIC_RULES.has(rule.op)) kind = 'number'
    else if (rule.op !== 'default') kind = 'text'
  }
  return kind
}

export interface CompiledMapping {
  targets: string[]
  /** What each target's column holds (XLSX cell types), in the order of `targets`. */
  kinds: ColumnKind[]
  /** The product's row (target → text, null when empty), or why it cannot be exported. */
  map(product: GraphProduct): { row: Row } | { error: string }
}

const text = (value: unknown): string | null => {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

export function compileMapping(mapping: ExportMapping): CompiledMapping {
  const plans = mapping.fields.map((f) => ({
    target: f.target,
    read: sourceField(f.source)!.read,
    ops: f.rules.map((rule) => ({
      rule,
      apply: rule.op === 'default' ? undefined : transformation(rule, undefined, f.target),
    })),
  }))
  return {
    targets: plans.map((p) => p.target),
    kinds: mapping.fields.map(columnKind),
    map(product) {
      const row: Row = {}
      for (const plan of plans) {
        let value: string | string[] | undefined = text(plan.read(product)) ?? undefined
        try {
          for (const { rule, apply } of plan.ops) {
            if (!apply) {
              if (value === undefined || value === '') value = String(rule.value)
              continue
            }
            if (value === undefined) continue
            const list: string[] = Array.isArray(value) ? value : [value]
            const out = list.flatMap((v) => apply(v)).filter((v): v is string => v !== undefined)
            value = Array.isArray(value) ? out : out.length <= 1 ? out[0] : out
          }
        } catch (error) {
          if (error instanceof RuleFailure)
            return { error: `${plan.target}: ${error.rule}: ${error.message}` }
          throw error
        }
        row[plan.target] = value === undefined ? null : Array.isArray(value) ? value.join(',') : value
      }
      return { row }
    },
  }
}

export { RuleConfigError }
