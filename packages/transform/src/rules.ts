import {
  boolean,
  decimalText,
  fail,
  integer,
  keyPath,
  locale,
  type Obj,
  object,
  oneOfExact,
  onlyKeys,
  regex,
  regexFlags,
  string,
} from './checks'
import { dateParser } from './dates'

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

export const TRANSFORMATION_PARAMS: Record<TransformationOp, readonly string[]> = {
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

/**
 * One rule's op and parameters checked (its `field` is the caller's business: each vocabulary names its
 * own fields); answers the op with its parameters, defaults filled in. `base` is the rule's path.
 */
export function checkRuleOp(rule: Obj, base: string): { op: TransformationOp } & Obj {
  const at = (key: string) => `${base}.${key}`
  const op = oneOfExact(at('op'), rule.op, TRANSFORMATION_OPS)
  onlyKeys(base, rule, ['field', 'op', ...TRANSFORMATION_PARAMS[op]], `a ${op} rule`)
  const out: { op: TransformationOp } & Obj = { op }
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
        out.decimalSeparator = oneOfExact(at('decimalSeparator'), rule.decimalSeparator, [',', '.'] as const)
      }
      if (rule.thousandsSeparator !== undefined) {
        const sep = string(at('thousandsSeparator'), rule.thousandsSeparator, { max: 1, min: 1 })!
        if (/[\d]/.test(sep) || sep === out.decimalSeparator) {
          fail(at('thousandsSeparator'), 'must be one character other than a digit and the decimal separator')
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
}
