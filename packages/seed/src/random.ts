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

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

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
    const bytes = new Uint8Array(16)
    for (let i = 0; i < 16; i += 4) {
      const v = this.uint32()
      bytes[i] = v >>> 24
      bytes[i + 1] = (v >>> 16) & 0xff
      bytes[i + 2] = (v >>> 8) & 0xff
      bytes[i + 3] = v & 0xff
    }
    bytes[6] = (bytes[6]! & 0x0f) | 0x40
    bytes[8] = (bytes[8]! & 0x3f) | 0x80
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }

  hex(length: number): string {
    let out = ''
    while (out.length < length) out += this.uint32().toString(16).padStart(8, '0')
    return out.slice(0, length)
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

export function slugify(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
}

/** The UTC calendar date of an instant, as PostgreSQL's DATE literal. */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10)
}

export const DAY_MS = 86_400_000
