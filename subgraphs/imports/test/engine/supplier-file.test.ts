import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  BAD_ROW_KINDS,
  generateDemoData,
  type SupplierFileFormat,
  type SupplierRow,
  supplierFileConfig,
  supplierRows,
  writeSupplierFile,
} from '@pm/seed'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  compileImport,
  type ImportRow,
  openSource,
  validateImportConfig,
  validateMapping,
} from '../../src/engine'

/** A full collection on demand, so heap samples count live objects rather than garbage not yet collected. */
v8.setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pm-supplier-file-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/** What the catalogue should receive for a good generated row. */
function expected(row: SupplierRow): ImportRow {
  const out: ImportRow = {
    ean: row.ean,
    sku: row.sku,
    title: row.title,
    brand: row.brand,
    category: row.category,
    price: row.price,
    retailPrice: row.retailPrice,
    stockQuantity: row.stockQuantity,
    warehouse: row.warehouse,
    weight: row.weight,
    technicalSpecs: { color: row.color },
  }
  if (row.description) out.description = row.description
  if (row.imageUrls.length) out.imageUrls = row.imageUrls
  return out
}

const CASES: [SupplierFileFormat, 'utf-8' | 'windows-1252', 'fr' | 'en'][] = [
  ['csv', 'utf-8', 'fr'],
  ['csv', 'windows-1252', 'fr'],
  ['csv', 'utf-8', 'en'],
  ['xlsx', 'utf-8', 'fr'],
  ['json', 'utf-8', 'fr'],
  ['jsonl', 'utf-8', 'en'],
  ['xml', 'utf-8', 'fr'],
  ['xml', 'windows-1252', 'fr'],
]

describe('generated supplier files and the engine agree', () => {
  it.each(CASES)(
    '%s (%s, %s): every good row maps as generated, exactly the bad rows fail',
    async (format, encoding, locale) => {
      const rows = 1500
      const options = { rows, format, encoding, locale, badShare: 0.02, seed: 7 }
      const path = join(dir, `file-${encoding}-${locale}.${format}`)
      const written = await writeSupplierFile(path, options)
      expect(written.badRows).toHaveLength(30)

      const source = await openSource(createReadStream(path), { filename: path })
      expect(source.format).toBe(format)
      const compiled = compileImport(supplierFileConfig(format, locale))
      const generated = supplierRows(options)
      const failed: number[] = []
      let count = 0
      for await (const record of source.records) {
        const row = generated.next().value as SupplierRow
        expect(record.rowNumber).toBe(row.rowNumber)
        const out = compiled.map(record)
        count++
        if (row.bad) {
          failed.push(record.rowNumber)
          expect(out.row, `row ${row.rowNumber} (${row.bad}) should fail`).toBeUndefined()
          expect(out.issues).toContainEqual(expect.objectContaining(BAD_ROW_KINDS[row.bad]))
        } else {
          expect(out.issues, `row ${row.rowNumber}`).toEqual([])
          expect(out.row).toEqual(expected(row))
        }
      }
      expect(count).toBe(rows)
      expect(failed).toEqual(written.badRows.map((b) => b.rowNumber))
      if (format === 'csv' || format === 'xml') {
        expect(source.encoding).toBe(encoding === 'utf-8' ? 'UTF-8' : 'Windows-1252')
      }
    },
  )

  it('keeps memory bounded while 200,000 rows stream through the parser and the mapping', async () => {
    const rows = 200_000
    const pipe = new PassThrough({ highWaterMark: 256 * 1024 })
    const writing = writeSupplierFile(pipe, { rows, format: 'csv', seed: 3 }).then((r) => {
      pipe.end()
      return r
    })
    const source = await openSource(pipe, { filename: 'big.csv' })
    const compiled = compileImport(supplierFileConfig('csv'))
    gc()
    const base = process.memoryUsage().heapUsed
    let peak = base
    let ok = 0
    let failed = 0
    for await (const record of source.records) {
      const out = compiled.map(record)
      if (out.row) ok++
      else failed++
      if (record.rowNumber % 20_000 === 0) {
        gc()
        peak = Math.max(peak, process.memoryUsage().heapUsed)
      }
    }
    const result = await writing
    expect(ok + failed).toBe(rows)
    expect(failed).toBe(result.badRows.length)
    // About 45 MB of CSV went through; what the heap keeps (after collection) is a few chunks, not the file.
    const growth = peak - base
    console.log(`live heap growth while streaming ${rows} rows: ${(growth / 1024 / 1024).toFixed(1)} MiB`)
    expect(growth).toBeLessThan(24 * 1024 * 1024)
  })
})

describe('the demo seed', () => {
  it('stores import configurations and mapping templates the engine accepts', () => {
    const data = generateDemoData({ products: 30, seed: 5, now: new Date('2026-12-01T00:00:00Z') })
    expect(data.rows.imports.import_configs.length).toBeGreaterThan(0)
    for (const config of data.rows.imports.import_configs) {
      validateImportConfig({
        fieldMapping: config.field_mapping,
        transformationRules: config.transformation_rules,
        validationRules: config.validation_rules,
      })
    }
    for (const template of data.rows.imports.mapping_templates) validateMapping(template.field_mapping)
  })
})
