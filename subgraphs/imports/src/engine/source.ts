import type { Readable } from 'node:stream'
import { ByteSource, sniffBinary } from './bytes'
import { openCsv } from './csv'
import { openJson, openJsonLines } from './json'
import { DEFAULT_MAX_COLUMNS, DEFAULT_MAX_LINE_BYTES, type RecordLimits } from './records'
import { DEFAULT_SHARED_STRINGS } from './shared-strings'
import { type ParsedSource, type ParseOptions, SOURCE_FORMATS, SourceError, type SourceFormat } from './types'
import { openXlsx } from './xlsx'
import { openXml } from './xml'

const EXTENSIONS: Record<string, SourceFormat> = {
  csv: 'csv',
  tsv: 'csv',
  txt: 'csv',
  xlsx: 'xlsx',
  xlsm: 'xlsx',
  json: 'json',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  xml: 'xml',
}

export function formatFromFilename(filename: string | undefined): SourceFormat | undefined {
  const ext = filename?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1]
  return ext ? EXTENSIONS[ext] : undefined
}

/** The format the first bytes show: a ZIP is a workbook, "<" XML, "[" a JSON array, "{" JSON lines or a JSON object. */
export function formatFromBytes(sample: Buffer): SourceFormat | undefined {
  const binary = sniffBinary(sample)
  if (binary?.startsWith('a ZIP')) return 'xlsx'
  if (binary) return undefined
  let text = sample.toString('utf8')
  if (sample[0] === 0xff && sample[1] === 0xfe) text = sample.subarray(2).toString('utf16le')
  text = text.replace(/^\uFEFF/, '').trimStart()
  if (text.startsWith('<')) return 'xml'
  if (text.startsWith('[')) return 'json'
  if (text.startsWith('{')) {
    // JSON lines: the first line is a whole object and the next line starts another one.
    const nl = text.indexOf('\n')
    if (nl > 0) {
      try {
        JSON.parse(text.slice(0, nl))
        if (
          text
            .slice(nl + 1)
            .trimStart()
            .startsWith('{')
        )
          return 'jsonl'
      } catch {}
    }
    return 'json'
  }
  return 'csv'
}

/**
 * Opens a supplier file for streaming: the format from the options, else the file name, else the first bytes;
 * then the format's reader (CSV, XLSX, JSON array, JSON lines, XML). Never reads the whole file into memory.
 * Throws SourceError when the file is not what it claims or cannot be read at all; problems with one record
 * come out as that record's `issue`.
 */
export async function openSource(
  stream: Readable | AsyncIterable<Buffer | string>,
  o: ParseOptions = {},
): Promise<ParsedSource> {
  const bytes = new ByteSource(stream)
  const warnings: string[] = []
  const limits: RecordLimits = {
    maxColumns: positive('maxColumns', o.maxColumns ?? DEFAULT_MAX_COLUMNS),
    maxLineBytes: positive('maxLineBytes', o.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES),
  }
  let format: SourceFormat | undefined
  if (o.format && o.format !== 'auto') {
    if (!SOURCE_FORMATS.includes(o.format)) {
      throw new SourceError(
        `unknown format "${o.format}" (one of ${SOURCE_FORMATS.join(', ')})`,
        'UNSUPPORTED_FORMAT',
      )
    }
    format = o.format
    if (format === 'json') {
      // A configuration's "json" also covers JSON lines: one object per line is read as such.
      const sample = await bytes.peek(64 * 1024)
      if (formatFromBytes(sample) === 'jsonl') format = 'jsonl'
    }
  } else {
    const sample = await bytes.peek(4096)
    if (sample.length === 0) throw new SourceError('the file is empty', 'EMPTY')
    const byName = formatFromFilename(o.filename)
    const byBytes = formatFromBytes(sample)
    if (byName && byBytes === 'xlsx' && byName !== 'xlsx') {
      warnings.push(`the file is named ${o.filename} but is a ZIP archive: read as an XLSX workbook`)
      format = 'xlsx'
    } else format = byName ?? byBytes
    if (!format) {
      throw new SourceError(
        `the file is ${sniffBinary(sample)}, not a supplier file (CSV, XLSX, JSON or XML)`,
        'UNSUPPORTED_FORMAT',
      )
    }
  }
  if (o.delimiter !== undefined && [...o.delimiter].length !== 1) {
    throw new SourceError(`the delimiter must be one character, not "${o.delimiter}"`, 'UNSUPPORTED_FORMAT')
  }
  const hasHeader = o.hasHeader ?? true
  try {
    switch (format) {
      case 'csv':
        return await openCsv(bytes, {
          encoding: o.encoding,
          delimiter: o.delimiter,
          hasHeader,
          limits,
          warnings,
        })
      case 'xlsx':
        return await openXlsx(bytes, {
          sheet: o.sheet,
          hasHeader,
          limits,
          maxUncompressedBytes: o.maxUncompressedBytes ?? 4 * 1024 ** 3,
          tempDir: o.tempDir,
          sharedStrings: {
            memoryBytes: nonNegative(
              'sharedStrings.memoryBytes',
              o.sharedStrings?.memoryBytes ?? DEFAULT_SHARED_STRINGS.memoryBytes,
            ),
            maxPartBytes: positive(
              'sharedStrings.maxPartBytes',
              o.sharedStrings?.maxPartBytes ?? DEFAULT_SHARED_STRINGS.maxPartBytes,
            ),
          },
          warnings,
        })
      case 'json':
        return await openJson(bytes, {
          encoding: o.encoding,
          recordElement: o.recordElement,
          limits,
          warnings,
        })
      case 'jsonl':
        return await openJsonLines(bytes, { encoding: o.encoding, limits, warnings })
      case 'xml':
        return await openXml(bytes, {
          encoding: o.encoding,
          recordElement: o.recordElement,
          limits,
          warnings,
        })
    }
  } catch (error) {
    await bytes.close()
    throw error
  }
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new SourceError(`${name} must be a positive integer`, 'UNSUPPORTED_FORMAT')
  return value
}

function nonNegative(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0)
    throw new SourceError(`${name} must be an integer of 0 or more`, 'UNSUPPORTED_FORMAT')
  return value
}
