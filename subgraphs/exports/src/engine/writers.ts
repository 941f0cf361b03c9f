import { once } from 'node:events'
import type { PassThrough, Writable } from 'node:stream'
import type { ColumnKind, Row } from './mapping'
import { XlsxWriter } from './xlsx'

/** The feed file formats. */
export const FORMATS = ['csv', 'xlsx', 'json', 'xml'] as const
export type FeedFormat = (typeof FORMATS)[number]

export const CONTENT_TYPES: Record<FeedFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  json: 'application/json',
  xml: 'application/xml',
}

export interface FeedWriter {
  write(row: Row): Promise<void>
  /** Ends the file (closing elements, the workbook's parts). */
  end(): Promise<void>
}

/** Text gathered into chunks of about 64 KB before it is written (one buffer per chunk, not one per row). */
const CHUNK = 64 * 1024

/** Writes text into `out` a chunk at a time, with back-pressure. */
function chunked(out: Writable) {
  let pending = ''
  const flush = async () => {
    if (!pending) return
    const chunk = pending
    pending = ''
    if (!out.write(chunk)) await once(out, 'drain')
  }
  return {
    async put(text: string) {
      pending += text
      if (pending.length >= CHUNK) await flush()
    },
    async end() {
      await flush()
      out.end()
    },
  }
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
export function csvField(value: string | null): string {
  return value === null ? '' : quoteIfNeeded(value)
}

function quoteIfNeeded(value: string) {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

const XML_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/
/** The element of a target in the Google Merchant dialect: g:<name> unless it names its own prefix. */
export function xmlElement(target: string): string {
  const local = target.startsWith('g:') ? target.slice(2) : target
  const clean = XML_NAME.test(local)
    ? local
    : local.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^([^A-Za-z_])/, '_$1')
  return `g:${clean}`
}

// XML 1.0 allows tab, LF, CR and U+0020 and up (no other C0 controls, no lone surrogates, no U+FFFE/FFFF).
const XML_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu
export function xmlText(value: string): string {
  return value.replace(XML_INVALID, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** A plain decimal (what the graph and the number rules write) that a spreadsheet number holds exactly. */
const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/
const MAX_DIGITS = 15

/**
 * A cell's value in a typed sheet: a number column's decimals become numbers (a value that is not a plain decimal,
 * or has more digits than a spreadsheet keeps, stays text rather than being changed); booleans become booleans;
 * everything else stays the text it is.
 */
export function typedCell(
  value: string | null | undefined,
  kind: ColumnKind,
): string | number | boolean | null {
  if (value === null || value === undefined || value === '') return null
  if (
    kind === 'number' &&
    DECIMAL.test(value) &&
    value.replace(/[-.]/g, '').replace(/^0+/, '').length <= MAX_DIGITS
  ) {
    return Number(value)
  }
  if (kind === 'boolean' && (value === 'true' || value === 'false')) return value === 'true'
  return value
}

/**
 * A streaming writer of one feed format into `out`: rows are written as they come (never all held), with
 * back-pressure. CSV: a header of the targets, UTF-8 with BOM (spreadsheets read the accents); JSON: an array of
 * objects (dotted targets nest); XML: an RSS 2.0 channel of items in the g: namespace; XLSX: one sheet whose
 * cells are typed by `o.kinds` (numbers numeric, booleans boolean, text as text; no kinds: all text).
 */
export function feedWriter(
  format: FeedFormat,
  targets: readonly string[],
  out: PassThrough,
  o: { title: string; kinds?: readonly ColumnKind[] },
): FeedWriter {
  switch (format) {
    case 'csv': {
      const sink = chunked(out)
      let started = false
      return {
        async write(row) {
          if (!started) {
            started = true
            await sink.put(`\uFEFF${targets.map(quoteIfNeeded).join(',')}\r\n`)
          }
          await sink.put(`${targets.map((t) => csvField(row[t] ?? null)).join(',')}\r\n`)
        },
        async end() {
          if (!started) await sink.put(`\uFEFF${targets.map(quoteIfNeeded).join(',')}\r\n`)
          await sink.end()
        },
      }
    }
    case 'json': {
      const sink = chunked(out)
      let first = true
      return {
        async write(row) {
          await sink.put(`${first ? '[\n' : ',\n'}${JSON.stringify(nest(row))}`)
          first = false
        },
        async end() {
          await sink.put(first ? '[]\n' : '\n]\n')
          await sink.end()
        },
      }
    }
    case 'xml': {
      let started = false
      const head = `<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n<channel>\n<title>${xmlText(o.title)}</title>\n`
      const elements = targets.map(xmlElement)
      const sink = chunked(out)
      return {
        async write(row) {
          if (!started) {
            started = true
            await sink.put(head)
          }
          let item = '<item>'
          targets.forEach((t, i) => {
            const value = row[t]
            if (value !== null && value !== undefined)
              item += `<${elements[i]}>${xmlText(value)}</${elements[i]}>`
          })
          await sink.put(`${item}</item>\n`)
        },
        async end() {
          if (!started) await sink.put(head)
          await sink.put('</channel>\n</rss>\n')
          await sink.end()
        },
      }
    }
    case 'xlsx': {
      const workbook = new XlsxWriter(out, 'feed')
      const kinds = o.kinds ?? []
      let started = false
      return {
        async write(row) {
          if (!started) {
            started = true
            await workbook.row(targets)
          }
          await workbook.row(targets.map((t, i) => typedCell(row[t], kinds[i] ?? 'text')))
        },
        async end() {
          if (!started) await workbook.row(targets)
          await workbook.end()
        },
      }
    }
  }
}

/** Dotted targets become nested objects, numeric segments arrays: images.0.src → { images: [{ src }] }. */
export function nest(row: Row): Record<string, unknown> {
  const result: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(row)) {
    if (!key.includes('.')) {
      result[key] = value
      continue
    }
    const parts = key.split('.')
    // biome-ignore lint/suspicious/noExplicitAny: a tree built key by key
    let at: any = result
    parts.forEach((part, i) => {
      const last = i === parts.length - 1
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1]!)
      const slot = /^\d+$/.test(part) && Array.isArray(at) ? Number(part) : part
      if (last) at[slot] = value
      else {
        at[slot] ??= nextIsIndex ? [] : {}
        at = at[slot]
      }
    })
  }
  return result
}
