import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import ExcelJS from 'exceljs'
import iconv from 'iconv-lite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openSource, SourceError } from '../../src/engine'
import { readAll, streamOf, workbookOf } from './helpers'

const values = (records: { values: Record<string, string> }[]) => records.map((r) => r.values)

/** Every way of cutting `text` into chunks must read the same: one byte at a time is the harshest. */
const bytewise = (buf: Buffer) => Readable.from([...buf].map((b) => Buffer.from([b])))

async function expectSourceError(promise: Promise<unknown>, code: string, message: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e) => e,
  )
  expect(error, 'a SourceError was expected').toBeInstanceOf(SourceError)
  expect(error.code).toBe(code)
  expect(error.message).toMatch(message)
}

describe('CSV', () => {
  const text =
    'EAN;Désignation;Prix\r\n3017620422003;"Pâte ""500 g""; pot";12,50\r\n\r\n5000112637922;"deux\nlignes";1 234,50\r\n'
  const expected = [
    { EAN: '3017620422003', Désignation: 'Pâte "500 g"; pot', Prix: '12,50' },
    { EAN: '5000112637922', Désignation: 'deux\nlignes', Prix: '1 234,50' },
  ]

  it('reads quotes, escaped quotes, CRLF, embedded line breaks and skips blank lines, whatever the chunking', async () => {
    for (const input of [streamOf(text), bytewise(Buffer.from(text))]) {
      const { source, records } = await readAll(input, { filename: 'f.csv' })
      expect(source).toMatchObject({ format: 'csv', encoding: 'UTF-8', delimiter: ';' })
      expect(source.columns()).toEqual(['EAN', 'Désignation', 'Prix'])
      expect(values(records)).toEqual(expected)
      expect(records.map((r) => r.rowNumber)).toEqual([1, 2])
    }
  })

  it.each([
    [',', 'a,b,c\n1,"x,y",3\n'],
    ['\t', 'a\tb\tc\n1\tx,y\t3\n'],
    ['|', 'a|b|c\n1|x,y|3\n'],
    [';', 'a;b;c\r1;x,y;3\r'],
  ])('detects the delimiter %j from the first line', async (delimiter, csv) => {
    const { source, records } = await readAll(streamOf(csv))
    expect(source.delimiter).toBe(delimiter)
    expect(values(records)).toEqual([{ a: '1', b: 'x,y', c: '3' }])
  })

  it('uses the given delimiter and names columns by position without a header', async () => {
    const { records, source } = await readAll(streamOf('1,5;2\n3;4'), {
      delimiter: ';',
      hasHeader: false,
      format: 'csv',
    })
    expect(source.columns()).toEqual(['1', '2'])
    expect(values(records)).toEqual([
      { 1: '1,5', 2: '2' },
      { 1: '3', 2: '4' },
    ])
  })

  it('reads a Windows-1252 file (detected) and the same file declared ISO-8859-1', async () => {
    const bytes = iconv.encode('Réf;Désignation;Prix\nA1;Crème brûlée €;3,50\n', 'windows-1252')
    const detected = await readAll(streamOf(bytes))
    expect(detected.source.encoding).toBe('Windows-1252')
    expect(values(detected.records)).toEqual([{ Réf: 'A1', Désignation: 'Crème brûlée €', Prix: '3,50' }])
    const latin1 = await readAll(streamOf(iconv.encode('Réf;Nom\nA1;Crème\n', 'latin1')), {
      encoding: 'latin1',
    })
    expect(latin1.source.encoding).toBe('ISO-8859-1')
    expect(values(latin1.records)).toEqual([{ Réf: 'A1', Nom: 'Crème' }])
  })

  it('honours byte-order marks: UTF-8, UTF-16LE and UTF-16BE', async () => {
    const csv = 'Réf;Nom\nA1;Été\n'
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, 'utf16le')])
    const be = Buffer.from(le)
    be.swap16()
    for (const [bytes, encoding] of [
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv)]), 'UTF-8'],
      [le, 'UTF-16LE'],
      [be, 'UTF-16BE'],
    ] as const) {
      const { source, records } = await readAll(bytewise(bytes))
      expect(source.encoding).toBe(encoding)
      expect(source.columns()).toEqual(['Réf', 'Nom'])
      expect(values(records)).toEqual([{ Réf: 'A1', Nom: 'Été' }])
    }
  })

  it('keeps Windows-1252 bytes met later in a UTF-8 file, and says so', async () => {
    const head = `Réf;Nom\n${'A;é\n'.repeat(20_000)}`
    const tail = Buffer.concat([Buffer.from('B;'), iconv.encode('Crème', 'windows-1252'), Buffer.from('\n')])
    const { source, records } = await readAll(streamOf(Buffer.from(head), tail))
    expect(source.encoding).toBe('UTF-8')
    expect(records.at(-1)!.values).toEqual({ Réf: 'B', Nom: 'Crème' })
    expect(source.warnings.join()).toMatch(/1 byte\(s\) were not valid UTF-8/)
  })

  it('fails a row with too many values or columns, not the file', async () => {
    const wide = Array.from({ length: 10_000 }, (_, i) => `v${i}`).join(';')
    const { records } = await readAll(streamOf(`a;b\n1;2\n${wide}\n3;4\n5;6;extra\n7;8;;\n`))
    expect(records.map((r) => r.issue?.rule)).toEqual([
      undefined,
      'maxColumns',
      undefined,
      'columns',
      undefined,
    ])
    expect(records[1]!.issue!.message).toContain('10000 values')
    expect(records[3]!.issue).toMatchObject({ column: '3', rawValue: 'extra' })
    expect(records[4]!.values).toEqual({ a: '7', b: '8' })
  })

  it('refuses a header wider than maxColumns', async () => {
    const header = Array.from({ length: 10_000 }, (_, i) => `c${i}`).join(',')
    const source = await openSource(streamOf(`${header}\n1,2\n`))
    await expectSourceError(
      source.records[Symbol.asyncIterator]().next(),
      'TOO_MANY_COLUMNS',
      /10000 columns/,
    )
  })

  it('renames repeated header names instead of hiding a column', async () => {
    const { source, records } = await readAll(streamOf('Prix;Prix;\n1;2;3\n'))
    expect(source.columns()).toEqual(['Prix', 'Prix (2)', '3'])
    expect(records[0]!.values).toEqual({ Prix: '1', 'Prix (2)': '2', 3: '3' })
    expect(source.warnings[0]).toContain('repeats the name "Prix"')
  })

  it('skips a line longer than maxLineBytes without buffering it, then goes on', async () => {
    const size = 64 * 1024 * 1024
    const chunk = Buffer.alloc(1024 * 1024, 'x')
    async function* huge() {
      yield Buffer.from('a;b\n1;2\n3;"')
      for (let sent = 0; sent < size; sent += chunk.length) yield chunk
      yield Buffer.from('"\n5;6\n')
    }
    const before = process.memoryUsage().heapUsed
    let peak = before
    const source = await openSource(huge(), { maxLineBytes: 1024 * 1024 })
    const records = []
    for await (const record of source.records) {
      records.push(record)
      peak = Math.max(peak, process.memoryUsage().heapUsed)
    }
    expect(records.map((r) => r.issue?.rule)).toEqual([undefined, 'maxLineBytes', undefined])
    expect(records[2]!.values).toEqual({ a: '5', b: '6' })
    // 64 MiB went through; the heap held at most a few chunks of it.
    expect(peak - before).toBeLessThan(48 * 1024 * 1024)
  })

  it('reports an unclosed quote at the end of the file on its row', async () => {
    const { records } = await readAll(streamOf('a;b\n1;"open\n2;3\n'))
    expect(records).toHaveLength(1)
    expect(records[0]!.issue).toMatchObject({ rule: 'quotes' })
  })

  it('releases the file when the reader stops early', async () => {
    const { createReadStream } = await import('node:fs')
    const { writeFile } = await import('node:fs/promises')
    const path = join(tmpdir(), `pm-early-${process.pid}.csv`)
    await writeFile(path, `a;b\n${'1;2\n'.repeat(200_000)}`)
    try {
      for (const format of ['csv', 'jsonl'] as const) {
        const stream = createReadStream(path, { highWaterMark: 16 * 1024 })
        const source = await openSource(stream, { format })
        for await (const _ of source.records) break
        expect(stream.destroyed).toBe(true)
      }
    } finally {
      await rm(path, { force: true })
    }
  })

  it('refuses binary data and other formats posing as CSV', async () => {
    const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))
    await expectSourceError(openSource(streamOf(binary), { format: 'csv' }), 'BINARY', /binary/)
    await expectSourceError(
      openSource(streamOf(Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3])), { format: 'csv' }),
      'BINARY',
      /ZIP archive/,
    )
    await expectSourceError(
      openSource(streamOf(Buffer.from([0x1f, 0x8b, 8, 0])), {}),
      'UNSUPPORTED_FORMAT',
      /gzip/,
    )
    await expectSourceError(openSource(streamOf(''), {}), 'EMPTY', /empty/)
  })
})

describe('XLSX', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-xlsx-test-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  async function workbook(useSharedStrings: boolean) {
    const filename = join(dir, `wb-${useSharedStrings}.xlsx`)
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename, useSharedStrings })
    const first = wb.addWorksheet('Notes')
    first.addRow(['not this one']).commit()
    first.commit()
    const sheet = wb.addWorksheet('Produits')
    sheet.addRow(['EAN', 'Désignation', 'Prix HT', 'Actif']).commit()
    sheet.addRow(['3017620422003', 'Pâte à tartiner', 12.5, true]).commit()
    sheet.addRow([]).commit()
    sheet
      .addRow([5000112637922, { richText: [{ text: 'Gras ' }, { text: 'et maigre' }] }, 0.1, false])
      .commit()
    sheet.commit()
    await wb.commit()
    return filename
  }

  it.each([true, false])('reads the named sheet (shared strings: %s), numbers as written', async (shared) => {
    const { createReadStream } = await import('node:fs')
    const { source, records } = await readAll(createReadStream(await workbook(shared)), {
      sheet: 'Produits',
      tempDir: dir,
    })
    expect(source.format).toBe('xlsx')
    expect(source.columns()).toEqual(['EAN', 'Désignation', 'Prix HT', 'Actif'])
    expect(records.map((r) => [r.rowNumber, r.values])).toEqual([
      [1, { EAN: '3017620422003', Désignation: 'Pâte à tartiner', 'Prix HT': '12.5', Actif: 'TRUE' }],
      [3, { EAN: '5000112637922', Désignation: 'Gras et maigre', 'Prix HT': '0.1', Actif: 'FALSE' }],
    ])
    // The spooled copy is gone once read.
    expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/^pm-xlsx-/))
  })

  it('reads the first sheet by default and names a missing one', async () => {
    const { createReadStream } = await import('node:fs')
    const path = await workbook(true)
    const { records } = await readAll(createReadStream(path), { hasHeader: false })
    expect(values(records)).toEqual([{ 1: 'not this one' }])
    await expectSourceError(
      openSource(createReadStream(path), { sheet: 'Tarifs' }),
      'NO_SHEET',
      /Notes, Produits/,
    )
  })

  it('refuses a truncated workbook with a clear error', async () => {
    const { readFile } = await import('node:fs/promises')
    const bytes = await readFile(await workbook(true))
    await expectSourceError(
      openSource(streamOf(bytes.subarray(0, Math.floor(bytes.length / 2))), { filename: 'x.xlsx' }),
      'TRUNCATED',
      /truncated or not a ZIP/,
    )
  })

  it('refuses a zip bomb before inflating it, and a part that lies about its size', async () => {
    const bomb = workbookOf('<worksheet><sheetData/></worksheet>', [
      { name: 'xl/media/bomb.bin', data: Buffer.alloc(64 * 1024 * 1024) },
    ])
    expect(bomb.length).toBeLessThan(1024 * 1024)
    await expectSourceError(openSource(streamOf(bomb)), 'TOO_LARGE', /zip bomb/)
    const sheet = `<worksheet><sheetData>${'<row><c t="inlineStr"><is><t>x</t></is></c></row>'.repeat(1000)}</sheetData></worksheet>`
    const liar = workbookOf('<worksheet/>', [], { sheet, declaredSize: 100 })
    await expectSourceError(
      (async () => {
        const source = await openSource(streamOf(liar))
        for await (const _ of source.records) {
        }
      })(),
      'MALFORMED',
      /sheet1\.xml/,
    )
    const capped = workbookOf(sheet)
    await expectSourceError(
      openSource(streamOf(capped), { maxUncompressedBytes: 10_000 }),
      'TOO_LARGE',
      /decompress/,
    )
  })

  it('refuses a sheet that is not well-formed XML and a file that is not a workbook', async () => {
    const broken = workbookOf(
      '<worksheet><sheetData><row><c t="inlineStr"><is><t>x</t></is></row></sheetData></worksheet>',
    )
    await expectSourceError(
      (async () => {
        const source = await openSource(streamOf(broken))
        for await (const _ of source.records) {
        }
      })(),
      'MALFORMED',
      /not well-formed/,
    )
    await expectSourceError(
      openSource(streamOf('a;b\n'), { format: 'xlsx' }),
      'WRONG_FORMAT',
      /no ZIP signature/,
    )
  })

  it('spills the shared strings past their memory budget and reads the same rows', async () => {
    // 3,000 strings (accents, a 70 kB one, one past maxLineBytes) referenced in order, then backwards, then
    // past the table's end.
    const strings = Array.from({ length: 3_000 }, (_, i) =>
      i === 1_500 ? 'x'.repeat(70_000) : i === 2_000 ? 'y'.repeat(1_200_000) : `s${i} ${'é'.repeat(i % 7)}`,
    )
    const sst = `<sst>${strings.map((t) => `<si><t>${t}</t></si>`).join('')}</sst>`
    const cell = (i: number) => `<c t="s"><v>${i}</v></c>`
    const rows = [
      `<row>${cell(0)}<c t="inlineStr"><is><t>n</t></is></c></row>`,
      ...strings.map((_, i) => `<row>${cell(i)}${cell(i % 5)}</row>`),
      ...strings.map((_, i) => `<row>${cell(strings.length - 1 - i)}${cell(2_999)}</row>`),
      `<row>${cell(3_000)}${cell(7)}</row>`,
    ]
    const file = workbookOf(`<worksheet><sheetData>${rows.join('')}</sheetData></worksheet>`, [
      { name: 'xl/sharedStrings.xml', data: Buffer.from(sst) },
    ])
    const read = async (memoryBytes?: number) => {
      const tempDir = await mkdtemp(join(dir, 'spill-'))
      const { records } = await readAll(streamOf(file), {
        tempDir,
        ...(memoryBytes === undefined ? {} : { sharedStrings: { memoryBytes } }),
      })
      expect(await readdir(tempDir)).toEqual([])
      return records
    }
    const inMemory = await read()
    expect(inMemory).toHaveLength(2 * strings.length + 1)
    expect(inMemory[0]).toEqual({ rowNumber: 1, values: { s0: 's0 ', n: 's0 ' } })
    expect(inMemory[1_500]!.values.s0).toHaveLength(70_000)
    expect(inMemory[2_000]!.issue?.rule).toBe('maxLineBytes')
    expect(inMemory[3_000]).toEqual({ rowNumber: 3_001, values: { s0: 's2999 ééé', n: 's2999 ééé' } })
    expect(inMemory.at(-1)).toEqual({ rowNumber: 6_001, values: { s0: '', n: 's7 ' } })
    expect(await read(0)).toEqual(inMemory)
    expect(await read(20_000)).toEqual(inMemory)
  })

  it('refuses shared strings over maxPartBytes', async () => {
    const sst = `<sst>${'<si><t>abc</t></si>'.repeat(100)}</sst>`
    const file = workbookOf(
      '<worksheet><sheetData><row><c t="s"><v>0</v></c></row></sheetData></worksheet>',
      [{ name: 'xl/sharedStrings.xml', data: Buffer.from(sst) }],
    )
    await expectSourceError(
      openSource(streamOf(file), { sharedStrings: { maxPartBytes: 1_000 } }),
      'TOO_LARGE',
      /shared strings take \d+ bytes; at most 1000 are read/,
    )
    expect((await readAll(streamOf(file), { sharedStrings: { maxPartBytes: 10_000 } })).records).toEqual([])
  })

  it('fails a row with values beyond maxColumns', async () => {
    const sheet =
      '<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>' +
      '<row r="2"><c r="A2"><v>1</v></c><c r="ZZ2"><v>2</v></c></row>' +
      '<row r="3"><c r="A3"><v>3</v></c></row></sheetData></worksheet>'
    const { records } = await readAll(streamOf(workbookOf(sheet)), { maxColumns: 50 })
    expect(records.map((r) => r.issue?.rule)).toEqual(['maxColumns', undefined])
    expect(records[1]).toEqual({ rowNumber: 2, values: { a: '3' } })
  })
})

describe('JSON and JSON lines', () => {
  it('reads a top-level array, flattening nested objects and arrays', async () => {
    const json =
      '[{"ean":"3017620422003","price":{"amount":12.5,"currency":"EUR"},"images":["a.jpg","b.jpg"],"stock":null,"active":true},\n {"ean":"5000112637922","title":"Brace ] and \\" quote"}]'
    const { source, records } = await readAll(bytewise(Buffer.from(json)))
    expect(source.format).toBe('json')
    expect(values(records)).toEqual([
      {
        ean: '3017620422003',
        'price.amount': '12.5',
        'price.currency': 'EUR',
        'images.0': 'a.jpg',
        'images.1': 'b.jpg',
        active: 'true',
      },
      { ean: '5000112637922', title: 'Brace ] and " quote' },
    ])
  })

  it('reads the array under a key of a top-level object', async () => {
    const json = '{"meta":{"count":[2]},"products":[{"sku":"A"},{"sku":"B"}],"next":null}'
    const { records } = await readAll(streamOf(json), { recordElement: 'products' })
    expect(values(records)).toEqual([{ sku: 'A' }, { sku: 'B' }])
    await expectSourceError(
      readAll(streamOf(json), { recordElement: 'items' }),
      'MALFORMED',
      /no key "items"/,
    )
  })

  it('fails an element that is not an object or too long, and a truncated file', async () => {
    const { records } = await readAll(streamOf(`[{"a":1}, 42, {"a":"${'x'.repeat(5000)}"}, {"a":2}]`), {
      maxLineBytes: 1000,
    })
    expect(records.map((r) => r.issue?.rule ?? r.values.a)).toEqual(['1', 'json', 'maxLineBytes', '2'])
    await expectSourceError(readAll(streamOf('[{"a":1},{"a":'), { format: 'json' }), 'TRUNCATED', /truncated/)
    await expectSourceError(readAll(streamOf('hello'), { format: 'json' }), 'MALFORMED', /not JSON/)
  })

  it('reads JSON lines when the configuration says json', async () => {
    const { source, records } = await readAll(streamOf('{"a":1}\n{"a":2}\n'), { format: 'json' })
    expect(source.format).toBe('jsonl')
    expect(values(records)).toEqual([{ a: '1' }, { a: '2' }])
  })

  it('reads JSON lines, one bad line failing alone', async () => {
    const { source, records } = await readAll(streamOf('{"a":1}\n\n{"a":\n{"a":{"b":"c"}}\n'), {
      filename: 'x.ndjson',
    })
    expect(source.format).toBe('jsonl')
    expect(records.map((r) => [r.rowNumber, r.issue?.rule ?? r.values])).toEqual([
      [1, { a: '1' }],
      [2, 'json'],
      [3, { 'a.b': 'c' }],
    ])
  })
})

describe('XML', () => {
  const xml = `<?xml version="1.0" encoding="ISO-8859-1"?>
<catalogue><info>x</info>
  <produit ref="A1"><ean>3017620422003</ean><titre><![CDATA[Pâte & co]]></titre>
    <image>a.jpg</image><image>b.jpg</image><poids unite="kg">0,75</poids></produit>
  <produit ref="B2"><ean>5000112637922</ean><vide/></produit>
</catalogue>`

  it('reads the records of the named element, attributes, CDATA and repeats, in the declared encoding', async () => {
    const { source, records } = await readAll(streamOf(iconv.encode(xml, 'latin1')), {
      recordElement: 'produit',
    })
    expect(source).toMatchObject({ format: 'xml', encoding: 'ISO-8859-1' })
    expect(values(records)).toEqual([
      {
        'produit@ref': 'A1',
        ean: '3017620422003',
        titre: 'Pâte & co',
        image: 'a.jpg',
        'image.2': 'b.jpg',
        'poids@unite': 'kg',
        poids: '0,75',
      },
      { 'produit@ref': 'B2', ean: '5000112637922', vide: '' },
    ])
  })

  it('takes the first child of the root that has children as the record element when none is given', async () => {
    const { records } = await readAll(
      streamOf('<r><generated>2026-12-01</generated><p><a>1</a></p><p><a>2</a></p></r>'),
    )
    expect(values(records)).toEqual([{ a: '1' }, { a: '2' }])
  })

  it('refuses malformed and truncated XML', async () => {
    await expectSourceError(readAll(streamOf('<r><p><a>1</b></p></r>')), 'MALFORMED', /malformed/)
    await expectSourceError(readAll(streamOf('<r><p><a>1</a></p>')), 'MALFORMED', /malformed|truncated/)
  })
})

describe('format detection', () => {
  it.each([
    ['a;b\n1;2', undefined, 'csv'],
    ['[{"a":1}]', undefined, 'json'],
    ['{"a":1}\n{"a":2}', undefined, 'jsonl'],
    ['<r><p><a>1</a></p></r>', undefined, 'xml'],
    ['a;b\n1;2', 'tarifs.TXT', 'csv'],
  ])('%j (%s) is %s', async (text, filename, format) => {
    const source = await openSource(streamOf(text), { filename })
    expect(source.format).toBe(format)
  })
})
