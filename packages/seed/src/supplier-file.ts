import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import ExcelJS from 'exceljs'
import iconv from 'iconv-lite'
import { fixed, gtinCheckDigit, Random } from './random'

/**
 * Supplier files for import tests and benchmarks: any number of rows, streamed (never the whole file in
 * memory), in every format the importer reads, with a known share of bad rows. Deterministic for a seed.
 */

export type SupplierFileFormat = 'csv' | 'xlsx' | 'json' | 'jsonl' | 'xml'
export const SUPPLIER_FILE_FORMATS: readonly SupplierFileFormat[] = ['csv', 'xlsx', 'json', 'jsonl', 'xml']

/** What makes a bad row bad, and the rule of the import configuration below that refuses it. */
export const BAD_ROW_KINDS = {
  ean: { field: 'ean', rule: 'ean' }, // a wrong check digit
  title: { field: 'title', rule: 'required' }, // no title
  negativePrice: { field: 'price', rule: 'negative' },
  textPrice: { field: 'price', rule: 'number' }, // "12,5O": a letter O for a zero
} as const
export type BadRowKind = keyof typeof BAD_ROW_KINDS
const KINDS = Object.keys(BAD_ROW_KINDS) as BadRowKind[]

export interface SupplierFileOptions {
  rows: number
  format: SupplierFileFormat
  /** Share of bad rows, spread evenly: exactly floor(rows × badShare) of them. Default 0.01. */
  badShare?: number
  /** csv and xml: 'utf-8' (default) or 'windows-1252'. */
  encoding?: 'utf-8' | 'windows-1252'
  /** How numbers are written: 'fr' (default; "1 234,50", ";" between CSV columns) or 'en' ("1234.50", ","). */
  locale?: 'fr' | 'en'
  seed?: number
}

/** One generated product row as the catalogue should receive it (decimals canonical), and whether it is bad. */
export interface SupplierRow {
  rowNumber: number
  sku: string
  ean: string
  title: string
  description: string
  brand: string
  category: string
  price: string
  retailPrice: string
  stockQuantity: number
  warehouse: string
  weight: string
  color: string
  imageUrls: string[]
  bad?: BadRowKind
}

/** The columns as a CSV or XLSX header names them; JSON and XML use the ASCII keys. */
const COLUMNS = [
  ['EAN', 'EAN'],
  ['Reference', 'Référence'],
  ['Designation', 'Désignation'],
  ['Description', 'Description'],
  ['Marque', 'Marque'],
  ['Categorie', 'Catégorie'],
  ['PrixHT', 'Prix HT'],
  ['PrixTTC', 'Prix public TTC'],
  ['Stock', 'Stock'],
  ['Entrepot', 'Entrepôt'],
  ['Poids', 'Poids (kg)'],
  ['Couleur', 'Couleur'],
  ['Images', 'Images'],
] as const

const FIELDS: Record<(typeof COLUMNS)[number][0], string> = {
  EAN: 'ean',
  Reference: 'sku',
  Designation: 'title',
  Description: 'description',
  Marque: 'brand',
  Categorie: 'category',
  PrixHT: 'price',
  PrixTTC: 'retail_price',
  Stock: 'quantity',
  Entrepot: 'warehouse',
  Poids: 'weight',
  Couleur: 'technical_specs.color',
  Images: 'image_url',
}

const MAX_IMAGES = 3

/**
 * The import configuration that reads a generated file: the field mapping for its format (JSON's image array
 * becomes Images.0…; XML's repeated <Image> Image, Image.2…), numbers in the file's locale, image URLs split
 * on "|", and a title required.
 */
export function supplierFileConfig(format: SupplierFileFormat, locale: 'fr' | 'en' = 'fr') {
  const fieldMapping: Record<string, string> = {}
  for (const [key, header] of COLUMNS) {
    const target = FIELDS[key]
    if (key === 'Images' && (format === 'json' || format === 'jsonl')) {
      for (let i = 0; i < MAX_IMAGES; i++) fieldMapping[`Images.${i}`] = target
    } else if (key === 'Images' && format === 'xml') {
      fieldMapping.Image = target
      for (let i = 2; i <= MAX_IMAGES; i++) fieldMapping[`Image.${i}`] = target
    } else if (key === 'Reference' && format === 'xml') {
      fieldMapping['produit@reference'] = target
    } else {
      fieldMapping[format === 'csv' || format === 'xlsx' ? header : key] = target
    }
  }
  return {
    fieldMapping,
    transformationRules: [
      { field: 'price', op: 'number', locale },
      { field: 'retail_price', op: 'number', locale },
      { field: 'weight', op: 'number', locale },
      { field: 'image_url', op: 'split', separator: '|' },
      { field: 'title', op: 'trim' },
    ],
    validationRules: [
      { field: 'title', rule: 'required' },
      { field: 'ean', rule: 'required' },
    ],
  }
}

const ADJECTIVES = [
  'Robuste',
  'Élégant',
  'Compact',
  'Léger',
  'Étanche',
  'Pliable',
  'Brossé',
  'Réglable',
  'Épais',
]
const NOUNS = ['Perceuse', 'Théière', 'Lampe', 'Chaise', 'Sac à dos', 'Casserole', 'Tournevis', 'Bouilloire']
const BRANDS = [
  'Crèmerie Dupré',
  'Bosch',
  'Le Creuset',
  'Moulinex',
  'Façonnier',
  'Peugeot Saveurs',
  'Émile Henry',
]
const CATEGORIES = ['Maison > Cuisine', 'Bricolage > Outillage', 'Jardin', 'Électroménager', 'Décoration']
const COLORS = ['rouge', 'bleu', 'vert', 'noir', 'blanc cassé', 'châtaigne']
const WAREHOUSES = ['PARIS-01', 'LYON-02', 'LILLE-03']

/** The rows of a file, one at a time. */
export function* supplierRows(o: Omit<SupplierFileOptions, 'format'>): Generator<SupplierRow> {
  const rows = o.rows
  const share = o.badShare ?? 0.01
  if (!Number.isSafeInteger(rows) || rows < 0)
    throw new RangeError(`rows must be a non-negative integer, got ${rows}`)
  if (!(share >= 0 && share <= 1)) throw new RangeError(`badShare must be between 0 and 1, got ${share}`)
  const seed = o.seed ?? 42
  const rng = new Random(`supplier-file:${seed}`)
  let bad = 0
  for (let i = 1; i <= rows; i++) {
    const body = `37${String(seed % 100).padStart(2, '0')}${String(i).padStart(8, '0')}`
    const ean = body + gtinCheckDigit(body)
    const priceCents = rng.int(50, 250_000)
    const retailCents = Math.round(priceCents * 1.2)
    const row: SupplierRow = {
      rowNumber: i,
      sku: `SUP-${String(i).padStart(8, '0')}`,
      ean,
      title: `${rng.pick(NOUNS)} ${rng.pick(ADJECTIVES).toLowerCase()} n°${i}`,
      description: rng.chance(0.3)
        ? `Modèle « ${rng.alnum(6)} », garantie ${rng.int(1, 5)} ans; livré monté`
        : '',
      brand: rng.pick(BRANDS),
      category: rng.pick(CATEGORIES),
      price: fixed(priceCents, 2),
      retailPrice: fixed(retailCents, 2),
      stockQuantity: rng.int(0, 2000),
      warehouse: rng.pick(WAREHOUSES),
      weight: fixed(rng.int(1, 25_000), 3),
      color: rng.pick(COLORS),
      imageUrls: Array.from(
        { length: rng.int(0, MAX_IMAGES) },
        (_, k) => `https://images.supplier.example/${ean}/${k + 1}.jpg`,
      ),
    }
    // Exactly floor(rows × share) bad rows, evenly spread, kinds in turn.
    if (Math.floor(i * share) > Math.floor((i - 1) * share)) row.bad = KINDS[bad++ % KINDS.length]
    yield row
  }
}

/** A decimal as the locale writes it: fr "1 234,50" (a no-break space between thousands), en "1234.50". */
function localeNumber(canonical: string, locale: 'fr' | 'en'): string {
  if (locale === 'en') return canonical
  const [whole, fraction] = canonical.split('.') as [string, string | undefined]
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0')
  return fraction === undefined ? grouped : `${grouped},${fraction}`
}

/** The cells of a row as the file writes them, bad values included. */
function cellsOf(
  row: SupplierRow,
  locale: 'fr' | 'en',
): Record<(typeof COLUMNS)[number][0], string | string[]> {
  const cells = {
    EAN: row.ean,
    Reference: row.sku,
    Designation: row.title,
    Description: row.description,
    Marque: row.brand,
    Categorie: row.category,
    PrixHT: localeNumber(row.price, locale),
    PrixTTC: localeNumber(row.retailPrice, locale),
    Stock: String(row.stockQuantity),
    Entrepot: row.warehouse,
    Poids: localeNumber(row.weight, locale),
    Couleur: row.color,
    Images: row.imageUrls as string | string[],
  }
  switch (row.bad) {
    case 'ean':
      cells.EAN = row.ean.slice(0, 12) + ((Number(row.ean[12]) + 1) % 10)
      break
    case 'title':
      cells.Designation = ''
      break
    case 'negativePrice':
      cells.PrixHT = `-${cells.PrixHT}`
      break
    case 'textPrice':
      cells.PrixHT = locale === 'fr' ? '12,5O' : '12.5O'
      break
  }
  return cells
}

/** Writes text with backpressure, encoded. */
class TextSink {
  constructor(
    private readonly out: Writable,
    private readonly encoding: 'utf-8' | 'windows-1252',
  ) {}
  private parts: string[] = []
  private size = 0
  bytes = 0

  async write(text: string) {
    this.parts.push(text)
    this.size += text.length
    if (this.size >= 64 * 1024) await this.flush()
  }

  async flush() {
    if (this.parts.length === 0) return
    const text = this.parts.join('')
    this.parts = []
    this.size = 0
    const buf = this.encoding === 'utf-8' ? Buffer.from(text) : iconv.encode(text, 'windows-1252')
    this.bytes += buf.length
    if (!this.out.write(buf)) await once(this.out, 'drain')
  }
}

function csvCell(value: string, delimiter: string): string {
  return value.includes(delimiter) || value.includes('"') || value.includes('\n') || value.includes('\r')
    ? `"${value.replaceAll('"', '""')}"`
    : value
}

const xmlText = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
const xmlAttr = (s: string) => xmlText(s).replaceAll('"', '&quot;')

export interface SupplierFileResult {
  rows: number
  /** Row numbers of the bad rows, with their kind. */
  badRows: { rowNumber: number; kind: BadRowKind }[]
  bytes: number
}

/** Writes a supplier file to `out` (a path or a stream, left open) and says which rows are bad. */
export async function writeSupplierFile(
  out: string | Writable,
  o: SupplierFileOptions,
): Promise<SupplierFileResult> {
  const locale = o.locale ?? 'fr'
  const encoding = o.encoding ?? 'utf-8'
  if (encoding !== 'utf-8' && o.format !== 'csv' && o.format !== 'xml') {
    throw new RangeError(`encoding ${encoding} applies to csv and xml; ${o.format} is UTF-8`)
  }
  const stream = typeof out === 'string' ? createWriteStream(out) : out
  const badRows: SupplierFileResult['badRows'] = []
  let bytes = 0
  let rows = 0
  const note = (row: SupplierRow) => {
    rows++
    if (row.bad) badRows.push({ rowNumber: row.rowNumber, kind: row.bad })
  }
  try {
    if (o.format === 'xlsx') {
      const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
        stream,
        useSharedStrings: false,
        useStyles: false,
      })
      const sheet = workbook.addWorksheet('Catalogue')
      sheet.addRow(COLUMNS.map(([, header]) => header)).commit()
      for (const row of supplierRows(o)) {
        note(row)
        const cells = cellsOf(row, 'en')
        const number = (v: string) => (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v)
        sheet
          .addRow(
            COLUMNS.map(([key]) => {
              const v = cells[key]
              if (Array.isArray(v)) return v.join('|')
              if (key === 'PrixHT' || key === 'PrixTTC' || key === 'Poids' || key === 'Stock')
                return number(v)
              return v
            }),
          )
          .commit()
        // Lets the zip stream drain between rows.
        if (rows % 1000 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      sheet.commit()
      await workbook.commit()
    } else {
      const sink = new TextSink(stream, encoding)
      const delimiter = locale === 'fr' ? ';' : ','
      const charset = encoding === 'utf-8' ? 'UTF-8' : 'windows-1252'
      if (o.format === 'csv')
        await sink.write(`${COLUMNS.map(([, h]) => csvCell(h, delimiter)).join(delimiter)}\r\n`)
      if (o.format === 'json') await sink.write('[\n')
      if (o.format === 'xml') await sink.write(`<?xml version="1.0" encoding="${charset}"?>\n<catalogue>\n`)
      let first = true
      for (const row of supplierRows(o)) {
        note(row)
        const cells = cellsOf(row, locale)
        switch (o.format) {
          case 'csv':
            await sink.write(
              `${COLUMNS.map(([key]) => {
                const v = cells[key]
                return csvCell(Array.isArray(v) ? v.join('|') : v, delimiter)
              }).join(delimiter)}\r\n`,
            )
            break
          case 'json':
          case 'jsonl': {
            const object: Record<string, unknown> = {}
            for (const [key] of COLUMNS) {
              const v = cells[key]
              if (key === 'Stock') object[key] = /^\d+$/.test(v as string) ? Number(v) : v
              else if (v !== '' && !(Array.isArray(v) && v.length === 0)) object[key] = v
            }
            const line = JSON.stringify(object)
            await sink.write(o.format === 'json' ? `${first ? '' : ',\n'}${line}` : `${line}\n`)
            break
          }
          case 'xml': {
            let xml = `<produit reference="${xmlAttr(cells.Reference as string)}">`
            for (const [key] of COLUMNS) {
              if (key === 'Reference') continue
              const v = cells[key]
              if (Array.isArray(v)) for (const url of v) xml += `<Image>${xmlText(url)}</Image>`
              else xml += `<${key}>${xmlText(v)}</${key}>`
            }
            await sink.write(`${xml}</produit>\n`)
            break
          }
        }
        first = false
      }
      if (o.format === 'json') await sink.write('\n]\n')
      if (o.format === 'xml') await sink.write('</catalogue>\n')
      await sink.flush()
      bytes = sink.bytes
    }
  } finally {
    if (typeof out === 'string') {
      stream.end()
      await once(stream, 'close')
    }
  }
  if (o.format === 'xlsx' && typeof out === 'string') {
    const { stat } = await import('node:fs/promises')
    bytes = (await stat(out)).size
  }
  return { rows, badRows, bytes }
}
