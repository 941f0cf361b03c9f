import { type Decimal, toDecimal } from './decimal'

/** How a file writes numbers. */
export interface NumberFormat {
  decimal: ',' | '.'
  /** Characters that group thousands; spaces (also no-break and thin ones) are always accepted. */
  groups: string
}

const COMMA_DECIMAL = [
  'fr',
  'de',
  'es',
  'it',
  'nl',
  'pt',
  'pl',
  'sv',
  'da',
  'fi',
  'nb',
  'no',
  'cs',
  'sk',
  'ru',
  'tr',
  'el',
  'hu',
  'ro',
  'bg',
  'hr',
  'sl',
  'lt',
  'lv',
  'et',
  'uk',
  'ca',
]
const POINT_DECIMAL = ['en', 'ja', 'zh', 'ko', 'he', 'th', 'ga', 'mt']

/** "fr", "fr-FR", "de_CH", "en-US" → how numbers are written there; undefined for a locale not known. */
export function numberFormatOf(locale: string): NumberFormat | undefined {
  const language = locale.toLowerCase().split(/[-_]/)[0]!
  // Swiss German, French and Italian write 1'234.50.
  if (/^(de|fr|it)[-_]ch$/i.test(locale)) return { decimal: '.', groups: "'’" }
  // French groups thousands with spaces only, so "1.234" there is a decimal point; German with ".".
  if (language === 'fr') return { decimal: ',', groups: '' }
  if (COMMA_DECIMAL.includes(language)) return { decimal: ',', groups: '.' }
  if (POINT_DECIMAL.includes(language)) return { decimal: '.', groups: ',' }
  return undefined
}

export const KNOWN_LOCALES = [...COMMA_DECIMAL, ...POINT_DECIMAL]

const SPACES = /[\s\u00a0\u202f\u2009]/g
const CURRENCY = /^[€$£¥]|[€$£¥]$|\s?(EUR|USD|GBP|CHF)$/i

export type NumberResult = { ok: true; value: Decimal } | { ok: false; reason: string }

/**
 * A number as people write it: "12,50", "1 234,50", "1.234,50", "1,234.50", "12.5", "-3", "12,50 €", "1.5E3".
 * Without a format, the last of "." and "," is the decimal point when both appear; a lone "," is the decimal
 * point unless it is followed by exactly three digits (1,234 could be either: refused as ambiguous); a lone
 * "." is the decimal point.
 */
const PLAIN = /^-?\d{1,30}(?:\.\d{1,30})?$/
const PLAIN_COMMA = /^-?\d{1,30},\d{1,30}$/

export function parseNumber(raw: string, format?: NumberFormat): NumberResult {
  // The common cases first: "12.50" (when "." cannot group thousands) and "12,50" in a comma-decimal file.
  if (PLAIN.test(raw) && !format?.groups.includes('.')) return { ok: true, value: toDecimal(raw)! }
  if (format?.decimal === ',' && PLAIN_COMMA.test(raw))
    return { ok: true, value: toDecimal(raw.replace(',', '.'))! }
  let text = raw.trim().replace(CURRENCY, '').trim()
  if (text === '') return { ok: false, reason: 'is empty' }
  let negative = false
  if (text.startsWith('-') || text.startsWith('+')) {
    negative = text[0] === '-'
    text = text.slice(1).trimStart()
  }
  text = text.replace(SPACES, '')
  if (/^\d*\.?\d+e[+-]?\d+$/i.test(text)) {
    const value = toDecimal(text)
    return value ? { ok: true, value: negate(value, negative) } : { ok: false, reason: 'is not a number' }
  }
  if (!/^[\d.,'’]+$/.test(text) || !/\d/.test(text)) return { ok: false, reason: 'is not a number' }

  let decimal: string | undefined
  let group: string | undefined
  const lastComma = text.lastIndexOf(',')
  const lastPoint = text.lastIndexOf('.')
  if (format) {
    const other = format.decimal === ',' ? '.' : ','
    if (text.includes(format.decimal)) {
      decimal = format.decimal
      if (text.includes(other)) group = other
    } else if (text.includes(other)) {
      if (format.groups.includes(other) && validGrouping(text, other)) group = other
      else if (text.split(other).length === 2)
        decimal = other // "12.50" written by a machine in a French file
      else group = other
    }
  } else if (lastComma !== -1 && lastPoint !== -1) {
    decimal = lastComma > lastPoint ? ',' : '.'
    group = decimal === ',' ? '.' : ','
  } else if (lastComma !== -1) {
    const commas = text.split(',').length - 1
    if (commas > 1) group = ','
    else {
      const after = text.length - lastComma - 1
      if (after === 3 && /^[1-9]\d{0,2},\d{3}$/.test(text)) {
        return {
          ok: false,
          reason: 'is ambiguous (1,234 is either 1234 or 1.234): give the file a number locale',
        }
      }
      decimal = ','
    }
  } else if (lastPoint !== -1) {
    const points = text.split('.').length - 1
    if (points > 1) group = '.'
    else decimal = '.'
  }
  for (const g of "'’") {
    if (text.includes(g)) {
      if (group !== undefined && group !== g) return { ok: false, reason: 'is not a number' }
      group = g
    }
  }

  let whole = text
  let fraction = ''
  if (decimal !== undefined && text.includes(decimal)) {
    const at = text.lastIndexOf(decimal)
    if (text.indexOf(decimal) !== at) return { ok: false, reason: 'has more than one decimal mark' }
    whole = text.slice(0, at)
    fraction = text.slice(at + 1)
  }
  if (group !== undefined && whole.includes(group)) {
    if (!validGrouping(whole, group)) return { ok: false, reason: 'has misplaced thousands separators' }
    whole = whole.split(group).join('')
  }
  if (!/^\d*$/.test(whole) || !/^\d*$/.test(fraction) || whole + fraction === '') {
    return { ok: false, reason: 'is not a number' }
  }
  const value = toDecimal(`${whole || '0'}${fraction ? `.${fraction}` : ''}`)!
  return { ok: true, value: negate(value, negative) }
}

function negate(d: Decimal, negative: boolean): Decimal {
  return negative ? { units: -d.units, scale: d.scale } : d
}

/** "1.234.567" groups by three after the first group of one to three digits. */
function validGrouping(whole: string, group: string): boolean {
  const parts = whole.split(group)
  return /^\d{1,3}$/.test(parts[0]!) && parts.slice(1).every((p) => /^\d{3}$/.test(p))
}
