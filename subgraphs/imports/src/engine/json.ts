import { type ByteSource, closing, decodeText } from './bytes'
import type { RecordLimits } from './records'
import type { ParsedSource, RawRecord, RowIssue } from './types'
import { SourceError } from './types'

/**
 * Nested objects to dotted column names ({"price": {"amount": 1}} → "price.amount"), arrays by index
 * ("images.0"); null is absent; numbers and booleans as JSON writes them.
 */
export function flatten(
  value: unknown,
  prefix: string,
  out: Record<string, string>,
  limit: { left: number },
) {
  if (value === null || value === undefined) return
  if (typeof value === 'object') {
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value)
    for (const [key, v] of entries) {
      flatten(v, prefix ? `${prefix}.${key}` : key, out, limit)
      if (limit.left < 0) return
    }
    return
  }
  if (--limit.left < 0) return
  out[prefix] = typeof value === 'string' ? value : String(value)
}

function recordOf(text: string, rowNumber: number, limits: RecordLimits, seen: Set<string>): RawRecord {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return issueRecord(rowNumber, {
      rule: 'json',
      message: `the record is not valid JSON: ${(error as Error).message}`,
      rawValue: text.slice(0, 200),
    })
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return issueRecord(rowNumber, {
      rule: 'json',
      message: 'the record is not a JSON object',
      rawValue: text.slice(0, 200),
    })
  }
  const values: Record<string, string> = {}
  const limit = { left: limits.maxColumns }
  flatten(parsed, '', values, limit)
  if (limit.left < 0) {
    return issueRecord(rowNumber, {
      rule: 'maxColumns',
      message: `the record has more than ${limits.maxColumns} values; at most ${limits.maxColumns} columns are allowed`,
    })
  }
  if (seen.size < 10_000) for (const key in values) seen.add(key)
  return { rowNumber, values }
}

function keyOf(escaped: string): string {
  try {
    return JSON.parse(`"${escaped}"`)
  } catch {
    return escaped
  }
}

function issueRecord(rowNumber: number, issue: RowIssue): RawRecord {
  return { rowNumber, values: {}, issue }
}

function tooLong(rowNumber: number, limits: RecordLimits): RawRecord {
  return issueRecord(rowNumber, {
    rule: 'maxLineBytes',
    message: `the record is longer than ${limits.maxLineBytes} characters; it was skipped`,
  })
}

/** JSON lines: one object per line; blank lines skipped; a line's length is bounded while it is read. */
export async function openJsonLines(
  bytes: ByteSource,
  o: { encoding?: string; limits: RecordLimits; warnings: string[] },
): Promise<ParsedSource> {
  const decoded = await decodeText(bytes, {
    encoding: o.encoding,
    what: 'a JSON lines file',
    warnings: o.warnings,
  })
  const seen = new Set<string>()
  const { limits } = o
  async function* records(): AsyncGenerator<RawRecord> {
    let parts: string[] = []
    let length = 0
    let overflow = false
    let rowNumber = 0
    const finish = (): RawRecord | undefined => {
      const text = parts.length === 1 ? parts[0]! : parts.join('')
      const wasOverflow = overflow
      parts = []
      length = 0
      overflow = false
      if (wasOverflow) return tooLong(++rowNumber, limits)
      if (text.trim() === '') return undefined
      return recordOf(text, ++rowNumber, limits, seen)
    }
    for await (const chunk of decoded.chunks) {
      let start = 0
      for (;;) {
        const nl = chunk.indexOf('\n', start)
        const end = nl === -1 ? chunk.length : nl
        if (!overflow) {
          length += end - start
          if (length > limits.maxLineBytes) {
            overflow = true
            parts = []
          } else if (end > start) parts.push(chunk.slice(start, end))
        }
        if (nl === -1) break
        const record = finish()
        if (record) yield record
        start = nl + 1
      }
    }
    const record = finish()
    if (record) yield record
  }
  return {
    format: 'jsonl',
    encoding: decoded.encoding,
    columns: () => (seen.size ? [...seen] : undefined),
    records: closing(records(), bytes),
    warnings: o.warnings,
    bytesRead: () => bytes.consumed,
    close: () => bytes.close(),
  }
}

enum Top {
  Start,
  Array,
  Object,
  Done,
}

/**
 * A JSON document whose records are the elements of its top-level array, or of the array under one key of a
 * top-level object (`recordElement`, else the first key holding an array). Elements are cut out of the text
 * by a scanner that tracks strings and nesting, so one element at a time is in memory (bounded by
 * maxLineBytes), and each is parsed by JSON.parse.
 */
export async function openJson(
  bytes: ByteSource,
  o: { encoding?: string; recordElement?: string; limits: RecordLimits; warnings: string[] },
): Promise<ParsedSource> {
  const decoded = await decodeText(bytes, { encoding: o.encoding, what: 'a JSON file', warnings: o.warnings })
  const seen = new Set<string>()
  const { limits, recordElement } = o

  async function* records(): AsyncGenerator<RawRecord> {
    let top = Top.Start
    let depth = 0
    let inString = false
    let escaped = false
    // Inside the records array: the depth of its elements' container, else -1.
    let recordDepth = -1
    // Top-level object keys: the key being read and the last key read at depth 1.
    let keyParts: string[] | undefined
    let lastKey = ''
    let expectKey = false
    let elemParts: string[] | undefined
    let elemLength = 0
    let elemOverflow = false
    let elemStart = -1
    let elemScalar = false
    let rowNumber = 0
    let sawRecords = false
    const out: RawRecord[] = []

    const endElement = (chunk: string, end: number) => {
      let text = ''
      if (!elemOverflow) {
        elemParts!.push(chunk.slice(elemStart, end))
        text = elemParts!.join('')
        if (text.length > limits.maxLineBytes) elemOverflow = true
      }
      out.push(elemOverflow ? tooLong(++rowNumber, limits) : recordOf(text, ++rowNumber, limits, seen))
      elemParts = undefined
      elemStart = -1
      elemOverflow = false
      elemLength = 0
    }

    for await (const chunk of decoded.chunks) {
      const len = chunk.length
      if (elemParts) elemStart = 0
      for (let i = 0; i < len; i++) {
        const c = chunk.charCodeAt(i)
        if (inString) {
          if (escaped) {
            escaped = false
            keyParts?.push(chunk[i]!)
          } else if (c === 92 /* \ */) {
            escaped = true
            keyParts?.push('\\')
          } else if (c === 34 /* " */) {
            inString = false
            if (keyParts) {
              lastKey = keyOf(keyParts.join(''))
              keyParts = undefined
              expectKey = false
            }
          } else if (keyParts && keyParts.length < 1000) keyParts.push(chunk[i]!)
          continue
        }
        if (c === 32 || c === 10 || c === 13 || c === 9) {
          if (elemScalar && elemParts && depth === recordDepth) {
            endElement(chunk, i)
            elemScalar = false
          }
          continue
        }
        if (top === Top.Start) {
          if (c === 91 /* [ */) {
            top = Top.Array
            depth = 1
            recordDepth = 1
            sawRecords = true
          } else if (c === 123 /* { */) {
            top = Top.Object
            depth = 1
            expectKey = true
          } else {
            throw new SourceError(
              'the file is not JSON: it does not start with [ or { (JSON lines? name it .jsonl)',
              'MALFORMED',
            )
          }
          continue
        }
        if (top === Top.Done) {
          throw new SourceError('the JSON goes on after its records array is closed', 'MALFORMED')
        }
        if (recordDepth !== -1 && depth === recordDepth && !elemParts) {
          // Between elements of the records array.
          if (c === 44 /* , */) continue
          if (c === 93 /* ] */) {
            depth--
            recordDepth = -1
            if (top === Top.Array) top = Top.Done
            else expectKey = false
            continue
          }
          elemParts = []
          elemLength = 0
          elemStart = i
          elemScalar = c !== 123 && c !== 91
          if (c === 34) inString = true
          else if (!elemScalar) depth++
          continue
        }
        if (elemParts && elemScalar && depth === recordDepth && (c === 44 || c === 93)) {
          endElement(chunk, i)
          elemScalar = false
          i-- // the comma or bracket is read again between elements
          continue
        }
        if (c === 34) {
          inString = true
          if (top === Top.Object && depth === 1 && expectKey && recordDepth === -1) keyParts = []
          continue
        }
        if (c === 123 || c === 91) {
          depth++
          if (
            c === 91 &&
            top === Top.Object &&
            depth === 2 &&
            recordDepth === -1 &&
            !sawRecords &&
            (recordElement === undefined || recordElement === lastKey)
          ) {
            recordDepth = 2
            sawRecords = true
          }
          continue
        }
        if (c === 125 || c === 93) {
          depth--
          if (elemParts && !elemScalar && depth === recordDepth) endElement(chunk, i + 1)
          if (top === Top.Object && depth === 0) top = Top.Done
          continue
        }
        if (top === Top.Object && depth === 1) {
          if (c === 44) expectKey = true
        }
      }
      if (elemParts && elemStart >= 0 && !elemOverflow) {
        elemLength += len - elemStart
        if (elemLength > limits.maxLineBytes) {
          elemOverflow = true
          elemParts = []
        } else elemParts.push(chunk.slice(elemStart))
      }
      if (out.length) {
        yield* out
        out.length = 0
      }
    }
    if (elemParts && elemScalar && depth === recordDepth) endElement('', 0)
    yield* out
    if (top === Top.Start) throw new SourceError('the file is empty', 'EMPTY')
    if (inString || depth > 0) {
      throw new SourceError(
        'the JSON ends before its records array is closed (a truncated file?)',
        'TRUNCATED',
      )
    }
    if (!sawRecords) {
      throw new SourceError(
        recordElement
          ? `the JSON object has no key "${recordElement}" holding an array of records`
          : 'the JSON object has no key holding an array of records',
        'MALFORMED',
      )
    }
  }

  return {
    format: 'json',
    encoding: decoded.encoding,
    columns: () => (seen.size ? [...seen] : undefined),
    records: closing(records(), bytes),
    warnings: o.warnings,
    bytesRead: () => bytes.consumed,
    close: () => bytes.close(),
  }
}
