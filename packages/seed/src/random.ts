import { createHash } from 'node:crypto'

/** cyrb128: four 32-bit seeds from a string, so every labelled stream starts from a different state. */
function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703
  let h2 = 3144134277
  let h3 = 1013904242
  let h4 = 2773480762
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067)
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233)
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213)
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179)
  h1 ^= h2 ^ h3 ^ h4
  h2 ^= h1
  h3 ^= h1
  h4 ^= h1
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0]
}

export const DAY_MS = 86_400_000

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

function hex32(v: number): string {
  return HEX[v >>> 24]! + HEX[(v >>> 16) & 0xff]! + HEX[(v >>> 8) & 0xff]! + HEX[v & 0xff]!
}

function hex16(v: number): string {
  return HEX[(v >>> 8) & 0xff]! + HEX[v & 0xff]!
}

/** Four 32-bit words as a UUID string, with the version (4) and variant (10) bits set. */
function formatUuid(a: number, b: number, c: number, d: number): string {
  const b2 = ((b & 0xffff0fff) | 0x4000) >>> 0
  const c2 = ((c & 0x3fffffff) | 0x80000000) >>> 0
  return `${hex32(a)}-${hex16(b2 >>> 16)}-${hex16(b2)}-${hex16(c2 >>> 16)}-${hex16(c2)}${hex32(d)}`
}

/** The first 32 bits of the `rank`-th of `total` ordered ids, spread evenly over the whole range. */
export function rankPrefix(rank: number, total: number): number {
  return Math.floor((rank * 4294967296) / Math.max(1, total)) >>> 0
}

/**
 * A small deterministic PRNG (sfc32). Each data area draws from its own labelled stream, so adding
 * draws to one table never shifts the ids of another.
 */
export class Random {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(label: string) {
    ;[this.a, this.b, this.c, this.d] = hash128(label)
    // Discard the first outputs: sfc32 mixes poorly right after seeding.
    for (let i = 0; i < 15; i++) this.uint32()
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296
  }

  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1))
  }

  chance(p: number): boolean {
    return this.float() < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[Math.floor(this.float() * items.length)]!
  }

  /** Picks by weight: entries are [value, weight]. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((sum, [, w]) => sum + w, 0)
    let x = this.float() * total
    for (const [value, w] of entries) {
      x -= w
      if (x < 0) return value
    }
    return entries[entries.length - 1]![0]
  }

  /** k distinct items, in random order (Fisher-Yates on a copy). */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = [...items]
    const n = Math.min(k, copy.length)
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.float() * (copy.length - i))
      ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
    }
    return copy.slice(0, n)
  }

  /** A version 4 UUID built from this stream's bits (RFC 9562 layout: version 4, variant 10). */
  uuid(): string {
    return formatUuid(this.uint32(), this.uint32(), this.uint32(), this.uint32())
  }

  /**
   * A version 4 UUID whose first 32 bits are `prefix` and the rest this stream's bits: ids that grow
   * with `prefix` fill their B-tree indexes at the right edge instead of at random pages.
   */
  orderedUuid(prefix: number): string {
    return formatUuid(prefix >>> 0, this.uint32(), this.uint32(), this.uint32())
  }

  hex(length: number): string {
    let out = ''
    while (out.length < length) out += hex32(this.uint32())
    return out.length === length ? out : out.slice(0, length)
  }

  digits(length: number): string {
    let out = ''
    for (let i = 0; i < length; i++) out += String(this.int(0, 9))
    return out
  }

  alnum(length: number): string {
    let out = ''
    for (let i = 0; i < length; i++) out += ALNUM[this.int(0, ALNUM.length - 1)]
    return out
  }

  /** A date uniformly between two instants, to the millisecond. */
  dateBetween(from: Date, to: Date): Date {
    const lo = from.getTime()
    const hi = Math.max(lo, to.getTime())
    return new Date(lo + Math.floor(this.float() * (hi - lo + 1)))
  }
}

/** GS1 check digit (EAN-8/13, GTIN-14) of a code's body, i.e. all digits but the last. */
export function gtinCheckDigit(body: string): number {
  let sum = 0
  // Weights alternate 3,1 starting from the rightmost digit of the body.
  for (let i = 0; i < body.length; i++) {
    const digit = body.charCodeAt(body.length - 1 - i) - 48
    sum += i % 2 === 0 ? digit * 3 : digit
  }
  return (10 - (sum % 10)) % 10
}

export function isValidGtin(code: string): boolean {
  if (!/^[0-9]{8,14}$/.test(code)) return false
  return gtinCheckDigit(code.slice(0, -1)) === Number(code.at(-1))
}

/** An integer as a NUMERIC literal with `scale` decimals, e.g. fixed(129999, 2) = '1299.99' (exact, no float). */
export function fixed(units: number, scale: number): string {
  if (!Number.isSafeInteger(units)) throw new Error(`fixed() needs a safe integer, got ${units}`)
  const negative = units < 0
  const digits = String(Math.abs(units)).padStart(scale + 1, '0')
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`
  return negative ? `-${text}` : text
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

const isoDates = new Map<number, string>()

/** The UTC calendar date of an instant, as PostgreSQL's DATE literal (cached per day: toISOString is slow). */
export function isoDate(date: Date): string {
  const day = Math.floor(date.getTime() / DAY_MS)
  let text = isoDates.get(day)
  if (text === undefined) {
    if (isoDates.size > 100_000) isoDates.clear()
    text = date.toISOString().slice(0, 10)
    isoDates.set(day, text)
  }
  return text
}
