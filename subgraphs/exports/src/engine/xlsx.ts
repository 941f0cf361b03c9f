import { once } from 'node:events'
import type { Writable } from 'node:stream'
import zlib from 'node:zlib'

/** A cell of a typed sheet: text, a number, a boolean, or empty. */
export type XlsxCell = string | number | boolean | null

const MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
const RELS = 'http://schemas.openxmlformats.org/package/2006/relationships'
const DOC_RELS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'
const HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

/** The parts around the one worksheet: a workbook naming it, the relationships, one default style. */
function staticParts(sheetName: string): [string, string][] {
  return [
    [
      '[Content_Types].xml',
      `${HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>`,
    ],
    [
      '_rels/.rels',
      `${HEAD}<Relationships xmlns="${RELS}"><Relationship Id="rId1" Type="${DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    ],
    [
      'xl/workbook.xml',
      `${HEAD}<workbook xmlns="${MAIN}" xmlns:r="${DOC_RELS}"><sheets><sheet name="${escapeXml(sheetName)}" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    ],
    [
      'xl/_rels/workbook.xml.rels',
      `${HEAD}<Relationships xmlns="${RELS}"><Relationship Id="rId1" Type="${DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="${DOC_RELS}/styles" Target="styles.xml"/></Relationships>`,
    ],
    [
      'xl/styles.xml',
      `${HEAD}<styleSheet xmlns="${MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`,
    ],
  ]
}

// XML 1.0 allows tab, LF, CR and U+0020 and up (no other C0 controls, no lone surrogates, no U+FFFE/FFFF).
const XML_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu
const XML_SPECIAL = /[&<>"]/g
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }
function escapeXml(value: string): string {
  return value.replace(XML_INVALID, '').replace(XML_SPECIAL, (c) => ENTITIES[c]!)
}

/** A, B, …, Z, AA, … */
function columnName(index: number): string {
  let name = ''
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name
  }
  return name
}

/** zlib.crc32 (Node ≥ 20.15), else a table. */
const crc32: (data: Buffer, value?: number) => number =
  (zlib as unknown as { crc32?: (data: Buffer, value?: number) => number }).crc32 ??
  (() => {
    const table = new Int32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      table[n] = c
    }
    return (data: Buffer, value = 0) => {
      let c = ~value
      for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
      return ~c >>> 0
    }
  })()

interface Entry {
  name: Buffer
  crc: number
  compressed: number
  size: number
  offset: number
  /** Sizes and CRC follow the data (a data descriptor): the sheet, streamed. */
  streamed: boolean
}

const FLAG_UTF8 = 0x0800
const FLAG_DESCRIPTOR = 0x0008
const DEFLATE = 8
/** The sheet's XML is handed to the compressor in chunks of about this many characters. */
const BATCH = 64 * 1024

/**
 * A one-sheet XLSX workbook written as it goes into `out`, with back-pressure: the sheet's XML is deflated as a
 * stream into the ZIP container (a data descriptor after it), so memory stays flat whatever the number of rows.
 * Cells are inline strings, numbers or booleans (no shared-strings table to hold); the other parts are small.
 */
export class XlsxWriter {
  private offset = 0
  private readonly entries: Entry[] = []
  private readonly columns: string[] = []
  private rowNumber = 0
  private xml = ''
  private deflate: zlib.DeflateRaw | undefined
  private sheet: Entry | undefined
  private deflated: Promise<void> | undefined
  private readonly stamp: { time: number; date: number }

  constructor(
    private readonly out: Writable,
    private readonly sheetName = 'Sheet1',
  ) {
    const now = new Date()
    this.stamp = {
      time: (now.getHours() << 11) | (now.getMinutes() << 5) | Math.floor(now.getSeconds() / 2),
      date: ((now.getFullYear() - 1980) << 9) | ((now.getMonth() + 1) << 5) | now.getDate(),
    }
  }

  /** Adds one row (null cells are left empty). */
  async row(cells: readonly XlsxCell[]): Promise<void> {
    if (!this.deflate) await this.open()
    const r = ++this.rowNumber
    let xml = `<row r="${r}">`
    for (let i = 0; i < cells.length; i++) {
      const value = cells[i]
      if (value === null || value === undefined) continue
      if (this.columns[i] === undefined) this.columns[i] = columnName(i)
      const ref = `${this.columns[i]}${r}`
      if (typeof value === 'number') {
        xml += Number.isFinite(value) ? `<c r="${ref}"><v>${value}</v></c>` : ''
      } else if (typeof value === 'boolean') {
        xml += `<c r="${ref}" t="b"><v>${value ? 1 : 0}</v></c>`
      } else {
        xml += `<c r="${ref}" t="inlineStr"><is><t xml:space="preserve">${escapeXml(value)}</t></is></c>`
      }
    }
    this.xml += `${xml}</row>`
    if (this.xml.length >= BATCH) await this.flush()
  }

  /** Ends the sheet and writes the rest of the workbook; ends `out`. */
  async end(): Promise<void> {
    if (!this.deflate) await this.open()
    this.xml += '</sheetData></worksheet>'
    await this.flush()
    this.deflate!.end()
    await this.deflated
    const sheet = this.sheet!
    const descriptor = Buffer.alloc(16)
    descriptor.writeUInt32LE(0x08074b50, 0)
    descriptor.writeUInt32LE(sheet.crc, 4)
    descriptor.writeUInt32LE(sheet.compressed, 8)
    descriptor.writeUInt32LE(sheet.size, 12)
    await this.write(descriptor)
    for (const [name, text] of staticParts(this.sheetName)) await this.small(name, text)
    const directoryAt = this.offset
    if (sheet.size > 0xffffffff || this.offset > 0xffffffff) {
      throw new Error('the workbook is larger than 4 GB (ZIP64 is not written)')
    }
    for (const e of this.entries) {
      const header = Buffer.alloc(46)
      header.writeUInt32LE(0x02014b50, 0)
      header.writeUInt16LE(20, 4)
      header.writeUInt16LE(20, 6)
      header.writeUInt16LE(FLAG_UTF8 | (e.streamed ? FLAG_DESCRIPTOR : 0), 8)
      header.writeUInt16LE(DEFLATE, 10)
      header.writeUInt16LE(this.stamp.time, 12)
      header.writeUInt16LE(this.stamp.date, 14)
      header.writeUInt32LE(e.crc, 16)
      header.writeUInt32LE(e.compressed, 20)
      header.writeUInt32LE(e.size, 24)
      header.writeUInt16LE(e.name.length, 28)
      header.writeUInt32LE(e.offset, 42)
      await this.write(Buffer.concat([header, e.name]))
    }
    const end = Buffer.alloc(22)
    end.writeUInt32LE(0x06054b50, 0)
    end.writeUInt16LE(this.entries.length, 8)
    end.writeUInt16LE(this.entries.length, 10)
    end.writeUInt32LE(this.offset - directoryAt, 12)
    end.writeUInt32LE(directoryAt, 16)
    await this.write(end)
    this.out.end()
  }

  /** Starts the sheet's entry: its local header, then its XML through the compressor. */
  private async open() {
    const sheet: Entry = {
      name: Buffer.from('xl/worksheets/sheet1.xml'),
      crc: 0,
      compressed: 0,
      size: 0,
      offset: this.offset,
      streamed: true,
    }
    this.sheet = sheet
    this.entries.push(sheet)
    await this.write(this.localHeader(sheet))
    const deflate = zlib.createDeflateRaw({ level: 6 })
    this.deflate = deflate
    this.deflated = new Promise<void>((resolve, reject) => {
      let waiting = false
      deflate.on('data', (chunk: Buffer) => {
        sheet.compressed += chunk.length
        this.offset += chunk.length
        if (!this.out.write(chunk) && !waiting) {
          waiting = true
          deflate.pause()
          this.out.once('drain', () => {
            waiting = false
            deflate.resume()
          })
        }
      })
      deflate.once('end', resolve)
      deflate.once('error', reject)
    })
    this.deflated.catch(() => {})
    this.xml = `${HEAD}<worksheet xmlns="${MAIN}"><sheetData>`
  }

  private async flush() {
    if (!this.xml) return
    const chunk = Buffer.from(this.xml, 'utf8')
    this.xml = ''
    const sheet = this.sheet!
    sheet.crc = crc32(chunk, sheet.crc)
    sheet.size += chunk.length
    if (!this.deflate!.write(chunk)) {
      await Promise.race([once(this.deflate!, 'drain'), this.deflated])
    }
  }

  /** A small part, deflated at once, sizes in its header. */
  private async small(name: string, text: string) {
    const data = Buffer.from(text, 'utf8')
    const compressed = zlib.deflateRawSync(data)
    const entry: Entry = {
      name: Buffer.from(name),
      crc: crc32(data),
      compressed: compressed.length,
      size: data.length,
      offset: this.offset,
      streamed: false,
    }
    this.entries.push(entry)
    await this.write(Buffer.concat([this.localHeader(entry), compressed]))
  }

  private localHeader(e: Entry): Buffer {
    const header = Buffer.alloc(30)
    header.writeUInt32LE(0x04034b50, 0)
    header.writeUInt16LE(20, 4)
    header.writeUInt16LE(FLAG_UTF8 | (e.streamed ? FLAG_DESCRIPTOR : 0), 6)
    header.writeUInt16LE(DEFLATE, 8)
    header.writeUInt16LE(this.stamp.time, 10)
    header.writeUInt16LE(this.stamp.date, 12)
    if (!e.streamed) {
      header.writeUInt32LE(e.crc, 14)
      header.writeUInt32LE(e.compressed, 18)
      header.writeUInt32LE(e.size, 22)
    }
    header.writeUInt16LE(e.name.length, 26)
    return Buffer.concat([header, e.name])
  }

  private async write(chunk: Buffer) {
    this.offset += chunk.length
    if (!this.out.write(chunk)) await once(this.out, 'drain')
  }
}
