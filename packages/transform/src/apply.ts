import { normalizeEan } from '@pm/service-kit'
import type { Obj } from './checks'
import { dateParser } from './dates'
import { add, type Decimal, divide, formatDecimal, multiply, roundTo, toDecimal } from './decimal'
import { type NumberFormat, numberFormatOf, parseNumber } from './numbers'
import type { TransformationOp } from './rules'

/** A rule as checked by checkRuleOp (plus the field it applies to). */
export type TransformationRule = { op: TransformationOp } & Obj

/** A value a rule cannot handle: the row fails with this rule and message. */
export class RuleFailure {
  constructor(
    readonly rule: string,
    readonly message: string,
  ) {}
}

export type Op = (value: string) => string | string[] | undefined

export const clip = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s)

export function numberOrFail(text: string, format: NumberFormat | undefined, rule: string): Decimal {
  const parsed = parseNumber(text, format)
  if (!parsed.ok) throw new RuleFailure(rule, `"${clip(text)}" ${parsed.reason}`)
  return parsed.value
}

/**
 * The function one rule applies to a text value: a text, a list (split), nothing (extract without a match,
 * mapValues to empty), or a RuleFailure saying why the value cannot be transformed.
 */
export function transformation(
  rule: TransformationRule,
  format: NumberFormat | undefined,
  fieldName: string,
): Op {
  switch (rule.op) {
    case 'trim':
      return (s) => s.trim()
    case 'uppercase':
      return (s) => s.toUpperCase()
    case 'lowercase':
      return (s) => s.toLowerCase()
    case 'titlecase':
      return (s) =>
        s.toLowerCase().replace(/(^|[\s\-'’(/])(\p{L})/gu, (_, sep, ch: string) => sep + ch.toUpperCase())
    case 'truncate': {
      const max = rule.maxLength as number
      return (s) => (s.length <= max ? s : Array.from(s).slice(0, max).join(''))
    }
    case 'padLeft': {
      const length = rule.length as number
      const char = rule.char as string
      return (s) => s.padStart(length, char)
    }
    case 'replace': {
      const re = new RegExp(rule.pattern as string, `g${(rule.flags as string | undefined) ?? ''}`)
      const replacement = rule.replacement as string
      return (s) => s.replace(re, replacement)
    }
    case 'extract': {
      const re = new RegExp(rule.pattern as string, (rule.flags as string | undefined) ?? '')
      const group = rule.group as number
      return (s) => re.exec(s)?.[group] ?? undefined
    }
    case 'split': {
      const separator = rule.separator as string
      return (s) =>
        s
          .split(separator)
          .map((p) => p.trim())
          .filter((p) => p !== '')
    }
    case 'default':
      return (s) => s
    case 'mapValues': {
      const ignoreCase = rule.ignoreCase === true
      const table = new Map<string, string>()
      for (const [from, to] of Object.entries(rule.values as Record<string, string | number>)) {
        table.set(ignoreCase ? from.trim().toLowerCase() : from.trim(), String(to))
      }
      const unmatched = (rule.unmatched as string | undefined) ?? 'keep'
      return (s) => {
        const key = ignoreCase ? s.trim().toLowerCase() : s.trim()
        const found = table.get(key)
        if (found !== undefined) return found
        if (unmatched === 'empty') return undefined
        if (unmatched === 'fail')
          throw new RuleFailure('mapValues', `"${clip(s)}" is not one of the mapped values`)
        return s
      }
    }
    case 'number': {
      const own: NumberFormat | undefined = rule.locale
        ? numberFormatOf(rule.locale as string)
        : rule.decimalSeparator
          ? {
              decimal: rule.decimalSeparator as ',' | '.',
              groups:
                (rule.thousandsSeparator as string | undefined) ??
                (rule.decimalSeparator === ',' ? '.' : ','),
            }
          : format
      return (s) => formatDecimal(numberOrFail(s, own, 'number'))
    }
    case 'multiply': {
      const factor = toDecimal(rule.factor as string | number)!
      return (s) => formatDecimal(multiply(numberOrFail(s, format, 'multiply'), factor))
    }
    case 'divide': {
      const divisor = toDecimal(rule.divisor as string | number)!
      return (s) => formatDecimal(divide(numberOrFail(s, format, 'divide'), divisor)!)
    }
    case 'applyVat': {
      const times = add(toDecimal('1')!, toDecimal(rule.rate as string | number)!)
      return (s) => formatDecimal(multiply(numberOrFail(s, format, 'applyVat'), times))
    }
    case 'round': {
      const decimals = rule.decimals as number
      return (s) => formatDecimal(roundTo(numberOrFail(s, format, 'round'), decimals), decimals)
    }
    case 'date': {
      const formats = (Array.isArray(rule.format) ? rule.format : [rule.format]) as string[]
      const parsers = formats.map(dateParser)
      return (s) => {
        for (const p of parsers) {
          const date = p.parse(s)
          if (date !== undefined) return date
        }
        throw new RuleFailure('date', `"${clip(s)}" is not a date written ${formats.join(' or ')}`)
      }
    }
    case 'normalizeEan':
      return (s) => {
        try {
          return normalizeEan(s, fieldName)
        } catch (error) {
          throw new RuleFailure('normalizeEan', (error as Error).message)
        }
      }
  }
}
