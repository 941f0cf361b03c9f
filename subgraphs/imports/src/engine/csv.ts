import { type ByteSource, closing, decodeText } from './bytes'
import { columnNames, type RecordLimits, rowOf } from './records'
import type { ParsedSource, RawRecord } from './types'
import { SourceError } from './types'

/** One CSV record as read: its fields, and what went wrong while reading it. */
export interface CsvRecord {
  fields: string[]
  /** More fields than maxColumns: only the first maxColumns were kept. */
  width?: number
  /** Longer than maxLineBytes: the fields were dropped while scanning to its end. */
  tooLong?: boolean
  unterminated?: boolean
}

enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

const QUOTE = 34
const LF = 10
const CR = 13

/**
 * A streaming RFC 4180 reader, lenient where spreadsheets are (a quote inside an unquoted field is a
 * character; text after a closing quote is kept). Records end at LF, CRLF or CR outside quotes. Memory per
 * record is bounded by maxLineBytes: past it the record's text is dropped while its end is looked for.
 */
export class CsvParser {
  private state = State.FieldStart
  private fields: string[] = []
  private field = ''
  private recordChars = 0
  private width = 0
  private tooLong = false
  private skipLf = false
  private readonly delim: number

  constructor(
    delimiter: string,
    private readonly limits: RecordLimits,
  ) {
    this.delim = delimiter.charCodeAt(0)
  }

  push(chunk: string, out: CsvRecord[]) {
    const delim = this.delim
    const len = chunk.length
    let i = 0
    if (this.skipLf) {
      this.skipLf = false
      if (chunk.charCodeAt(0) === LF) i = 1
    }
    let recordStart = i
    let start = i
    while (i < len) {
      switch (this.state) {
        case State.FieldStart: {
          if (chunk.charCodeAt(i) === QUOTE) {
            this.state = State.Quoted
            start = ++i
          } else {
            this.state = State.Unquoted
            start = i
          }
          break
        }
        case State.Unquoted: {
          let c = 0
          while (i < len) {
            c = chunk.charCodeAt(i)
            if (c === delim || c === LF || c === CR) break
            i++
          }
          if (i === len) break
          this.endField(chunk.slice(start, i))
          i++
          this.state = State.FieldStart
          start = i
          if (c !== delim) {
            this.recordChars += i - recordStart
            this.endRecord(out)
            if (c === CR) {
              if (i === len) this.skipLf = true
              else if (chunk.charCodeAt(i) === LF) i++
            }
            recordStart = start = i
          }
          break
        }
        case State.Quoted: {
          const j = chunk.indexOf('"', i)
          if (j === -1) {
            i = len
            break
          }
          if (!this.tooLong) this.field += chunk.slice(start, j)
          i = j + 1
          start = i
          this.state = State.QuoteInQuoted
          break
        }
        case State.QuoteInQuoted: {
          const c = chunk.charCodeAt(i)
          if (c === QUOTE) {
            // An escaped quote: keep one, the field goes on.
            this.state = State.Quoted
            start = i + 1
            if (!this.tooLong) this.field += '"'
            i++
          } else if (c === delim || c === LF || c === CR) {
            this.state = State.Unquoted
            start = i
          } else {
            // Text after the closing quote ("12" inches): kept as written.
            this.state = State.Unquoted
            start = i
          }
          break
        }
      }
    }
    // The chunk ended inside a record: keep its partial field, bounded.
    if (this.state === State.Unquoted || this.state === State.Quoted) {
      if (!this.tooLong && start < len) this.field += chunk.slice(start, len)
    }
    this.recordChars += len - recordStart
    if (!this.tooLong && this.recordChars > this.limits.maxLineBytes) this.overflow()
  }

  end(out: CsvRecord[]) {
    if (this.state === State.Quoted) {
      this.endField('')
      this.endRecord(out, true)
    } else if (this.state !== State.FieldStart || this.fields.length > 0) {
      this.endField('')
      this.endRecord(out)
    }
  }

  private overflow() {
    this.tooLong = true
    this.fields = []
    this.field = ''
  }

  private endField(text: string) {
    if (this.tooLong) return
    const value = this.field === '' ? text : this.field + text
    this.field = ''
    this.width++
    if (this.fields.length < this.limits.maxColumns) this.fields.push(value)
  }

  private endRecord(out: CsvRecord[], unterminated = false) {
    if (!this.tooLong && this.recordChars > this.limits.maxLineBytes) this.overflow()
    const record: CsvRecord = { fields: this.fields }
    if (this.tooLong) record.tooLong = true
    else if (this.width > this.limits.maxColumns) record.width = this.width
    if (unterminated) record.unterminated = true
    // Blank lines are skipped.
    if (record.tooLong || record.unterminated || this.fields.length > 1 || this.fields[0] !== '') {
      out.push(record)
    }
    this.fields = []
    this.width = 0
    this.recordChars = 0
    this.tooLong = false
    this.state = State.FieldStart
  }
}

const CANDIDATES = [';', ',', '\t', '|']

/** The candidate delimiter seen most often outside quotes on the first line (";" wins ties, as in French files). */
export function detectDelimiter(firstText: string): string | undefined {
  const counts = new Map<string, number>(CANDIDATES.map((c) => [c, 0]))
  let quoted = false
  for (let i = 0; i < firstText.length; i++) {
    const ch = firstText[i]!
    if (ch === '"') quoted = !quoted
    else if (!quoted && (ch === '\n' || ch === '\r')) break
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1)
  }
  let best: string | undefined
  let bestCount = 0
  for (const [c, n] of counts) {
    if (n > bestCount) {
      best = c
      bestCount = n
    }
  }
  return best
}

export async function openCsv(
  bytes: ByteSource,
  o: { encoding?: string; delimiter?: string; hasHeader: boolean; limits: RecordLimits; warnings: string[] },
): Promise<ParsedSource> {
  const decoded = await decodeText(bytes, { encoding: o.encoding, what: 'a CSV file', warnings: o.warnings })
  const iterator = decoded.chunks[Symbol.asyncIterator]()
  const first = await iterator.next()
  const firstText = first.done ? '' : first.value
  if (firstText.length > 0 && controlShare(firstText) > 0.1) {
    throw new SourceError('the file is binary (too many control characters), not a CSV file', 'BINARY')
  }
  const delimiter = o.delimiter ?? detectDelimiter(firstText) ?? ','
  let columns: string[] | undefined
  const parser = new CsvParser(delimiter, o.limits)
  const hasHeader = o.hasHeader
  const limits = o.limits
  const warnings = o.warnings

  async function* records(): AsyncGenerator<RawRecord> {
    const out: CsvRecord[] = []
    let rowNumber = 0
    let pending: string | undefined = first.done ? undefined : firstText
    for (;;) {
      let text: string
      if (pending !== undefined) {
        text = pending
        pending = undefined
      } else {
        const next = await iterator.next()
        if (next.done) break
        text = next.value
      }
      parser.push(text, out)
      if (out.length === 0) continue
      for (const record of out) {
        if (columns === undefined) {
          if (hasHeader) {
            columns = headerOf(record, limits, warnings)
            continue
          }
          columns = numberedColumns(Math.min(record.width ?? record.fields.length, limits.maxColumns))
        }
        yield toRaw(record, ++rowNumber, columns, limits)
      }
      out.length = 0
    }
    parser.end(out)
    for (const record of out) {
      if (columns === undefined) {
        if (hasHeader) {
          columns = headerOf(record, limits, warnings)
          continue
        }
        columns = numberedColumns(record.fields.length)
      }
      yield toRaw(record, ++rowNumber, columns, limits)
    }
    if (columns === undefined) throw new SourceError('the file has no header row: it is empty', 'EMPTY')
  }

  return {
    format: 'csv',
    encoding: decoded.encoding,
    delimiter,
    columns: () => columns,
    records: closing(records(), bytes),
    warnings,
    bytesRead: () => bytes.consumed,
    close: () => bytes.close(),
  }
}

function controlShare(text: string): number {
  const n = Math.min(text.length, 4096)
  let control = 0
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) || c === 0xfffd) control++
  }
  return control / n
}

function headerOf(record: CsvRecord, limits: RecordLimits, warnings: string[]): string[] {
  if (record.tooLong) {
    throw new SourceError(`the header row is longer than ${limits.maxLineBytes} characters`, 'TOO_LARGE')
  }
  if (record.width !== undefined) {
    throw new SourceError(
      `the header row has ${record.width} columns; at most ${limits.maxColumns} are allowed`,
      'TOO_MANY_COLUMNS',
    )
  }
  return columnNames(record.fields, warnings)
}

function numberedColumns(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i + 1))
}

function toRaw(record: CsvRecord, rowNumber: number, columns: string[], limits: RecordLimits): RawRecord {
  if (record.tooLong) {
    return {
      rowNumber,
      values: {},
      issue: {
        rule: 'maxLineBytes',
        message: `the row is longer than ${limits.maxLineBytes} characters (an unclosed quote or a corrupt file?); it was skipped`,
      },
    }
  }
  if (record.width !== undefined) {
    return {
      rowNumber,
      values: {},
      issue: {
        rule: 'maxColumns',
        message: `the row has ${record.width} values; at most ${limits.maxColumns} columns are allowed`,
      },
    }
  }
  return rowOf(record.fields, rowNumber, columns, record.unterminated)
}
