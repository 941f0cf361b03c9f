import { MAX_URL_LENGTH, normalizeEan } from '@pm/service-kit'
import {
  clip,
  compare,
  type Decimal,
  formatDecimal,
  integerDigits,
  type NumberFormat,
  numberFormatOf,
  type Op,
  parseNumber,
  RuleFailure,
  roundTo,
  toDecimal,
  transformation,
} from '@pm/transform'
import {
  type FieldMapping,
  type ImportConfigInput,
  type ValidationRule,
  validateImportConfig,
} from './config'
import { ImportConfigError, type ImportRow, type RawRecord, type RowIssue } from './types'
import { type FieldSpec, fieldSpec } from './vocabulary'

export interface CompiledImport {
  /** One record through mapping, transformations, conversion to the field's type and validations. */
  map(record: RawRecord): { row?: ImportRow; issues: RowIssue[] }
  /** The configuration names of the fields this import fills. */
  targetFields: string[]
  /** Mapped columns the source does not have (give it the source's columns()); a job logs these. */
  missingColumns(columns: string[]): string[]
}

type Value = string | string[] | undefined

interface FieldPlan {
  spec: FieldSpec
  columns: string[]
  ops: { name: string; apply: Op; isDefault?: string }[]
  checks: { name: string; severity: 'error' | 'warning'; check: (value: unknown) => string | undefined }[]
  required?: 'error' | 'warning'
}

const TRUE = new Set(['true', '1', 'yes', 'y', 'oui', 'o', 'vrai', 'x', 'active', 'actif', 'on'])
const FALSE = new Set(['false', '0', 'no', 'n', 'non', 'faux', 'inactive', 'inactif', 'off'])
const CURRENCY_SIGNS: Record<string, string> = { '€': 'EUR', $: 'USD', '£': 'GBP', '¥': 'JPY' }

/** The field's value in the catalogue's form, or a RuleFailure saying why it cannot be. */
function convert(spec: FieldSpec, value: string | string[], format: NumberFormat | undefined): unknown {
  const name = spec.name
  if (spec.kind === 'urls') {
    const list = Array.isArray(value) ? value : [value]
    return list.map((u) => {
      const url = u.trim()
      let ok = false
      try {
        const parsed = new URL(url)
        ok = (parsed.protocol === 'http:' || parsed.protocol === 'https:') && url.length <= MAX_URL_LENGTH
      } catch {}
      if (!ok) {
        throw new RuleFailure(
          'url',
          `${name} "${clip(url)}" is not an http(s) URL${/[|;,\s]/.test(url) ? ' (several URLs in one cell? add a split rule)' : ''}`,
        )
      }
      return url
    })
  }
  if (Array.isArray(value)) throw new RuleFailure('type', `${name} takes one value, not a list`)
  const text = value.trim()
  switch (spec.kind) {
    case 'text': {
      if (text.length > spec.max!) {
        throw new RuleFailure(
          'maxLength',
          `${name} is ${text.length} characters long; at most ${spec.max} are allowed (add a truncate rule to cut it)`,
        )
      }
      return text
    }
    case 'ean':
    case 'gtin':
      try {
        return normalizeEan(text, name)
      } catch (error) {
        throw new RuleFailure(spec.kind, (error as Error).message)
      }
    case 'upc': {
      let code: string
      try {
        code = normalizeEan(text, name)
      } catch (error) {
        throw new RuleFailure('upc', (error as Error).message)
      }
      if (code.length !== 13 || !code.startsWith('0')) {
        throw new RuleFailure('upc', `${name} "${clip(text)}" is not a 12-digit UPC-A`)
      }
      return code.slice(1)
    }
    case 'asin': {
      const asin = text.toUpperCase()
      if (!/^[A-Z0-9]{10}$/.test(asin))
        throw new RuleFailure('asin', `${name} "${clip(text)}" is not an ASIN (10 letters or digits)`)
      return asin
    }
    case 'currency': {
      const code = CURRENCY_SIGNS[text] ?? text.toUpperCase()
      if (!/^[A-Z]{3}$/.test(code))
        throw new RuleFailure('currency', `${name} "${clip(text)}" is not a 3-letter currency code`)
      return code
    }
    case 'boolean': {
      const key = text.toLowerCase()
      if (TRUE.has(key)) return true
      if (FALSE.has(key)) return false
      throw new RuleFailure(
        'boolean',
        `${name} "${clip(text)}" is not a yes/no value (true/false, 1/0, oui/non…)`,
      )
    }
    case 'integer': {
      const parsed = parseNumber(text, format)
      if (!parsed.ok) throw new RuleFailure('integer', `${name} "${clip(text)}" ${parsed.reason}`)
      const whole = roundTo(parsed.value, 0)
      if (compare(whole, parsed.value) !== 0)
        throw new RuleFailure('integer', `${name} "${clip(text)}" is not a whole number`)
      if (whole.units < 0n)
        throw new RuleFailure('negative', `${name} must not be negative (got "${clip(text)}")`)
      if (whole.units > 2_147_483_647n)
        throw new RuleFailure('integer', `${name} "${clip(text)}" is too large`)
      return Number(whole.units)
    }
    case 'decimal': {
      const parsed = parseNumber(text, format)
      if (!parsed.ok) throw new RuleFailure('decimal', `${name} "${clip(text)}" ${parsed.reason}`)
      const rounded = roundTo(parsed.value, spec.scale!)
      if (rounded.units < 0n)
        throw new RuleFailure('negative', `${name} must not be negative (got "${clip(text)}")`)
      if (integerDigits(rounded) > spec.precision! - spec.scale!) {
        throw new RuleFailure(
          'decimal',
          `${name} "${clip(text)}" is too large: at most ${spec.precision! - spec.scale!} digits before the point`,
        )
      }
      return formatDecimal(rounded, spec.scale)
    }
  }
}

/** The text a validation rule sees: strings as they are, numbers and booleans as written. */
const textOf = (v: unknown): string => (typeof v === 'string' ? v : String(v))

function validation(rule: ValidationRule): ((value: unknown) => string | undefined) | undefined {
  const name = rule.field
  const asNumber = (v: unknown): Decimal | undefined => toDecimal(textOf(v))
  switch (rule.rule) {
    case 'required':
      return undefined
    case 'ean':
    case 'gtin':
      return (v) => {
        try {
          normalizeEan(textOf(v), name)
          return undefined
        } catch (error) {
          return (error as Error).message
        }
      }
    case 'min':
    case 'max':
    case 'range': {
      const bound = (x: unknown) => (x === undefined ? undefined : toDecimal(x as string | number))
      const min = bound(rule.rule === 'min' ? rule.value : rule.rule === 'range' ? rule.min : undefined)
      const max = bound(rule.rule === 'max' ? rule.value : rule.rule === 'range' ? rule.max : undefined)
      return (v) => {
        const d = asNumber(v)
        if (!d) return `${name} "${clip(textOf(v))}" is not a number`
        if (min && compare(d, min) < 0)
          return `${name} is ${formatDecimal(d)}; it must be at least ${formatDecimal(min)}`
        if (max && compare(d, max) > 0)
          return `${name} is ${formatDecimal(d)}; it must be at most ${formatDecimal(max)}`
        return undefined
      }
    }
    case 'minLength':
    case 'maxLength':
    case 'length': {
      const min =
        rule.rule === 'maxLength'
          ? undefined
          : ((rule.rule === 'minLength' ? rule.value : rule.min) as number | undefined)
      const max =
        rule.rule === 'minLength'
          ? undefined
          : ((rule.rule === 'maxLength' ? rule.value : rule.max) as number | undefined)
      return (v) => {
        const length = [...textOf(v)].length
        if (min !== undefined && length < min)
          return `${name} has ${length} characters; at least ${min} are needed`
        if (max !== undefined && length > max)
          return `${name} has ${length} characters; at most ${max} are allowed`
        return undefined
      }
    }
    case 'pattern': {
      const re = new RegExp(rule.value as string, (rule.flags as string | undefined) ?? '')
      return (v) =>
        re.test(textOf(v)) ? undefined : `${name} "${clip(textOf(v))}" does not match ${rule.value}`
    }
    case 'oneOf':
    case 'enum': {
      const ignoreCase = rule.ignoreCase === true
      const allowed = new Set(
        (rule.values as (string | number)[]).map((x) => (ignoreCase ? String(x).toLowerCase() : String(x))),
      )
      const list = (rule.values as unknown[]).map(String).slice(0, 10).join(', ')
      return (v) => {
        const t = ignoreCase ? textOf(v).toLowerCase() : textOf(v)
        return allowed.has(t)
          ? undefined
          : `${name} "${clip(textOf(v))}" is not one of ${list}${allowed.size > 10 ? ', …' : ''}`
      }
    }
  }
}

/**
 * Compiles a configuration (after validateImportConfig, which throws ImportConfigError naming the path) into a
 * row mapper. Per field, in order: the mapped column's value (an empty cell is absent), the field's
 * transformation rules in the order given, conversion to the field's type (decimals rounded half away from
 * zero to the column's decimals, EANs normalised, yes/no values, currency codes, URLs), then its validation
 * rules. A failing conversion or an error-severity validation fails the row; warnings go with the row.
 */
export function compileImport(config: ImportConfigInput): CompiledImport {
  const valid = validateImportConfig(config)
  if (!valid.fieldMapping)
    throw new ImportConfigError('fieldMapping', 'fieldMapping is required to run an import')
  const format = valid.locale ? numberFormatOf(valid.locale) : undefined
  const plans = new Map<string, FieldPlan>()
  const mapping: FieldMapping = valid.fieldMapping
  const planOf = (field: string) => {
    let plan = plans.get(field)
    if (!plan) {
      plan = { spec: fieldSpec(field)!, columns: [], ops: [], checks: [] }
      plans.set(field, plan)
    }
    return plan
  }
  for (const [column, field] of Object.entries(mapping)) planOf(field).columns.push(column)
  for (const rule of valid.transformationRules) {
    const plan = planOf(rule.field)
    plan.ops.push({
      name: rule.op,
      apply: transformation(rule, format, rule.field),
      isDefault: rule.op === 'default' ? String(rule.value) : undefined,
    })
  }
  for (const rule of valid.validationRules) {
    const plan = planOf(rule.field)
    const check = validation(rule)
    if (check) plan.checks.push({ name: rule.rule, severity: rule.severity, check })
    else if (plan.required !== 'error') plan.required = rule.severity
  }
  const list = [...plans.values()]

  return {
    targetFields: [...plans.keys()],
    missingColumns: (columns) => {
      const have = new Set(columns)
      return Object.keys(mapping).filter((c) => !have.has(c))
    },
    map(record) {
      if (record.issue) return { issues: [{ severity: 'error', ...record.issue }] }
      const row: ImportRow = {}
      const issues: RowIssue[] = []
      let failed = false
      const values = record.values
      for (const plan of list) {
        const { spec, columns } = plan
        let raw: string | undefined
        let value: Value
        if (columns.length <= 1) {
          raw = columns.length ? values[columns[0]!] : undefined
          value = raw === undefined || raw.trim() === '' ? undefined : raw
        } else {
          const parts = columns
            .map((c) => values[c])
            .filter((v): v is string => v !== undefined && v.trim() !== '')
          raw = parts.join(' | ')
          value = parts.length ? parts : undefined
        }
        const at: IssueSite = { field: spec.name, column: columns[0], raw }
        try {
          for (const op of plan.ops) {
            if (value === undefined) {
              if (op.isDefault !== undefined) value = op.isDefault
              continue
            }
            value = Array.isArray(value) ? applyToList(value, op.apply) : op.apply(value)
            if (value === '' || (Array.isArray(value) && value.length === 0)) value = undefined
          }
          if (value === undefined || (typeof value === 'string' && value.trim() === '')) {
            if (plan.required)
              failed = addIssue(issues, at, 'required', `${spec.name} is required`, plan.required) || failed
            continue
          }
          const converted = convert(spec, value, format)
          for (const { name, severity, check } of plan.checks) {
            const problem = Array.isArray(converted)
              ? converted.map((v) => check(v)).find((p) => p !== undefined)
              : check(converted)
            if (problem !== undefined) failed = addIssue(issues, at, name, problem, severity) || failed
          }
          if (spec.key === 'technicalSpecs') {
            row.technicalSpecs ??= {}
            row.technicalSpecs[spec.name.slice('technical_specs.'.length)] = converted as string
          } else {
            ;(row as Record<string, unknown>)[spec.key] = converted
          }
        } catch (error) {
          if (!(error instanceof RuleFailure)) throw error
          failed = addIssue(issues, at, error.rule, error.message, 'error') || failed
        }
      }
      return failed ? { issues } : { row, issues }
    },
  }
}

interface IssueSite {
  field: string
  column: string | undefined
  raw: string | undefined
}

/** Records an issue; true when it fails the row. */
function addIssue(
  issues: RowIssue[],
  at: IssueSite,
  rule: string,
  message: string,
  severity: 'error' | 'warning',
): boolean {
  const found: RowIssue = { field: at.field, rule, message, severity }
  if (at.column !== undefined) found.column = at.column
  if (at.raw !== undefined && at.raw !== '') found.rawValue = clip(at.raw)
  issues.push(found)
  return severity === 'error'
}

function applyToList(list: string[], op: Op): string[] {
  const out: string[] = []
  for (const item of list) {
    const v = op(item)
    if (Array.isArray(v)) out.push(...v)
    else if (v !== undefined && v !== '') out.push(v)
  }
  return out
}
