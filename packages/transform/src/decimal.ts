/**
 * Exact decimal arithmetic on strings: a value is an integer of units and a scale (12.50 = 1250 × 10⁻²),
 * held in a BigInt, so no float ever touches a price or a weight.
 */
export interface Decimal {
  units: bigint
  scale: number
}

const CANONICAL = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/

/** "12.5", "-0.001", "1.5E+3", ".5" (also what JSON and JavaScript write for numbers) → a Decimal. */
export function toDecimal(text: string | number): Decimal | undefined {
  let s = typeof text === 'number' ? numberText(text) : text.trim()
  if (s === undefined) return undefined
  if (s.startsWith('.') || s.startsWith('-.') || s.startsWith('+.')) s = s.replace('.', '0.')
  const m = CANONICAL.exec(s)
  if (!m) return undefined
  const [, sign, whole, fraction = '', exponent = '0'] = m
  let digits = whole! + fraction
  let scale = fraction.length - Number(exponent)
  if (scale < 0) {
    digits += '0'.repeat(-scale)
    scale = 0
  }
  const units = BigInt(digits)
  return { units: sign === '-' ? -units : units, scale }
}

function numberText(n: number): string | undefined {
  return Number.isFinite(n) ? String(n) : undefined
}

const TEN = 10n

const POWERS = Array.from({ length: 40 }, (_, i) => TEN ** BigInt(i))

function pow10(n: number): bigint {
  return POWERS[n] ?? TEN ** BigInt(n)
}

function rescale(d: Decimal, scale: number): Decimal {
  return scale >= d.scale ? { units: d.units * pow10(scale - d.scale), scale } : roundTo(d, scale)
}

/** Half away from zero ("commercial" rounding): 2.345 → 2.35, -2.345 → -2.35. */
export function roundTo(d: Decimal, scale: number): Decimal {
  if (d.scale <= scale) return rescale(d, scale)
  const divisor = pow10(d.scale - scale)
  const negative = d.units < 0n
  const abs = negative ? -d.units : d.units
  let q = abs / divisor
  if ((abs % divisor) * 2n >= divisor) q += 1n
  return { units: negative ? -q : q, scale }
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return trim({ units: a.units * b.units, scale: a.scale + b.scale })
}

/** a / b with `extra` more decimals than the operands, rounded half away from zero; exact when it terminates. */
export function divide(a: Decimal, b: Decimal, extra = 12): Decimal | undefined {
  if (b.units === 0n) return undefined
  const scale = Math.max(a.scale, b.scale) + extra
  // a / b = (a.units / 10^a.scale) / (b.units / 10^b.scale)
  const numerator = a.units * pow10(scale + b.scale - a.scale) * 2n
  const q2 = numerator / b.units // twice the quotient, for rounding
  const q = q2 >= 0n ? (q2 + 1n) / 2n : (q2 - 1n) / 2n
  return trim({ units: q, scale })
}

export function add(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale)
  return { units: rescale(a, scale).units + rescale(b, scale).units, scale }
}

export function compare(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale)
  const x = rescale(a, scale).units
  const y = rescale(b, scale).units
  return x < y ? -1 : x > y ? 1 : 0
}

/** Drops trailing zero decimals. */
export function trim(d: Decimal): Decimal {
  let { units, scale } = d
  while (scale > 0 && units % TEN === 0n) {
    units /= TEN
    scale--
  }
  return { units, scale }
}

/** The text form, with exactly `scale` decimals when given ("12.50"), else as few as needed. */
export function formatDecimal(d: Decimal, scale?: number): string {
  const v = scale === undefined ? trim(d) : rescale(d, scale)
  const negative = v.units < 0n
  let digits = (negative ? -v.units : v.units).toString()
  if (v.scale > 0) {
    digits = digits.padStart(v.scale + 1, '0')
    digits = `${digits.slice(0, -v.scale)}.${digits.slice(-v.scale)}`
  }
  return negative && /[1-9]/.test(digits) ? `-${digits}` : digits
}

/** Digits before the point, for a NUMERIC(precision, scale) bound. */
export function integerDigits(d: Decimal): number {
  const abs = d.units < 0n ? -d.units : d.units
  const whole = abs / pow10(d.scale)
  return whole === 0n ? 0 : whole.toString().length
}
