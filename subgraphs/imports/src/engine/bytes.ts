import iconv from 'iconv-lite'
import { SourceError } from './types'

/** A byte stream whose first bytes can be looked at before it is consumed, counting what went through. */
export class ByteSource {
  private readonly iterator: AsyncIterator<Buffer | string>
  private head: Buffer[] = []
  private headBytes = 0
  private ended = false
  consumed = 0

  constructor(stream: AsyncIterable<Buffer | string>) {
    this.iterator = stream[Symbol.asyncIterator]()
  }

  /** At least `n` bytes from the start (fewer at end of stream), without consuming them. */
  async peek(n: number): Promise<Buffer> {
    while (this.headBytes < n && !this.ended) {
      const next = await this.iterator.next()
      if (next.done) {
        this.ended = true
        break
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value
      this.head.push(chunk)
      this.headBytes += chunk.length
    }
    if (this.head.length > 1) this.head = [Buffer.concat(this.head)]
    return this.head[0]?.subarray(0, n) ?? Buffer.alloc(0)
  }

  /** Drops `n` bytes from the start (a byte-order mark). */
  async skip(n: number) {
    const buf = await this.peek(n)
    this.head = [this.head[0]!.subarray(buf.length)]
    this.headBytes -= buf.length
    this.consumed += buf.length
  }

  async *chunks(): AsyncGenerator<Buffer> {
    const head = this.head
    this.head = []
    this.headBytes = 0
    for (const chunk of head) {
      if (chunk.length === 0) continue
      this.consumed += chunk.length
      yield chunk
    }
    if (this.ended) return
    for (;;) {
      const next = await this.iterator.next()
      if (next.done) return
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value
      this.consumed += chunk.length
      yield chunk
    }
  }

  /** Stops the underlying stream early (the caller gave up reading). */
  async close() {
    await this.iterator.return?.()
  }
}

/** Records that release the byte stream however reading ends: at the end, on an error, or stopped early. */
export async function* closing<T>(inner: AsyncGenerator<T>, bytes: ByteSource): AsyncGenerator<T> {
  try {
    yield* inner
  } finally {
    await bytes.close()
  }
}

const SAMPLE_BYTES = 64 * 1024

/** Windows-1252's 0x80–0x9F; the undefined bytes keep their Latin-1 code point. */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d,
  0x017d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
  0x0153, 0x9d, 0x017e, 0x0178,
]

const cp1252 = (b: number) => (b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80]! : b)

/** Where an incomplete UTF-8 sequence starts at the end of `buf` (buf.length when it ends complete). */
function completeUpTo(buf: Buffer): number {
  const len = buf.length
  for (let i = len - 1; i >= 0 && i >= len - 3; i--) {
    const b = buf[i]!
    if ((b & 0xc0) === 0x80) continue
    if (b < 0xc0) return len
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2
    return len - i < need ? i : len
  }
  return len
}

/**
 * UTF-8, where a byte sequence that is not valid UTF-8 is read as Windows-1252 instead of being replaced:
 * supplier files that mix the two (a UTF-8 export with a pasted Latin-1 cell) keep every character.
 */
export class Utf8WithFallback {
  private readonly strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  private tail: Buffer | undefined
  fallbackBytes = 0

  write(chunk: Buffer): string {
    const buf = this.tail ? Buffer.concat([this.tail, chunk]) : chunk
    const end = completeUpTo(buf)
    this.tail = end < buf.length ? buf.subarray(end) : undefined
    const body = end < buf.length ? buf.subarray(0, end) : buf
    try {
      return this.strict.decode(body)
    } catch {
      return this.slow(body)
    }
  }

  end(): string {
    const rest = this.tail
    this.tail = undefined
    return rest ? this.slow(rest) : ''
  }

  private slow(buf: Buffer): string {
    const parts: string[] = []
    let units: number[] = []
    const flush = () => {
      parts.push(String.fromCharCode(...units))
      units = []
    }
    const len = buf.length
    for (let i = 0; i < len; ) {
      const b = buf[i]!
      if (b < 0x80) {
        units.push(b)
        i++
      } else {
        const cp = this.sequence(buf, i)
        if (cp === undefined) {
          units.push(cp1252(b))
          this.fallbackBytes++
          i++
        } else {
          if (cp > 0xffff) {
            const v = cp - 0x10000
            units.push(0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff))
          } else units.push(cp)
          i += cp >= 0x10000 ? 4 : cp >= 0x800 ? 3 : 2
        }
      }
      if (units.length >= 8192) flush()
    }
    flush()
    return parts.join('')
  }

  /** The code point of a valid UTF-8 sequence at `i`, else undefined. */
  private sequence(buf: Buffer, i: number): number | undefined {
    const b = buf[i]!
    const c1 = buf[i + 1]
    const cont = (x: number | undefined) => x !== undefined && (x & 0xc0) === 0x80
    if (b >= 0xc2 && b <= 0xdf) return cont(c1) ? ((b & 0x1f) << 6) | (c1! & 0x3f) : undefined
    if (b >= 0xe0 && b <= 0xef) {
      const c2 = buf[i + 2]
      if (!cont(c1) || !cont(c2)) return undefined
      if ((b === 0xe0 && c1! < 0xa0) || (b === 0xed && c1! >= 0xa0)) return undefined
      return ((b & 0x0f) << 12) | ((c1! & 0x3f) << 6) | (c2! & 0x3f)
    }
    if (b >= 0xf0 && b <= 0xf4) {
      const c2 = buf[i + 2]
      const c3 = buf[i + 3]
      if (!cont(c1) || !cont(c2) || !cont(c3)) return undefined
      if ((b === 0xf0 && c1! < 0x90) || (b === 0xf4 && c1! >= 0x90)) return undefined
      return ((b & 0x07) << 18) | ((c1! & 0x3f) << 12) | ((c2! & 0x3f) << 6) | (c3! & 0x3f)
    }
    return undefined
  }
}

function validUtf8(sample: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample.subarray(0, completeUpTo(sample)))
    return true
  } catch {
    return false
  }
}

/** What the first bytes say the file really is, when that is not text. */
export function sniffBinary(sample: Buffer): string | undefined {
  const starts = (...bytes: number[]) => bytes.every((b, i) => sample[i] === b)
  if (starts(0x50, 0x4b, 0x03, 0x04) || starts(0x50, 0x4b, 0x05, 0x06))
    return 'a ZIP archive (an XLSX workbook?)'
  if (starts(0xd0, 0xcf, 0x11, 0xe0)) return 'a legacy Excel .xls workbook (save it as .xlsx or CSV)'
  if (starts(0x1f, 0x8b)) return 'a gzip-compressed file (send it uncompressed)'
  if (starts(0x25, 0x50, 0x44, 0x46)) return 'a PDF document'
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'a PNG image'
  if (starts(0xff, 0xd8, 0xff)) return 'a JPEG image'
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'a GIF image'
  if (starts(0x52, 0x61, 0x72, 0x21)) return 'a RAR archive'
  if (starts(0x37, 0x7a, 0xbc, 0xaf)) return 'a 7-Zip archive'
  return undefined
}

export interface DecodedText {
  encoding: string
  chunks: AsyncIterable<string>
}

const CANONICAL: Record<string, string> = {
  utf8: 'UTF-8',
  utf16le: 'UTF-16LE',
  utf16be: 'UTF-16BE',
  utf16: 'UTF-16',
  windows1252: 'Windows-1252',
  cp1252: 'Windows-1252',
  iso88591: 'ISO-8859-1',
  latin1: 'ISO-8859-1',
  iso885915: 'ISO-8859-15',
  latin9: 'ISO-8859-15',
  windows1250: 'Windows-1250',
  cp1250: 'Windows-1250',
  usascii: 'US-ASCII',
  ascii: 'US-ASCII',
  macroman: 'MacRoman',
  macintosh: 'MacRoman',
}

const ICONV_NAME: Record<string, string> = { MacRoman: 'macintosh', 'US-ASCII': 'ascii' }

export function canonicalEncoding(name: string): string {
  const key = name.toLowerCase().replace(/[-_\s]/g, '')
  const canonical = CANONICAL[key]
  if (canonical) return canonical
  if (!iconv.encodingExists(name)) throw new SourceError(`unknown encoding "${name}"`, 'ENCODING')
  return name
}

/**
 * Text out of `bytes`: a byte-order mark wins, then the given encoding, else UTF-8 when the first 64 KiB are
 * valid UTF-8, else Windows-1252. UTF-8 is read with a Windows-1252 fallback for invalid bytes (counted into
 * `warnings` at the end). A file that is not text (NUL bytes, a known binary signature) is refused.
 */
export async function decodeText(
  bytes: ByteSource,
  o: {
    encoding?: string
    what: string
    warnings: string[]
    declaredEncoding?: (sample: Buffer) => string | undefined
  },
): Promise<DecodedText> {
  const sample = await bytes.peek(SAMPLE_BYTES)
  let bom: string | undefined
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) bom = 'UTF-8'
  else if (sample[0] === 0xff && sample[1] === 0xfe) bom = 'UTF-16LE'
  else if (sample[0] === 0xfe && sample[1] === 0xff) bom = 'UTF-16BE'

  let encoding: string | undefined
  const given = o.encoding ? canonicalEncoding(o.encoding) : undefined
  if (bom) {
    await bytes.skip(bom === 'UTF-8' ? 3 : 2)
    encoding = bom
    if (given && given !== bom && !(given === 'UTF-16' && bom.startsWith('UTF-16'))) {
      o.warnings.push(`the file starts with a ${bom} byte-order mark; read as ${bom}, not ${given}`)
    }
  } else {
    const binary = sniffBinary(sample)
    if (binary) throw new SourceError(`the file is ${binary}, not ${o.what}`, 'BINARY')
    const declared = o.declaredEncoding?.(sample)
    encoding = given ?? (declared ? canonicalEncoding(declared) : undefined)
    if (!encoding) {
      const zerosEven = countZeros(sample, 0)
      const zerosOdd = countZeros(sample, 1)
      const half = sample.length / 2
      if (zerosOdd > half * 0.3 && zerosEven < half * 0.05) encoding = 'UTF-16LE'
      else if (zerosEven > half * 0.3 && zerosOdd < half * 0.05) encoding = 'UTF-16BE'
      else encoding = validUtf8(sample) ? 'UTF-8' : 'Windows-1252'
    }
    if (!encoding.startsWith('UTF-16') && sample.includes(0)) {
      throw new SourceError(`the file is binary (it contains NUL bytes), not ${o.what}`, 'BINARY')
    }
  }

  if (encoding === 'UTF-8') {
    const decoder = new Utf8WithFallback()
    return {
      encoding,
      chunks: (async function* () {
        for await (const chunk of bytes.chunks()) {
          const text = decoder.write(chunk)
          if (text) yield text
        }
        const rest = decoder.end()
        if (rest) yield rest
        if (decoder.fallbackBytes > 0) {
          o.warnings.push(
            `${decoder.fallbackBytes} byte(s) were not valid UTF-8 and were read as Windows-1252; set the encoding if the file is not UTF-8`,
          )
        }
      })(),
    }
  }
  const decoder = iconv.getDecoder(ICONV_NAME[encoding] ?? encoding)
  return {
    encoding,
    chunks: (async function* () {
      for await (const chunk of bytes.chunks()) {
        const text = decoder.write(chunk)
        if (text) yield text
      }
      const rest = decoder.end()
      if (rest) yield rest
    })(),
  }
}

function countZeros(buf: Buffer, parity: 0 | 1): number {
  let n = 0
  for (let i = parity; i < buf.length; i += 2) if (buf[i] === 0) n++
  return n
}
