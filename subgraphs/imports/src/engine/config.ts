import {
  boolean,
  checkRuleOp,
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
  ruleList,
  string,
  TRANSFORMATION_OPS,
  type TransformationOp,
} from '@pm/transform'
import { fieldSpec, IDENTIFIER_FIELDS, MULTI_COLUMN_FIELDS, TARGET_FIELDS } from './vocabulary'

export { keyPath, TRANSFORMATION_OPS, type TransformationOp }

/**
 * The configuration vocabulary (field mapping, transformation rules, validation rules), checked when a
 * configuration or a mapping template is saved and again when an import compiles it. Every error names the
 * path of the offending value from `base`, e.g. `input.transformationRules[2].op`.
 */

export type FieldMapping = Record<string, string>
export type TransformationRule = { field: string; op: TransformationOp } & Obj
export type ValidationRule = { field: string; rule: ValidationKind; severity: 'error' | 'warning' } & Obj

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

/** transformationRules: [{ field, op, …params }] applied in order; see schema.graphql for each op. */
export function checkTransformationRules(value: unknown, base = 'transformationRules'): TransformationRule[] {
  return ruleList(base, value).map((rule, i) => {
    const field = targetField(`${base}[${i}].field`, rule.field)
    return { field, ...checkRuleOp(rule, `${base}[${i}]`) }
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

// Not a schema input: the rule parts of an import configuration, given or stored (unchecked JSON), plus a locale.
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
