/** COPY text format: these four characters are written as backslash escapes. */
const SPECIAL = /[\\\n\r\t]/
const SPECIAL_ALL = /[\\\n\r\t]/g
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' }
const escapeChar = (c: string) => ESCAPES[c]!

function escapeText(text: string): string {
  return SPECIAL.test(text) ? text.replace(SPECIAL_ALL, escapeChar) : text
}

const DAY_MS = 86_400_000
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'))
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))
const dayTexts = new Map<number, string>()

/** An instant as 'YYYY-MM-DD HH:MM:SS.mmmZ': arithmetic and a per-day cache, several times faster than toISOString(). */
export function timestampText(date: Date): string {
  const ms = date.getTime()
  if (!Number.isFinite(ms)) throw new RangeError('cannot COPY an invalid Date')
  const day = Math.floor(ms / DAY_MS)
  let prefix = dayTexts.get(day)
  if (prefix === undefined) {
    if (dayTexts.size > 100_000) dayTexts.clear()
    prefix = `${new Date(day * DAY_MS).toISOString().slice(0, 10)} `
    dayTexts.set(day, prefix)
  }
  let rest = ms - day * DAY_MS
  const hours = Math.floor(rest / 3_600_000)
  rest -= hours * 3_600_000
  const minutes = Math.floor(rest / 60_000)
  rest -= minutes * 60_000
  const seconds = Math.floor(rest / 1000)
  return `${prefix}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[rest - seconds * 1000]}Z`
}

/**
 * One value in COPY text format: NULL as \N, dates as UTC instants (TIMESTAMP columns hold UTC and
 * ignore the zone), objects other than dates as JSON (jsonb columns).
 */
export function copyValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return escapeText(value)
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`cannot COPY the number ${value}`)
      return String(value)
    case 'boolean':
      return value ? 't' : 'f'
    case 'bigint':
      return value.toString()
    case 'undefined':
      return '\\N'
    case 'object':
      if (value === null) return '\\N'
      if (value instanceof Date) return timestampText(value)
      return escapeText(JSON.stringify(value))
    default:
      throw new TypeError(`cannot COPY a ${typeof value}`)
  }
}

function jsonValue(value: unknown): string {
  return value === null || value === undefined ? '\\N' : escapeText(JSON.stringify(value))
}

/**
 * A function writing one row as a COPY line, compiled for the table's columns: its property reads
 * stay monomorphic (a loop over column names would look every value up by a variable key).
 */
function lineEncoder(columns: readonly string[], jsonColumns: readonly string[]) {
  const body = columns
    .map((c) => `${jsonColumns.includes(c) ? 'json' : 'text'}(row[${JSON.stringify(c)}])`)
    .join(` + '\\t' + `)
  const compile = new Function('text', 'json', `return (row) => ${body} + '\\n'`)
  return compile(copyValue, jsonValue) as (row: Record<string, unknown>) => string
}

/** Rows are written into CopyData messages of about this size. */
const MESSAGE_BYTES = 256 * 1024
const HEADER_BYTES = 5
const COPY_DATA = 0x64 // 'd'

/**
 * The rows of one table, encoded as they are produced and queued for its COPY: producers push()
 * and finally close(); the loader iterates the CopyData messages, waiting for more until the sink
 * is closed. The columns are the first row's keys (every row of a table has the same shape).
 * Each line goes straight into a message buffer (outside the JavaScript heap), so a producer may
 * run far ahead of its COPY without growing the heap.
 */
export class TableSink<Row extends object = Record<string, unknown>> implements AsyncIterable<Buffer> {
  rows = 0
  columns: string[] | undefined
  private encode: (row: Record<string, unknown>) => string = () => ''
  private message = Buffer.allocUnsafe(MESSAGE_BYTES)
  private used = HEADER_BYTES
  private readonly messages: Buffer[] = []
  private closed = false
  private failure: unknown
  private wake: (() => void) | undefined

  /** `jsonColumns`: jsonb columns, whose strings and numbers are JSON values too. */
  constructor(
    readonly table: string,
    private readonly jsonColumns: readonly string[] = [],
  ) {}

  push(row: Row): void {
    const record = row as Record<string, unknown>
    if (this.columns === undefined) {
      this.columns = Object.keys(record)
      this.encode = lineEncoder(this.columns, this.jsonColumns)
    }
    const line = this.encode(record)
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (this.used + line.length * 3 > this.message.length) {
      this.send()
      if (HEADER_BYTES + line.length * 3 > this.message.length) {
        this.message = Buffer.allocUnsafe(HEADER_BYTES + line.length * 3)
      }
    }
    this.used += this.message.write(line, this.used, 'utf8')
    if (this.rows++ === 0) this.signal()
  }

  /** No more rows. */
  close(): void {
    if (this.closed) return
    this.send()
    this.closed = true
    this.signal()
  }

  /** The producer failed: the COPY reading this sink fails with `error`. */
  fail(error: unknown): void {
    this.failure = error
    this.closed = true
    this.signal()
  }

  /** Resolves once the first row arrived (true: the columns are known) or the sink closed empty (false). */
  async hasRows(): Promise<boolean> {
    while (this.rows === 0 && !this.closed) await this.next()
    if (this.failure !== undefined) throw this.failure
    return this.rows > 0
  }

  private next(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve
    })
  }

  /** Queues the message being filled, if it holds anything. */
  private send(): void {
    if (this.used === HEADER_BYTES) return
    const message = this.message.subarray(0, this.used)
    message[0] = COPY_DATA
    message.writeInt32BE(this.used - 1, 1)
    this.messages.push(message)
    this.message = Buffer.allocUnsafe(MESSAGE_BYTES)
    this.used = HEADER_BYTES
    this.signal()
  }

  private signal(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    let next = 0
    for (;;) {
      if (this.failure !== undefined) throw this.failure
      if (next < this.messages.length) {
        const message = this.messages[next]!
        // Let the sent message be collected.
        this.messages[next++] = EMPTY
        yield message
        continue
      }
      if (this.closed) return
      await this.next()
    }
  }
}

const EMPTY = Buffer.alloc(0)
