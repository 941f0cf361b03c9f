import { SaxesParser } from 'saxes'
import { type ByteSource, closing, decodeText } from './bytes'
import type { RecordLimits } from './records'
import type { ParsedSource, RawRecord } from './types'
import { SourceError } from './types'

/** The encoding an XML declaration names (`<?xml version="1.0" encoding="ISO-8859-1"?>`). */
export function declaredXmlEncoding(sample: Buffer): string | undefined {
  const head = sample.subarray(0, 200).toString('latin1')
  return /^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1]
}

interface Open {
  /** Column name of this element, relative to the record ('' for the record element itself). */
  path: string
  text: string
  children: boolean
}

/**
 * Records are the elements named `recordElement` (else the root's first child's name), wherever they are
 * (not inside another record). Inside one: a child element's text is the column named by its path from the
 * record ("price", "dimensions.weight"); an attribute is "<path>@<name>", the record's own ones
 * "<record>@<name>"; a repeated element's second value is "<path>.2", then ".3", …
 */
export async function openXml(
  bytes: ByteSource,
  o: { encoding?: string; recordElement?: string; limits: RecordLimits; warnings: string[] },
): Promise<ParsedSource> {
  const decoded = await decodeText(bytes, {
    encoding: o.encoding,
    what: 'an XML file',
    warnings: o.warnings,
    declaredEncoding: declaredXmlEncoding,
  })
  const { limits } = o
  let recordName = o.recordElement
  const seen = new Set<string>()

  async function* records(): AsyncGenerator<RawRecord> {
    const parser = new SaxesParser({ position: true })
    const out: RawRecord[] = []
    let depth = 0
    let sawRoot = false
    // Inside a record: the open elements from the record down, and the record's values.
    let stack: Open[] | undefined
    let values: Record<string, string> = {}
    let counts = new Map<string, number>()
    let size = 0
    let width = 0
    let tooLong = false
    let rowNumber = 0

    const put = (name: string, value: string) => {
      if (tooLong) return
      size += value.length + name.length
      if (size > limits.maxLineBytes) {
        tooLong = true
        values = {}
        return
      }
      let key = name
      const n = (counts.get(name) ?? 0) + 1
      counts.set(name, n)
      if (n > 1) key = `${name}.${n}`
      if (++width > limits.maxColumns) return
      values[key] = value
    }

    parser.on('opentag', (tag) => {
      depth++
      if (!sawRoot) {
        sawRoot = true
        return
      }
      if (!stack) {
        if (recordName === undefined && depth === 2) recordName = tag.name
        if (tag.name !== recordName) return
        stack = [{ path: '', text: '', children: false }]
        values = {}
        counts = new Map()
        size = 0
        width = 0
        tooLong = false
        for (const [name, value] of Object.entries(tag.attributes))
          put(`${tag.name}@${name}`, value as string)
        return
      }
      const parent = stack[stack.length - 1]!
      parent.children = true
      const path = parent.path ? `${parent.path}.${tag.name}` : tag.name
      stack.push({ path, text: '', children: false })
      for (const [name, value] of Object.entries(tag.attributes)) put(`${path}@${name}`, value as string)
    })
    const onText = (text: string) => {
      if (!stack || tooLong) return
      const top = stack[stack.length - 1]!
      top.text += text
      if (top.text.length + size > limits.maxLineBytes) {
        tooLong = true
        values = {}
        top.text = ''
      }
    }
    parser.on('text', onText)
    parser.on('cdata', onText)
    parser.on('closetag', () => {
      depth--
      if (!stack) return
      const closed = stack.pop()!
      if (stack.length > 0) {
        const text = closed.text.trim()
        if (text !== '' || !closed.children) put(closed.path, text)
        return
      }
      // The record element closed.
      if (closed.text.trim() !== '') put(recordName!, closed.text.trim())
      rowNumber++
      if (tooLong) {
        out.push({
          rowNumber,
          values: {},
          issue: {
            rule: 'maxLineBytes',
            message: `the record is longer than ${limits.maxLineBytes} characters; it was skipped`,
          },
        })
      } else if (width > limits.maxColumns) {
        out.push({
          rowNumber,
          values: {},
          issue: {
            rule: 'maxColumns',
            message: `the record has ${width} values; at most ${limits.maxColumns} columns are allowed`,
          },
        })
      } else {
        if (seen.size < 10_000) for (const key in values) seen.add(key)
        out.push({ rowNumber, values })
      }
      stack = undefined
    })
    let failure: Error | undefined
    parser.on('error', (error) => {
      failure ??= error
    })

    const fail = (error: Error): never => {
      throw new SourceError(`the XML is malformed: ${error.message}`, 'MALFORMED', rowNumber + 1)
    }
    for await (const chunk of decoded.chunks) {
      parser.write(chunk)
      if (failure) fail(failure)
      if (out.length) {
        yield* out
        out.length = 0
      }
    }
    parser.close()
    if (failure) fail(failure)
    yield* out
    if (!sawRoot) throw new SourceError('the file has no XML element: it is empty', 'EMPTY')
    if (depth > 0)
      throw new SourceError('the XML ends before its root element is closed (a truncated file?)', 'TRUNCATED')
  }

  return {
    format: 'xml',
    encoding: decoded.encoding,
    columns: () => (seen.size ? [...seen] : undefined),
    records: closing(records(), bytes),
    warnings: o.warnings,
    bytesRead: () => bytes.consumed,
    close: () => bytes.close(),
  }
}
