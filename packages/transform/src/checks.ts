import { toDecimal } from './decimal'
import { KNOWN_LOCALES, numberFormatOf } from './numbers'

/**
 * Checks of a rule's parameters, shared by every configuration that carries rules (import configurations,
 * export field mappings). Every error names the path of the offending value, e.g. `input.rules[2].op`.
 */

export type Obj = Record<string, unknown>

/** A configuration value refused: `path` names it from the input's root. */
export class RuleConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message)
    this.name = 'RuleConfigError'
  }
}

/** `a.b` for identifier keys, `a["Prix HT"]` for the others (source column names have spaces, accents). */
export function keyPath(base: string, key: string): string {
  const path = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
  return base ? `${base}${path}` : path.replace(/^\./, '')
}

export const fail = (path: string, message: string): never => {
  throw new RuleConfigError(path, message.startsWith(':') ? `${path}${message}` : `${path} ${message}`)
}

export function object(path: string, value: unknown, maxBytes = 65_536): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(path, 'must be a JSON object')
  if (Buffer.byteLength(JSON.stringify(value)) > maxBytes) fail(path, `is larger than ${maxBytes} bytes`)
  return value as Obj
}

export function onlyKeys(path: string, obj: Obj, known: readonly string[], what: string) {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      const at = keyPath(path, key)
      throw new RuleConfigError(at, `${at} is not a setting of ${what} (known: ${known.join(', ')})`)
    }
  }
}

export function integer(
  path: string,
  value: unknown,
  min: number,
  max: number,
  required = true,
): number | undefined {
  if (value === undefined || value === null) return required ? fail(path, 'is required') : undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `must be an integer between ${min} and ${max}`)
  }
  return value as number
}

/** A number given as a JSON number or a decimal string ("0.001"), kept as its exact text. */
export function decimalText(
  path: string,
  value: unknown,
  o: { required?: boolean; nonZero?: boolean; min?: string; max?: string } = {},
) {
  if (value === undefined || value === null)
    return o.required === false ? undefined : fail(path, 'is required')
  const d = typeof value === 'number' || typeof value === 'string' ? toDecimal(value) : undefined
  if (!d) return fail(path, 'must be a number (or a decimal string such as "0.001")')
  if (o.nonZero && d.units === 0n) fail(path, 'must not be zero')
  const n = Number(value)
  if ((o.min !== undefined && n < Number(o.min)) || (o.max !== undefined && n > Number(o.max))) {
    fail(path, `must be between ${o.min ?? '-∞'} and ${o.max ?? '∞'}`)
  }
  return value as number | string
}

export function string(
  path: string,
  value: unknown,
  o: { max: number; min?: number; required?: boolean },
): string | undefined {
  if (value === undefined || value === null)
    return o.required === false ? undefined : fail(path, 'is required')
  if (typeof value !== 'string') return fail(path, 'must be a string')
  if (value.length < (o.min ?? 0)) fail(path, 'must not be empty')
  if (value.length > o.max) fail(path, `is longer than ${o.max} characters`)
  return value
}

export function boolean(path: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') fail(path, 'must be true or false')
  return value as boolean
}

const FLAGS = /^[imsu]*$/

export function regex(path: string, value: unknown, flags?: string): string {
  const source = string(path, value, { max: 500, min: 1 })!
  try {
    new RegExp(source, flags)
  } catch {
    fail(path, 'is not a valid regular expression')
  }
  return source
}

export function regexFlags(path: string, value: unknown): string | undefined {
  const flags = string(path, value, { max: 4, required: false })
  if (flags !== undefined && (!FLAGS.test(flags) || new Set(flags).size !== flags.length)) {
    fail(path, 'must be some of the flags i, m, s, u')
  }
  return flags || undefined
}

export function locale(path: string, value: unknown): string | undefined {
  const name = string(path, value, { max: 20, required: false })
  if (name !== undefined && !numberFormatOf(name)) {
    fail(
      path,
      `is not a locale whose number format is known (e.g. fr, de, en; known: ${KNOWN_LOCALES.join(', ')})`,
    )
  }
  return name
}

export function ruleList(base: string, value: unknown): Obj[] {
  if (!Array.isArray(value)) fail(base, 'must be a list of rule objects')
  const list = value as unknown[]
  if (list.length > 200) fail(base, 'has more than 200 rules')
  if (Buffer.byteLength(JSON.stringify(list)) > 65_536) fail(base, 'is larger than 65536 bytes')
  return list.map((rule, i) => object(`${base}[${i}]`, rule))
}

export function oneOfExact<T extends string>(path: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(path, `must be one of ${allowed.join(', ')}`)
  }
  return value as T
}
