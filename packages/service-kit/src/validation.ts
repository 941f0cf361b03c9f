import { badUserInput } from './errors'

/**
 * Input checks that run before SQL, so callers get BAD_USER_INPUT naming the field instead of a
 * PostgreSQL error. Each returns the normalised value (trimmed strings, canonical decimals).
 */

interface StringRule {
  /** The column's VARCHAR(n). */
  max: number
  min?: number
  pattern?: RegExp
  patternHint?: string
}

export function checkString(field: string, value: string, rule: StringRule): string
export function checkString(field: string, value: string | null | undefined, rule: StringRule): string | null
export function checkString(
  field: string,
  value: string | null | undefined,
  rule: StringRule,
): string | null {
  if (value === null || value === undefined) return null
  const trimmed = value.trim()
  const min = rule.min ?? 1
  if (trimmed.length < min) {
    throw badUserInput(`${field} must not be empty`, { field })
  }
  if (trimmed.length > rule.max) {
    throw badUserInput(`${field} is ${trimmed.length} characters long; at most ${rule.max} are allowed`, {
      field,
    })
  }
  if (rule.pattern && !rule.pattern.test(trimmed)) {
    throw badUserInput(`${field} ${rule.patternHint ?? 'has an invalid format'}`, { field })
  }
  return trimmed
}

/**
 * An e-mail address: the WHATWG form (the one browsers' type=email accept), with a dot in the domain; any
 * case. The one rule for every address the services take, the EmailAddress scalar's included.
 */
export const EMAIL_ADDRESS =
  /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i

/** Whether a string is an e-mail address a column can hold: EMAIL_ADDRESS, at most 255 characters, local part at most 64. */
export const isEmailAddress = (value: string): boolean =>
  value.length <= 255 && EMAIL_ADDRESS.test(value) && value.lastIndexOf('@') <= 64

/**
 * The longest URL any service stores or fetches (web sites, logos, image and feed URLs, API endpoints): the
 * limit browsers and CDNs honour. The SDL's `@text(maxLength: 2048)` on URL fields says the same.
 */
export const MAX_URL_LENGTH = 2_048

/** URL-safe slug of a name: accents dropped, lower case, runs of other characters become one '-'. */
export function slugify(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
}

/** A trimmed e-mail address (VARCHAR(255), local part at most 64 characters), case kept; null stays null. */
export function checkEmail(field: string, value: string): string
export function checkEmail(field: string, value: string | null | undefined): string | null
export function checkEmail(field: string, value: string | null | undefined): string | null {
  const email = checkString(field, value, { max: 255 })
  if (email === null) return null
  if (!isEmailAddress(email)) {
    throw badUserInput(`${field} must be an e-mail address such as jane.doe@example.com`, { field })
  }
  return email
}

export function checkInt(
  field: string,
  value: number | null | undefined,
  range: { min?: number; max?: number } = {},
): number | null {
  if (value === null || value === undefined) return null
  const min = range.min ?? -2_147_483_648
  const max = range.max ?? 2_147_483_647
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badUserInput(`${field} must be an integer between ${min} and ${max}`, { field })
  }
  return value
}

/** A Decimal for a NUMERIC(precision, scale) column: at most precision - scale integer digits and scale decimals. */
export function checkDecimal(
  field: string,
  value: string | null | undefined,
  column: { precision: number; scale: number; min?: string; max?: string },
): string | null {
  if (value === null || value === undefined) return null
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value.trim())
  if (!match) throw badUserInput(`${field} must be a decimal number such as "19.90"`, { field })
  const [, sign, whole, fraction = ''] = match
  const integerDigits = whole!.replace(/^0+(?=\d)/, '')
  const decimals = fraction.replace(/0+$/, '')
  if (integerDigits.length > column.precision - column.scale) {
    throw badUserInput(
      `${field} has too many digits: at most ${column.precision - column.scale} before the point`,
      {
        field,
      },
    )
  }
  if (decimals.length > column.scale) {
    throw badUserInput(`${field} has more than ${column.scale} decimals`, { field })
  }
  const canonical = `${sign}${integerDigits}${decimals ? `.${decimals}` : ''}`
  const number = Number(canonical) // only compared, never stored
  if (column.min !== undefined && number < Number(column.min)) {
    throw badUserInput(`${field} must be at least ${column.min}`, { field })
  }
  if (column.max !== undefined && number > Number(column.max)) {
    throw badUserInput(`${field} must be at most ${column.max}`, { field })
  }
  return canonical === '-0' ? '0' : canonical
}

export function checkEnum<T extends string>(field: string, value: string, allowed: readonly T[]): T
export function checkEnum<T extends string>(
  field: string,
  value: string | null | undefined,
  allowed: readonly T[],
): T | null
export function checkEnum<T extends string>(
  field: string,
  value: string | null | undefined,
  allowed: readonly T[],
): T | null {
  if (value === null || value === undefined) return null
  const normalised = value.trim().toLowerCase()
  const found = allowed.find((a) => a.toLowerCase() === normalised)
  if (!found) throw badUserInput(`${field} must be one of ${allowed.join(', ')}`, { field })
  return found
}

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'))

/** An ISO 4217 code, upper-cased. */
export function checkCurrency(field: string, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null
  const code = value.trim().toUpperCase()
  if (!/^[A-Z]{3}$/.test(code) || !CURRENCIES.has(code)) {
    throw badUserInput(`${field} must be an ISO 4217 currency code such as EUR`, { field })
  }
  return code
}

const REGIONS = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' })

/** An ISO 3166-1 alpha-2 country code, upper-cased. */
export function checkCountry(field: string, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null
  const code = value.trim().toUpperCase()
  if (!/^[A-Z]{2}$/.test(code) || !REGIONS.of(code)) {
    throw badUserInput(`${field} must be an ISO 3166 country code such as FR`, { field })
  }
  return code
}

/** A JSON object no larger than maxBytes once serialised. */
export function checkJsonObject(
  field: string,
  value: unknown,
  maxBytes = 65_536,
): Record<string, unknown> | null {
  if (value === null || value === undefined) return null
  if (typeof value !== 'object' || Array.isArray(value))
    throw badUserInput(`${field} must be a JSON object`, { field })
  if (Buffer.byteLength(JSON.stringify(value)) > maxBytes) {
    throw badUserInput(`${field} is larger than ${maxBytes} bytes`, { field })
  }
  return value as Record<string, unknown>
}

/** Rejects an input object that sets none of its fields (an update that would change nothing). */
export function requireSomeField(field: string, input: Record<string, unknown>) {
  if (!Object.values(input).some((v) => v !== undefined)) {
    throw badUserInput(`${field} must set at least one field`, { field })
  }
}
