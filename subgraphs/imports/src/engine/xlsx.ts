import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { SaxesParser, type SaxesTagPlain } from 'saxes'
import yauzl from 'yauzl'
import { type ByteSource, sniffBinary } from './bytes'
import { columnNames, type RecordLimits, rowOf } from './records'
import { SharedStrings, type SharedStringsLimits } from './shared-strings'
import type { ParsedSource, RawRecord } from './types'
import { SourceError } from './types'

const MAX_ENTRIES = 10_000
/** Small parts (workbook, relationships) are read whole; bigger ones are not what an XLSX holds. */
const MAX_PART_BYTES = 16 * 1024 * 1024
/** A part that inflates more than this many times its compressed size (and is big) is a zip bomb. */
const MAX_RATIO = 200
const RATIO_FLOOR = 16 * 1024 * 1024

export interface XlsxOptions {
  sheet?: string
  hasHeader: boolean
  limits: RecordLimits
  maxUncompressedBytes: number
  tempDir?: string
  sharedStrings: SharedStringsLimits
  warnings: string[]
}

/** Column letters ("A", "AB") to a 0-based index. */
export function columnIndex(ref: string): number {
  let n = 0
  for (let i = 0; i < ref.length; i++) {
    const c = ref.charCodeAt(i)
    if (c < 65 || c > 90) break
    n = n * 26 + (c - 64)
  }
  return n - 1
}

async function spool(bytes: ByteSource, dir: string): Promise<string> {
  const path = join(dir, 'workbook.xlsx')
  await pipeline(bytes.chunks(), createWriteStream(path))
  return path
}

async function openZip(path: string): Promise<{ zip: yauzl.ZipFile; entries: Map<string, yauzl.Entry> }> {
  let zip: yauzl.ZipFile
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true })
  } catch (error) {
    throw new SourceError(
      `the XLSX workbook cannot be opened: it is truncated or not a ZIP archive (${(error as Error).message})`,
      'TRUNCATED',
    )
  }
  const entries = new Map<string, yauzl.Entry>()
  try {
    for await (const entry of zip.eachEntry()) {
      if (entries.size >= MAX_ENTRIES) {
        throw new SourceError(`the workbook has more than ${MAX_ENTRIES} parts`, 'TOO_LARGE')
      }
      entries.set(entry.fileName, entry)
    }
  } catch (error) {
    zip.close()
    if (error instanceof SourceError) throw error
    throw new SourceError(`the XLSX workbook is corrupt: ${(error as Error).message}`, 'MALFORMED')
  }
  return { zip, entries }
}

function checkBomb(entries: Map<string, yauzl.Entry>, maxUncompressedBytes: number) {
  let total = 0
  for (const entry of entries.values()) {
    total += entry.uncompressedSize
    if (entry.uncompressedSize > RATIO_FLOOR && entry.uncompressedSize > entry.compressedSize * MAX_RATIO) {
      throw new SourceError(
        `the workbook part ${entry.fileName} would inflate ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))} times (${entry.uncompressedSize} bytes): refused as a zip bomb`,
        'TOO_LARGE',
      )
    }
  }
  if (total > maxUncompressedBytes) {
    throw new SourceError(
      `the workbook would decompress to ${total} bytes; at most ${maxUncompressedBytes} are allowed`,
      'TOO_LARGE',
    )
  }
}

async function partStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  if (entry.isEncrypted())
    throw new SourceError('the workbook is encrypted (password-protected)', 'UNSUPPORTED_FORMAT')
  try {
    return await zip.openReadStreamPromise(entry)
  } catch (error) {
    throw new SourceError(
      `the workbook part ${entry.fileName} cannot be read: ${(error as Error).message}`,
      'MALFORMED',
    )
  }
}

/** Streams a part's XML through a SAX parser; errors become SourceErrors naming the part. */
async function* saxPart(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  setup: (parser: SaxesParser) => void,
): AsyncGenerator<void> {
  const stream = await partStream(zip, entry)
  // Positions are not tracked (less work per character); a part's errors name the part.
  const parser = new SaxesParser({ position: false })
  let failure: Error | undefined
  parser.on('error', (error) => {
    failure ??= error
  })
  setup(parser)
  const decoder = new TextDecoder('utf-8')
  try {
    for await (const chunk of stream) {
      parser.write(decoder.decode(chunk as Buffer, { stream: true }))
      if (failure) break
      yield
    }
    if (!failure) parser.write(decoder.decode()).close()
  } catch (error) {
    if (error instanceof SourceError) throw error
    throw new SourceError(
      `the workbook part ${entry.fileName} is corrupt: ${(error as Error).message}`,
      'MALFORMED',
    )
  } finally {
    stream.destroy()
  }
  if (failure) {
    throw new SourceError(
      `the workbook part ${entry.fileName} is not well-formed XML: ${failure.message}`,
      'MALFORMED',
    )
  }
}

async function readPart(zip: yauzl.ZipFile, entry: yauzl.Entry, setup: (parser: SaxesParser) => void) {
  if (entry.uncompressedSize > MAX_PART_BYTES) {
    throw new SourceError(
      `the workbook part ${entry.fileName} is too large (${entry.uncompressedSize} bytes)`,
      'TOO_LARGE',
    )
  }
  for await (const _ of saxPart(zip, entry, setup)) {
    // consumed
  }
}

/** Relationship id → target path, resolved against the part's folder. */
async function relationships(zip: yauzl.ZipFile, entries: Map<string, yauzl.Entry>, base: string) {
  const rels = new Map<string, { target: string; type: string }>()
  const file = posix.join(posix.dirname(base), '_rels', `${posix.basename(base)}.rels`)
  const entry = entries.get(file)
  if (!entry) return rels
  await readPart(zip, entry, (parser) => {
    parser.on('opentag', (tag) => {
      if (tag.name !== 'Relationship') return
      const target = String(tag.attributes.Target ?? '')
      const resolved = target.startsWith('/')
        ? target.slice(1)
        : posix.normalize(posix.join(posix.dirname(base), target))
      rels.set(String(tag.attributes.Id), { target: resolved, type: String(tag.attributes.Type ?? '') })
    })
  })
  return rels
}

/**
 * An XLSX workbook's first sheet (or the named one), streamed row by row: the upload is spooled to a temporary
 * file (a ZIP is read from its central directory), the shared strings are loaded, then the sheet's XML is
 * parsed as it inflates. Declared sizes are checked before anything inflates (zip bombs), and yauzl checks
 * that each part inflates to its declared size.
 */
export async function openXlsx(bytes: ByteSource, o: XlsxOptions): Promise<ParsedSource> {
  const sample = await bytes.peek(8)
  const binary = sniffBinary(sample)
  if (!binary?.startsWith('a ZIP')) {
    throw new SourceError(
      binary
        ? `the file is ${binary}, not an XLSX workbook`
        : 'the file is not an XLSX workbook (no ZIP signature)',
      'WRONG_FORMAT',
    )
  }
  const dir = await mkdtemp(join(o.tempDir ?? tmpdir(), 'pm-xlsx-'))
  let zip: yauzl.ZipFile | undefined
  let shared: SharedStrings | undefined
  const cleanup = async () => {
    zip?.close()
    zip = undefined
    shared?.close()
    shared = undefined
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const path = await spool(bytes, dir)
    const opened = await openZip(path)
    zip = opened.zip
    const { entries } = opened
    checkBomb(entries, o.maxUncompressedBytes)

    const rootRels = await relationships(zip, entries, '')
    const workbookPath =
      [...rootRels.values()].find((r) => r.type.endsWith('/officeDocument'))?.target ?? 'xl/workbook.xml'
    const workbook = entries.get(workbookPath)
    if (!workbook)
      throw new SourceError('the ZIP archive is not an XLSX workbook (no workbook part)', 'WRONG_FORMAT')
    const sheets: { name: string; rid: string }[] = []
    await readPart(zip, workbook, (parser) => {
      parser.on('opentag', (tag) => {
        if (tag.name === 'sheet') {
          sheets.push({ name: String(tag.attributes.name), rid: String(tag.attributes['r:id'] ?? '') })
        }
      })
    })
    const rels = await relationships(zip, entries, workbookPath)
    const chosen = o.sheet === undefined ? sheets[0] : sheets.find((s) => s.name === o.sheet)
    if (!chosen) {
      throw new SourceError(
        o.sheet === undefined
          ? 'the workbook has no sheet'
          : `the workbook has no sheet named "${o.sheet}" (sheets: ${sheets.map((s) => s.name).join(', ')})`,
        'NO_SHEET',
      )
    }
    const sheetEntry = entries.get(rels.get(chosen.rid)?.target ?? '')
    if (!sheetEntry) throw new SourceError(`the sheet "${chosen.name}" has no data part`, 'MALFORMED')

    const sharedPath =
      [...rels.values()].find((r) => r.type.endsWith('/sharedStrings'))?.target ?? 'xl/sharedStrings.xml'
    const sharedEntry = entries.get(sharedPath)
    // Past its memory budget the table is spilled to a file in `dir` (removed with it).
    const table = new SharedStrings(dir, o.sharedStrings.memoryBytes, o.limits.maxLineBytes + 1)
    shared = table
    if (sharedEntry) {
      if (sharedEntry.uncompressedSize > o.sharedStrings.maxPartBytes) {
        throw new SourceError(
          `the workbook's shared strings take ${sharedEntry.uncompressedSize} bytes; at most ${o.sharedStrings.maxPartBytes} are read`,
          'TOO_LARGE',
        )
      }
      for await (const _ of saxPart(zip, sharedEntry, (parser) => sharedStrings(parser, table))) {
        // consumed
      }
      table.finish()
    }
    const openedZip = zip
    let columns: string[] | undefined

    async function* records(): AsyncGenerator<RawRecord> {
      try {
        const out: { r: number; cells: string[]; width: number; size: number }[] = []
        let headerRow = 0
        for await (const _ of saxPart(openedZip, sheetEntry!, (parser) =>
          sheetRows(parser, table, o.limits, out),
        )) {
          for (const row of out) {
            const record = toRecord(row)
            if (record) yield record
          }
          out.length = 0
        }
        for (const row of out) {
          const record = toRecord(row)
          if (record) yield record
        }
        if (columns === undefined && o.hasHeader) throw new SourceError('the sheet is empty', 'EMPTY')

        function toRecord(row: {
          r: number
          cells: string[]
          width: number
          size: number
        }): RawRecord | undefined {
          if (columns === undefined) {
            if (o.hasHeader) {
              if (row.width > o.limits.maxColumns) {
                throw new SourceError(
                  `the header row has ${row.width} columns; at most ${o.limits.maxColumns} are allowed`,
                  'TOO_MANY_COLUMNS',
                )
              }
              headerRow = row.r
              columns = columnNames(row.cells, o.warnings)
              return undefined
            }
            columns = Array.from({ length: o.limits.maxColumns }, (_, i) => String(i + 1))
          }
          const rowNumber = row.r - headerRow
          if (row.size > o.limits.maxLineBytes) {
            return {
              rowNumber,
              values: {},
              issue: {
                rule: 'maxLineBytes',
                message: `the row is longer than ${o.limits.maxLineBytes} characters; it was skipped`,
              },
            }
          }
          if (row.width > o.limits.maxColumns) {
            return {
              rowNumber,
              values: {},
              issue: {
                rule: 'maxColumns',
                message: `the row has values in ${row.width} columns; at most ${o.limits.maxColumns} are allowed`,
              },
            }
          }
          return rowOf(row.cells, rowNumber, columns)
        }
      } finally {
        await cleanup()
      }
    }

    return {
      format: 'xlsx',
      columns: () => columns,
      records: records(),
      warnings: o.warnings,
      bytesRead: () => bytes.consumed,
      close: cleanup,
    }
  } catch (error) {
    await cleanup()
    throw error
  }
}

/**
 * <si> items: the text of their <t> elements (rich text runs joined; phonetic runs left out), each kept to
 * the table's `maxChars` (a longer one fails its row whatever it holds past that).
 */
function sharedStrings(parser: SaxesParser, shared: SharedStrings) {
  let current: string[] | undefined
  let length = 0
  let inText = false
  let phonetic = 0
  parser.on('opentag', (tag) => {
    if (tag.name === 'si') {
      current = []
      length = 0
    } else if (tag.name === 'rPh') phonetic++
    else if (tag.name === 't' && current && phonetic === 0) inText = true
  })
  parser.on('text', (text) => {
    if (inText && length <= shared.maxChars) {
      current!.push(text)
      length += text.length
    }
  })
  parser.on('closetag', (tag) => {
    if (tag.name === 't') inText = false
    else if (tag.name === 'rPh') phonetic--
    else if (tag.name === 'si') {
      shared.push(current!.join(''))
      current = undefined
    }
  })
}

/** <row>s of a sheet into `out`: cells by column index, with their count and text size for the limits. */
function sheetRows(
  parser: SaxesParser,
  shared: SharedStrings,
  limits: RecordLimits,
  out: { r: number; cells: string[]; width: number; size: number }[],
) {
  let row: { r: number; cells: string[]; width: number; size: number } | undefined
  let lastRow = 0
  let cellIndex = 0
  let cellType = ''
  let value: string[] | undefined
  let inValue = false
  let phonetic = 0
  parser.on('opentag', (tag: SaxesTagPlain) => {
    switch (tag.name) {
      case 'row': {
        const r = Number(tag.attributes.r)
        lastRow = Number.isInteger(r) && r > 0 ? r : lastRow + 1
        row = { r: lastRow, cells: [], width: 0, size: 0 }
        cellIndex = 0
        break
      }
      case 'c': {
        const ref = tag.attributes.r as string | undefined
        if (ref) cellIndex = columnIndex(ref)
        cellType = (tag.attributes.t as string | undefined) ?? 'n'
        value = []
        break
      }
      case 'v':
        inValue = value !== undefined
        break
      case 't':
        inValue = value !== undefined && cellType === 'inlineStr' && phonetic === 0
        break
      case 'rPh':
        phonetic++
        break
    }
  })
  parser.on('text', (text) => {
    if (inValue && row && row.size <= limits.maxLineBytes) {
      value!.push(text)
      row.size += text.length
    }
  })
  parser.on('closetag', (tag) => {
    switch (tag.name) {
      case 'v':
      case 't':
        inValue = false
        break
      case 'rPh':
        phonetic--
        break
      case 'c': {
        if (row && value) {
          const raw = value.join('')
          let text = raw
          if (cellType === 's') text = shared.get(Number(raw))
          else if (cellType === 'b') text = raw === '1' ? 'TRUE' : raw === '0' ? 'FALSE' : raw
          if (text !== '') {
            row.width = Math.max(row.width, cellIndex + 1)
            if (cellIndex < limits.maxColumns && row.size <= limits.maxLineBytes) {
              while (row.cells.length < cellIndex) row.cells.push('')
              row.cells[cellIndex] = text
            }
            if (cellType === 's') row.size += text.length
          }
        }
        value = undefined
        cellIndex++
        break
      }
      case 'row':
        if (row && row.width > 0) out.push(row)
        row = undefined
        break
    }
  })
}
