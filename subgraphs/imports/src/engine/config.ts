import { dateParser } from './dates'
import { toDecimal } from './decimal'
import { KNOWN_LOCALES, numberFormatOf } from './numbers'
import { ImportConfigError } from './types'
import { fieldSpec, IDENTIFIER_FIELDS, MULTI_COLUMN_FIELDS, TARGET_FIELDS } from './vocabulary'

/**
 * The configuration vocabulary (field mapping, transformation rules, validation rules), checked when a
 * configuration or a mapping template is saved and again when an import compiles it. Every error names the
 * path of the offending value from `base`, e.g. `input.transformationRules[2].op`.
 */

type Obj = Record<string, unknown>

export type FieldMapping = Record<string, string>
export type TransformationRule = { field: string; op: TransformationOp } & Obj
export type ValidationRule = { field: string; rule: ValidationKind; severity: 'error' | 'warning' } & Obj

/** `a.b` for identifier keys, `a["Prix HT"]` for the others (source column names have spaces, accents). */
export function keyPath(base: string, key: string): string {
  const path = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
  return base ? `${base}${path}` : path.replace(/^\./, '')
}

const fail = (path: string, message: string): never => {
  throw new ImportConfigError(path, message.startsWith(':') ? `${path}${message}` : `${path} ${message}`)
}

function object(path: string, value: unknown, maxBytes = 65_536): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(path, 'must be a JSON object')
  if (Buffer.byteLength(JSON.stringify(value)) > maxBytes) fail(path, `is larger than ${maxBytes} bytes`)
  return value as Obj
}

function onlyKeys(path: string, obj: Obj, known: readonly string[], what: string) {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      const at = keyPath(path, key)
      throw new ImportConfigError(at, `${at} is not a setting of ${what} (known: ${known.join(', ')})`)
    }
  }
}

function integer(
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
function decimalText(
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

function string(
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

function boolean(path: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') fail(path, 'must be true or false')
  return value as boolean
}

const FLAGS = /^[imsu]*$/

function regex(path: string, value: unknown, flags?: string): string {
  const source = string(path, value, { max: 500, min: 1 })!
  try {
    new RegExp(source, flags)
  } catch {
    fail(path, 'is not a valid regular expression')
  }
  return source
}

function regexFlags(path: string, value: unknown): string | undefined {
  const flags = string(path, value, { max: 4, required: false })
  if (flags !== undefined && (!FLAGS.test(flags) || new Set(flags).size !== flags.length)) {
    fail(path, 'must be some of the flags i, m, s, u')
  }
  return flags || undefined
}

function locale(path: string, value: unknown): string | undefined {
  const name = string(path, value, { max: 20, required: false })
  if (name !== undefined && !numberFormatOf(name)) {
    fail(
      path,
      `is not a locale whose number format is known (e.g. fr, de, en; known: ${KNOWN_LOCALES.join(', ')})`,
    )
  }
  return name
}

function targetField(path: string, value: unknown): string {
  const name = string(path, value, { max: 100, min: 1 })!
  if (!fieldSpec(name)) {
    fail(
      path,
      `: "${name}" is not a product field; use one of ${TARGET_FIELDS.join(', ')} or technical_specs.<name>`,
    )
  }
  return name
}

/** fieldMapping: { "<source column>": "<product field>" }; each field fed by one column (image_url by several). */
export function checkFieldMapping(value: unknown, base = 'fieldMapping'): FieldMapping {
  const mapping = object(base, value)
  const entries = Object.entries(mapping)
  if (entries.length === 0) fail(base, 'must map at least one column')
  if (entries.length > 500) fail(base, 'maps more than 500 columns')
  const result: FieldMapping = {}
  const fedBy = new Map<string, string>()
  for (const [column, target] of entries) {
    const at = keyPath(base, column)
    if (column.trim() === '' || column.length > 255)
      fail(at, ': a source column name has 1 to 255 characters')
    const name = targetField(at, target)
    const other = fedBy.get(name)
    if (other !== undefined && !MULTI_COLUMN_FIELDS.includes(name)) {
      fail(at, `: ${name} is already mapped from column ${JSON.stringify(other)}`)
    }
    fedBy.set(name, column)
    result[column] = name
  }
  return result
}

function ruleList(base: string, value: unknown): Obj[] {
  if (!Array.isArray(value)) fail(base, 'must be a list of rule objects')
  const list = value as unknown[]
  if (list.length > 200) fail(base, 'has more than 200 rules')
  if (Buffer.byteLength(JSON.stringify(list)) > 65_536) fail(base, 'is larger than 65536 bytes')
  return list.map((rule, i) => object(`${base}[${i}]`, rule))
}

function oneOfExact<T extends string>(path: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(path, `must be one of ${allowed.join(', ')}`)
  }
  return value as T
}

export const TRANSFORMATION_OPS = [
  'trim',
  'uppercase',
  'lowercase',
  'titlecase',
  'truncate',
  'padLeft',
  'replace',
  'extract',
  'split',
  'default',
  'mapValues',
  'number',
  'multiply',
  'divide',
  'round',
  'applyVat',
  'date',
  'normalizeEan',
] as const
export type TransformationOp = (typeof TRANSFORMATION_OPS)[number]

const TRANSFORMATION_PARAMS: Record<TransformationOp, readonly string[]> = {
  trim: [],
  uppercase: [],
  lowercase: [],
  titlecase: [],
  truncate: ['maxLength'],
  padLeft: ['length', 'char'],
  replace: ['pattern', 'replacement', 'flags'],
  extract: ['pattern', 'group', 'flags'],
  split: ['separator'],
  default: ['value'],
  mapValues: ['values', 'ignoreCase', 'unmatched'],
  number: ['locale', 'decimalSeparator', 'thousandsSeparator'],
  multiply: ['factor'],
  divide: ['divisor'],
  round: ['decimals'],
  applyVat: ['rate'],
  date: ['format'],
  normalizeEan: [],
}

/** transformationRules: [{ field, op, …params }] applied in order; see schema.graphql for each op. */
export function checkTransformationRules(value: unknown, base = 'transformationRules'): TransformationRule[] {
  return ruleList(base, value).map((rule, i) => {
    const at = (key: string) => `${base}[${i}].${key}`
    const field = targetField(at('field'), rule.field)
    const op = oneOfExact(at('op'), rule.op, TRANSFORMATION_OPS)
    onlyKeys(`${base}[${i}]`, rule, ['field', 'op', ...TRANSFORMATION_PARAMS[op]], `a ${op} rule`)
    const out: TransformationRule = { field, op }
    switch (op) {
      case 'truncate':
        out.maxLength = integer(at('maxLength'), rule.maxLength, 1, 100_000)
        break
      case 'padLeft': {
        out.length = integer(at('length'), rule.length, 1, 100)
        const char = rule.char ?? '0'
        if (typeof char !== 'string' || [...char].length !== 1) fail(at('char'), 'must be one character')
        out.char = char
        break
      }
      case 'replace': {
        const flags = regexFlags(at('flags'), rule.flags)
        out.pattern = regex(at('pattern'), rule.pattern, flags)
        out.replacement = string(at('replacement'), rule.replacement, { max: 500 })
        if (flags) out.flags = flags
        break
      }
      case 'extract': {
        const flags = regexFlags(at('flags'), rule.flags)
        out.pattern = regex(at('pattern'), rule.pattern, flags)
        const groups = new RegExp(`${out.pattern}|`).exec('')!.length - 1
        const group = integer(at('group'), rule.group, 0, 99, false) ?? (groups > 0 ? 1 : 0)
        if (group > groups) fail(at('group'), `is ${group} but the pattern has ${groups} group(s)`)
        out.group = group
        if (flags) out.flags = flags
        break
      }
      case 'split':
        out.separator = string(at('separator'), rule.separator, { max: 10, min: 1 })
        break
      case 'default':
        if (!['string', 'number', 'boolean'].includes(typeof rule.value)) {
          fail(at('value'), 'must be a string, number or boolean')
        }
        if (typeof rule.value === 'string' && rule.value.length > 2000)
          fail(at('value'), 'is longer than 2000 characters')
        out.value = rule.value
        break
      case 'mapValues': {
        const values = object(at('values'), rule.values, 65_536)
        if (Object.keys(values).length === 0) fail(at('values'), 'must map at least one value')
        for (const [from, to] of Object.entries(values)) {
          if (!['string', 'number'].includes(typeof to))
            fail(keyPath(at('values'), from), 'must be a string or a number')
        }
        out.values = values
        const ignoreCase = boolean(at('ignoreCase'), rule.ignoreCase)
        if (ignoreCase !== undefined) out.ignoreCase = ignoreCase
        if (rule.unmatched !== undefined) {
          out.unmatched = oneOfExact(at('unmatched'), rule.unmatched, ['keep', 'empty', 'fail'] as const)
        }
        break
      }
      case 'number': {
        const name = locale(at('locale'), rule.locale)
        if (name !== undefined) out.locale = name
        if (rule.decimalSeparator !== undefined) {
          out.decimalSeparator = oneOfExact(at('decimalSeparator'), rule.decimalSeparator, [
            ',',
            '.',
          ] as const)
        }
        if (rule.thousandsSeparator !== undefined) {
          const sep = string(at('thousandsSeparator'), rule.thousandsSeparator, { max: 1, min: 1 })!
          if (/[\d]/.test(sep) || sep === out.decimalSeparator) {
            fail(
              at('thousandsSeparator'),
              'must be one character other than a digit and the decimal separator',
            )
          }
          out.thousandsSeparator = sep
        }
        if (name !== undefined && out.decimalSeparator !== undefined) {
          fail(at('decimalSeparator'), 'and locale are exclusive: give one of them')
        }
        break
      }
      case 'multiply':
        out.factor = decimalText(at('factor'), rule.factor)
        break
      case 'divide':
        out.divisor = decimalText(at('divisor'), rule.divisor, { nonZero: true })
        break
      case 'round':
        out.decimals = integer(at('decimals'), rule.decimals, 0, 6)
        break
      case 'applyVat':
        out.rate = decimalText(at('rate'), rule.rate, { min: '0', max: '1' })
        break
      case 'date': {
        const formats = Array.isArray(rule.format) ? rule.format : [rule.format]
        if (formats.length === 0 || formats.length > 10)
          fail(at('format'), 'must be a format or a list of 1 to 10 formats')
        formats.forEach((f, j) => {
          const path = Array.isArray(rule.format) ? `${at('format')}[${j}]` : at('format')
          string(path, f, { max: 50, min: 1 })
          try {
            dateParser(f as string)
          } catch (error) {
            fail(path, `is not a date format: ${(error as Error).message}`)
          }
        })
        out.format = rule.format
        break
      }
    }
    return out
  })
}

export const VALIDATION_RULES = [
  'required',
  'ean',
  'gtin',
  'min',
  'max',
  'range',
  'minLength',
  'maxLength',
  'length',
  'pattern',
  'oneOf',
  'enum',
] as const
export type ValidationKind = (typeof VALIDATION_RULES)[number]

const VALIDATION_PARAMS: Record<ValidationKind, readonly string[]> = {
  required: [],
  ean: [],
  gtin: [],
  min: ['value'],
  max: ['value'],
  range: ['min', 'max'],
  minLength: ['value'],
  maxLength: ['value'],
  length: ['min', 'max'],
  pattern: ['value', 'flags'],
  oneOf: ['values', 'ignoreCase'],
  enum: ['values', 'ignoreCase'],
}

/** validationRules: [{ field, rule, …params, severity? }]; see schema.graphql for each rule. */
export function checkValidationRules(value: unknown, base = 'validationRules'): ValidationRule[] {
  return ruleList(base, value).map((rule, i) => {
    const at = (key: string) => `${base}[${i}].${key}`
    const field = targetField(at('field'), rule.field)
    const kind = oneOfExact(at('rule'), rule.rule, VALIDATION_RULES)
    onlyKeys(
      `${base}[${i}]`,
      rule,
      ['field', 'rule', 'severity', ...VALIDATION_PARAMS[kind]],
      `a ${kind} rule`,
    )
    const out = { field, rule: kind } as ValidationRule
    switch (kind) {
      case 'min':
      case 'max':
        out.value = decimalText(at('value'), rule.value)
        break
      case 'range': {
        const min = decimalText(at('min'), rule.min, { required: false })
        const max = decimalText(at('max'), rule.max, { required: false })
        if (min === undefined && max === undefined) fail(`${base}[${i}]`, 'needs min, max or both')
        if (min !== undefined && max !== undefined && Number(min) > Number(max))
          fail(at('max'), 'is below min')
        if (min !== undefined) out.min = min
        if (max !== undefined) out.max = max
        break
      }
      case 'minLength':
      case 'maxLength':
        out.value = integer(at('value'), rule.value, 0, 100_000)
        break
      case 'length': {
        const min = integer(at('min'), rule.min, 0, 100_000, false)
        const max = integer(at('max'), rule.max, 0, 100_000, false)
        if (min === undefined && max === undefined) fail(`${base}[${i}]`, 'needs min, max or both')
        if (min !== undefined && max !== undefined && min > max) fail(at('max'), 'is below min')
        if (min !== undefined) out.min = min
        if (max !== undefined) out.max = max
        break
      }
      case 'pattern': {
        const flags = regexFlags(at('flags'), rule.flags)
        out.value = regex(at('value'), rule.value, flags)
        if (flags) out.flags = flags
        break
      }
      case 'oneOf':
      case 'enum': {
        const values = rule.values
        if (
          !Array.isArray(values) ||
          values.length === 0 ||
          values.length > 1000 ||
          values.some((v) => !['string', 'number'].includes(typeof v))
        ) {
          fail(at('values'), 'must be a list of 1 to 1000 strings or numbers')
        }
        out.values = values
        const ignoreCase = boolean(at('ignoreCase'), rule.ignoreCase)
        if (ignoreCase !== undefined) out.ignoreCase = ignoreCase
        break
      }
    }
    out.severity =
      rule.severity === undefined || rule.severity === null
        ? 'error'
        : oneOfExact(at('severity'), rule.severity, ['error', 'warning'] as const)
    return out
  })
}

export interface ImportConfigInput {
  fieldMapping?: unknown
  transformationRules?: unknown
  validationRules?: unknown
  /** How the file writes numbers when no number rule says it ("fr": 12,50). */
  locale?: unknown
}

export interface ValidImportConfig {
  fieldMapping: FieldMapping | null
  transformationRules: TransformationRule[]
  validationRules: ValidationRule[]
  locale?: string
}

/**
 * Everything an import needs from a configuration, checked together: each part's shape, then that the mapping
 * feeds an identifier (sku or ean), that every rule's field is fed by a column (or a default before it), and
 * that list-making and date rules go to fields that take them. Without a mapping (a template supplies it at
 * import time) only the shapes are checked. Throws ImportConfigError naming the path (from `base`).
 */
export function validateImportConfig(config: ImportConfigInput, base = ''): ValidImportConfig {
  const at = (key: string) => (base ? `${base}.${key}` : key)
  const fieldMapping =
    config.fieldMapping === undefined || config.fieldMapping === null
      ? null
      : checkFieldMapping(config.fieldMapping, at('fieldMapping'))
  const transformationRules =
    config.transformationRules == null
      ? []
      : checkTransformationRules(config.transformationRules, at('transformationRules'))
  const validationRules =
    config.validationRules == null ? [] : checkValidationRules(config.validationRules, at('validationRules'))
  const result: ValidImportConfig = { fieldMapping, transformationRules, validationRules }
  const loc = locale(at('locale'), config.locale)
  if (loc !== undefined) result.locale = loc
  if (fieldMapping) checkConsistency(result, at)
  return result
}

/** The mapping alone (a mapping template): its shape and an identifier. */
export function validateMapping(value: unknown, base = 'fieldMapping'): FieldMapping {
  const mapping = checkFieldMapping(value, base)
  requireIdentifier(mapping, base)
  return mapping
}

function requireIdentifier(mapping: FieldMapping, path: string) {
  const targets = new Set(Object.values(mapping))
  if (!IDENTIFIER_FIELDS.some((f) => targets.has(f))) {
    fail(path, `must map a column to ${IDENTIFIER_FIELDS.join(' or ')}: rows are matched to products by them`)
  }
}

function checkConsistency(config: ValidImportConfig, at: (key: string) => string) {
  const mapping = config.fieldMapping!
  requireIdentifier(mapping, at('fieldMapping'))
  const fed = new Set(Object.values(mapping))
  const defaulted = new Set<string>()
  config.transformationRules.forEach((rule, i) => {
    const path = `${at('transformationRules')}[${i}]`
    if (rule.op !== 'default' && !fed.has(rule.field) && !defaulted.has(rule.field)) {
      fail(
        `${path}.field`,
        `: no column feeds ${rule.field}; map a column to it in fieldMapping, or give it a default rule first`,
      )
    }
    if (rule.op === 'default') defaulted.add(rule.field)
    const kind = fieldSpec(rule.field)!.kind
    if (rule.op === 'split' && kind !== 'urls') {
      fail(`${path}.op`, `: split makes a list, and only image_url takes a list (not ${rule.field})`)
    }
    if (rule.op === 'date' && kind !== 'text') {
      fail(`${path}.op`, `: date makes a date, and ${rule.field} is not a text field`)
    }
  })
  config.validationRules.forEach((rule, i) => {
    if (!fed.has(rule.field) && !defaulted.has(rule.field)) {
      fail(
        `${at('validationRules')}[${i}].field`,
        `: no column feeds ${rule.field}; map a column to it in fieldMapping, or give it a default rule`,
      )
    }
  })
}
