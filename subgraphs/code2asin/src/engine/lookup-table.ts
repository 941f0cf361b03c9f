import type { CatalogProvider, IdentifierType } from './provider'
import { ProviderError } from './provider'
import { type CatalogItem, gtin14 } from './scoring'

/** A lookup table a user uploads instead of Amazon: EAN (or UPC/GTIN) → ASIN, with optional title and brand. */
export interface LookupTableConfig {
  kind: 'lookup_table'
  /** The upload (POST /uploads) holding the table. */
  uploadId: string
}

export interface LookupEntry {
  asin: string
  title: string | null
  brand: string | null
  /** The table's line (CSV, from 1 with the header) or element (JSON, from 1). */
  line: number
}

/** Lines (or elements) a table may hold. */
export const MAX_TABLE_ROWS = 1_000_000
const ASIN = /^[A-Z0-9]{10}$/

const invalid = (message: string) => new ProviderError('LOOKUP_TABLE_INVALID', message, true)

/** Splits one CSV line (quotes as RFC 4180). */
function splitCsv(line: string, delimiter: string): string[] {
  const out: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === delimiter) {
      out.push(cell)
      cell = ''
    } else cell += c
  }
  out.push(cell)
  return out.map((s) => s.trim())
}

type RawRow = { ean: unknown; asin: unknown; title?: unknown; brand?: unknown; line: number }

function csvRows(text: string): RawRow[] {
  const lines = text.split(/\r?\n/)
  const header = lines[0] ?? ''
  const delimiter = [';', '\t', ','].find((d) => header.includes(d)) ?? ','
  const names = splitCsv(header, delimiter).map((h) => h.toLowerCase())
  const col = (...aliases: string[]) => names.findIndex((n) => aliases.includes(n))
  const ean = col('ean', 'ean13', 'gtin', 'upc', 'code', 'barcode')
  const asin = col('asin')
  if (ean < 0 || asin < 0) {
    throw invalid('the lookup table needs a header line with an "ean" column and an "asin" column')
  }
  const title = col('title', 'titre', 'name')
  const brand = col('brand', 'marque')
  const rows: RawRow[] = []
  for (let i = 1; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue
    const cells = splitCsv(lines[i]!, delimiter)
    rows.push({
      ean: cells[ean],
      asin: cells[asin],
      title: title >= 0 ? cells[title] : undefined,
      brand: brand >= 0 ? cells[brand] : undefined,
      line: i + 1,
    })
  }
  return rows
}

function jsonRows(text: string): RawRow[] {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw invalid('the lookup table is not valid JSON')
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => {
      if (typeof v !== 'object' || v === null)
        throw invalid(`element ${i + 1}: an object { ean, asin } is expected`)
      const o = v as Record<string, unknown>
      return { ean: o.ean ?? o.gtin ?? o.upc, asin: o.asin, title: o.title, brand: o.brand, line: i + 1 }
    })
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).map(([ean, asin], i) => ({ ean, asin, line: i + 1 }))
  }
  throw invalid('the lookup table must be a JSON array of { ean, asin } or an object { "<ean>": "<asin>" }')
}

/**
 * Reads a lookup table: CSV (header with ean and asin columns, optional title and brand; `,`, `;` or tab) or
 * JSON. Codes are compared as GTIN-14. The same code twice with the same ASIN is kept once; the same code with
 * two different ASINs refuses the whole table (LOOKUP_TABLE_DUPLICATE, naming the code and both lines), as does
 * a line with a code or an ASIN that is not one (LOOKUP_TABLE_INVALID, naming the line).
 */
export function parseLookupTable(text: string, fileName = ''): Map<string, LookupEntry> {
  const body = text.replace(/^\uFEFF/, '')
  const isJson = /\.json$/i.test(fileName) || /^\s*[[{]/.test(body)
  const rows = isJson ? jsonRows(body) : csvRows(body)
  if (rows.length > MAX_TABLE_ROWS) throw invalid(`the lookup table has more than ${MAX_TABLE_ROWS} rows`)
  const where = isJson ? 'element' : 'line'
  const table = new Map<string, LookupEntry>()
  for (const row of rows) {
    const code = gtin14(typeof row.ean === 'number' ? String(row.ean) : (row.ean as string | undefined))
    if (!code)
      throw invalid(
        `${where} ${row.line}: "${String(row.ean ?? '').slice(0, 40)}" is not an EAN, UPC or GTIN`,
      )
    const asin = typeof row.asin === 'string' ? row.asin.trim().toUpperCase() : ''
    if (!ASIN.test(asin))
      throw invalid(`${where} ${row.line}: "${String(row.asin ?? '').slice(0, 40)}" is not an ASIN`)
    const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 500) : null)
    const earlier = table.get(code)
    if (earlier && earlier.asin !== asin) {
      throw new ProviderError(
        'LOOKUP_TABLE_DUPLICATE',
        `code ${code.replace(/^0+(?=\d{13})/, '')} has two ASINs: ${earlier.asin} (${where} ${earlier.line}) and ${asin} (${where} ${row.line}); keep one`,
        true,
      )
    }
    if (!earlier) table.set(code, { asin, title: text(row.title), brand: text(row.brand), line: row.line })
  }
  if (table.size === 0) throw invalid('the lookup table has no rows')
  return table
}

/** Answers identifier searches from a parsed lookup table; it has nothing to offer a keyword search. */
export class LookupTableProvider implements CatalogProvider {
  readonly maxIdentifiers = 1_000
  readonly keywordSearch = false
  private requests = 0

  constructor(private readonly table: Map<string, LookupEntry>) {}

  stats() {
    return { requests: this.requests, retries: 0 }
  }

  async searchByIdentifiers(type: IdentifierType, codes: readonly string[]): Promise<CatalogItem[]> {
    this.requests++
    const items: CatalogItem[] = []
    for (const code of codes) {
      const key = gtin14(code)
      const entry = key ? this.table.get(key) : undefined
      if (!entry) continue
      items.push({
        asin: entry.asin,
        title: entry.title,
        brand: entry.brand,
        manufacturer: null,
        modelNumber: null,
        identifiers: [{ type, value: code }],
        images: [],
        salesRank: null,
        marketplaceId: null,
        category: null,
      })
    }
    return items
  }

  async searchByKeywords(): Promise<CatalogItem[]> {
    return []
  }
}
