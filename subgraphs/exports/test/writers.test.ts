import { PassThrough } from 'node:stream'
import type { TransformationRule } from '@pm/transform'
import ExcelJS from 'exceljs'
import { describe, expect, it } from 'vitest'
import { columnKind, compileMapping, platformMapping } from '../src/engine/mapping'
import { feedWriter, typedCell } from '../src/engine/writers'

async function xlsxOf(mapping: unknown, products: Record<string, unknown>[]) {
  const compiled = compileMapping(platformMapping(mapping))
  const out = new PassThrough()
  const chunks: Buffer[] = []
  out.on('data', (c: Buffer) => chunks.push(c))
  const ended = new Promise((r) => out.on('end', r))
  const writer = feedWriter('xlsx', compiled.targets, out, { title: 't', kinds: compiled.kinds })
  for (const p of products) {
    const mapped = compiled.map({ id: 'x', ...p })
    if ('error' in mapped) throw new Error(mapped.error)
    await writer.write(mapped.row)
  }
  await writer.end()
  await ended
  const workbook = new ExcelJS.Workbook()
  await workbook.xlsx.load(new Uint8Array(Buffer.concat(chunks)).buffer)
  return workbook.worksheets[0]!
}

describe('XLSX feeds have typed cells', () => {
  it('writes prices, stock and weights as numbers, codes and dates as text, booleans as booleans', async () => {
    const sheet = await xlsxOf(
      {
        fields: [
          { source: 'sku', target: 'id' },
          { source: 'ean', target: 'gtin' },
          {
            source: 'price',
            target: 'price',
            rules: [
              { op: 'applyVat', rate: '0.2' },
              { op: 'round', decimals: 2 },
            ],
          },
          { source: 'quantity', target: 'stock' },
          { source: 'weight', target: 'weight' },
          { source: 'is_active', target: 'active' },
          { source: 'updated_at', target: 'updated' },
          {
            source: 'price',
            target: 'price_label',
            rules: [{ op: 'replace', pattern: '\\.', replacement: ',' }],
          },
          { source: 'technical_specs.volts', target: 'volts', rules: [{ op: 'number' }] },
        ],
      },
      [
        {
          sku: '00042',
          ean: '0012345678905',
          prices: [{ priceType: 'RETAIL', price: '17.50', currency: 'EUR' }],
          totalAvailableQuantity: 7,
          weight: '1.250',
          isActive: true,
          updatedAt: '2026-12-06T10:00:00.000Z',
          technicalSpecs: { volts: '18' },
        },
        { sku: '7', ean: null, prices: [], totalAvailableQuantity: 0, weight: null, isActive: false },
      ],
    )
    expect(sheet.getRow(1).values).toEqual([
      undefined,
      'id',
      'gtin',
      'price',
      'stock',
      'weight',
      'active',
      'updated',
      'price_label',
      'volts',
    ])
    const row = sheet.getRow(2)
    const cell = (i: number) => ({ type: row.getCell(i).type, value: row.getCell(i).value })
    const { ValueType } = ExcelJS
    expect(cell(1)).toEqual({ type: ValueType.String, value: '00042' })
    expect(cell(2)).toEqual({ type: ValueType.String, value: '0012345678905' })
    expect(cell(3)).toEqual({ type: ValueType.Number, value: 21 })
    expect(cell(4)).toEqual({ type: ValueType.Number, value: 7 })
    expect(cell(5)).toEqual({ type: ValueType.Number, value: 1.25 })
    expect(cell(6)).toEqual({ type: ValueType.Boolean, value: true })
    expect(cell(7)).toEqual({ type: ValueType.String, value: '2026-12-06T10:00:00.000Z' })
    expect(cell(8)).toEqual({ type: ValueType.String, value: '17,50' })
    expect(cell(9)).toEqual({ type: ValueType.Number, value: 18 })
    const second = sheet.getRow(3)
    expect(second.getCell(1)).toMatchObject({ type: ValueType.String, value: '7' })
    expect(second.getCell(3).type).toBe(ValueType.Null)
    expect(second.getCell(4)).toMatchObject({ type: ValueType.Number, value: 0 })
    expect(second.getCell(6)).toMatchObject({ type: ValueType.Boolean, value: false })
  })

  it('streams a large sheet with text that needs escaping, and an empty one with its header only', async () => {
    const titles = (i: number) => `<b>Perceuse & "visseuse"</b> n°${i}\u0001 été  `
    const rows = Array.from({ length: 5_000 }, (_, i) => ({
      sku: `S-${i}`,
      title: titles(i),
      prices: [{ priceType: 'RETAIL', price: `${i}.25`, currency: 'EUR' }],
    }))
    const mapping = {
      fields: [
        { source: 'sku', target: 'id' },
        { source: 'title', target: 'title' },
        { source: 'price', target: 'price' },
      ],
    }
    const sheet = await xlsxOf(mapping, rows)
    expect(sheet.rowCount).toBe(5_001)
    const last = sheet.getRow(5_001)
    expect(last.getCell(1).value).toBe('S-4999')
    // XML specials kept, the control character (not allowed in XML) dropped, spaces preserved.
    expect(last.getCell(2).value).toBe('<b>Perceuse & "visseuse"</b> n°4999 été  ')
    expect(last.getCell(3).value).toBe(4999.25)
    const empty = await xlsxOf(mapping, [])
    expect(empty.rowCount).toBe(1)
    expect(empty.getRow(1).values).toEqual([undefined, 'id', 'title', 'price'])
  })

  it('keeps as text a number column value a spreadsheet would change', () => {
    expect(typedCell('12.5', 'number')).toBe(12.5)
    expect(typedCell('-0.5', 'number')).toBe(-0.5)
    expect(typedCell('007', 'number')).toBe('007')
    expect(typedCell('1e3', 'number')).toBe('1e3')
    expect(typedCell('12,50', 'number')).toBe('12,50')
    expect(typedCell('1234567890123456.5', 'number')).toBe('1234567890123456.5')
    expect(typedCell('0012345678905', 'text')).toBe('0012345678905')
    expect(typedCell('', 'number')).toBeNull()
    expect(typedCell('yes', 'boolean')).toBe('yes')
  })

  it('a column takes its kind from its source, as its rules leave it', () => {
    const kind = (source: string, rules: TransformationRule[] = []) =>
      columnKind({ source, target: 't', rules })
    expect(kind('price')).toBe('number')
    expect(kind('ean')).toBe('text')
    expect(kind('quantity', [{ op: 'default' }])).toBe('number')
    expect(kind('price', [{ op: 'truncate' }])).toBe('text')
    expect(kind('title', [{ op: 'number' }, { op: 'round' }])).toBe('number')
    expect(kind('created_at')).toBe('text')
  })
})
