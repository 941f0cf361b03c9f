/**
 * Standard 5-field cron expressions (minute hour day-of-month month day-of-week), as Vixie cron reads them:
 * `*`, lists `1,15`, ranges `1-5`, steps `*\/15`, `0-30/10` and `5/15` (from 5 to the end), month names
 * JAN–DEC and day names SUN–SAT (any case), day-of-week 0–7 (0 and 7 are Sunday), and the macros @yearly,
 * @annually, @monthly, @weekly, @daily, @midnight and @hourly. When both day fields are restricted a day
 * matches either one (`0 0 1,15 * MON` runs on the 1st, the 15th and every Monday); when either starts
 * with `*`, a day must match both. Times are UTC.
 */

export class CronError extends Error {
  override name = 'CronError'
}

export interface CronSchedule {
  /** The expression, trimmed, single-spaced. */
  expression: string
  minutes: number[]
  hours: number[]
  daysOfMonth: number[]
  months: number[]
  /** 0 = Sunday … 6 = Saturday. */
  daysOfWeek: number[]
  domStar: boolean
  dowStar: boolean
}

interface FieldSpec {
  name: string
  min: number
  max: number
  names?: readonly string[]
  /** Offset of names[0] (JAN is 1, SUN is 0). */
  namesFrom?: number
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES, namesFrom: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: DAY_NAMES, namesFrom: 0 },
]

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
}

/** Days in each month of a leap year: a day-of-month that never fits its months never runs. */
const MAX_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function parseValue(token: string, spec: FieldSpec): number {
  if (/^\d+$/.test(token)) {
    const value = Number(token)
    if (value < spec.min || value > spec.max) {
      throw new CronError(`the ${spec.name} field allows ${spec.min}-${spec.max}, not ${token}`)
    }
    return value
  }
  const index = spec.names?.indexOf(token.toUpperCase()) ?? -1
  if (index >= 0) return index + (spec.namesFrom ?? 0)
  const hint = spec.names ? ` or a name ${spec.names[0]}-${spec.names.at(-1)}` : ''
  throw new CronError(
    `the ${spec.name} field has "${token}"; expected a number ${spec.min}-${spec.max}${hint}`,
  )
}

function parseField(text: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>()
  for (const part of text.split(',')) {
    if (part === '') throw new CronError(`the ${spec.name} field has an empty list item`)
    const [range, stepText, extra] = part.split('/')
    if (extra !== undefined) throw new CronError(`the ${spec.name} field has two steps in "${part}"`)
    let step = 1
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1 || Number(stepText) > spec.max) {
        throw new CronError(`the ${spec.name} field has step "${stepText}"; expected 1-${spec.max}`)
      }
      step = Number(stepText)
    }
    let start: number
    let end: number
    if (range === '*') {
      start = spec.min
      end = spec.max
    } else {
      const bounds = range!.split('-')
      if (bounds.length > 2 || bounds.some((b) => b === '')) {
        throw new CronError(`the ${spec.name} field has a malformed range "${range}"`)
      }
      start = parseValue(bounds[0]!, spec)
      // `5/15` means from 5 to the end of the field, as most crons read it.
      end = bounds.length === 2 ? parseValue(bounds[1]!, spec) : stepText !== undefined ? spec.max : start
      if (end < start) throw new CronError(`the ${spec.name} field has a backwards range "${range}"`)
    }
    for (let v = start; v <= end; v += step) values.add(v)
  }
  return values
}

const sorted = (values: Set<number>) => [...values].sort((a, b) => a - b)

/** Parses an expression; throws CronError saying what is wrong (and which field) when it is not valid. */
export function parseCron(input: string): CronSchedule {
  const expression = input.trim().replace(/\s+/g, ' ')
  if (expression === '') throw new CronError('the expression is empty')
  const text = expression.startsWith('@') ? MACROS[expression.toLowerCase()] : expression
  if (!text) {
    throw new CronError(`unknown macro "${expression}"; known: ${Object.keys(MACROS).join(', ')}`)
  }
  const parts = text.split(' ')
  if (parts.length !== 5) {
    throw new CronError(`expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`)
  }
  const [minutes, hours, doms, months, dows] = parts.map((p, i) => parseField(p, FIELDS[i]!))
  // 7 is Sunday too.
  if (dows!.delete(7)) dows!.add(0)
  const schedule: CronSchedule = {
    expression,
    minutes: sorted(minutes!),
    hours: sorted(hours!),
    daysOfMonth: sorted(doms!),
    months: sorted(months!),
    daysOfWeek: sorted(dows!),
    domStar: parts[2]!.startsWith('*'),
    dowStar: parts[4]!.startsWith('*'),
  }
  // Only a restricted day-of-month with an unrestricted day-of-week can ask for a day that never comes.
  if (!schedule.domStar && schedule.dowStar) {
    const possible = schedule.months.some((m) => schedule.daysOfMonth.some((d) => d <= MAX_DAYS[m - 1]!))
    if (!possible) {
      throw new CronError(
        `day-of-month ${parts[2]} never occurs in month ${parts[3]}, so the schedule would never run`,
      )
    }
  }
  return schedule
}

function dayMatches(schedule: CronSchedule, date: Date): boolean {
  const dom = schedule.daysOfMonth.includes(date.getUTCDate())
  const dow = schedule.daysOfWeek.includes(date.getUTCDay())
  return schedule.domStar || schedule.dowStar ? dom && dow : dom || dow
}

const MINUTE_MS = 60_000
/** Long enough for any day that exists (29 February can be 8 years away, around 2100). */
const HORIZON_MS = 9 * 366 * 86_400_000

/** The first run strictly after `after` (UTC, whole minutes); null when none comes within nine years. */
export function nextRun(schedule: CronSchedule, after: Date): Date | null {
  const limit = after.getTime() + HORIZON_MS
  let t = new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS)
  while (t.getTime() <= limit) {
    const y = t.getUTCFullYear()
    const mo = t.getUTCMonth()
    const d = t.getUTCDate()
    const h = t.getUTCHours()
    if (!schedule.months.includes(mo + 1)) {
      t = new Date(Date.UTC(y, mo + 1, 1))
      continue
    }
    if (!dayMatches(schedule, t)) {
      t = new Date(Date.UTC(y, mo, d + 1))
      continue
    }
    if (!schedule.hours.includes(h)) {
      t = new Date(Date.UTC(y, mo, d, h + 1))
      continue
    }
    const minute = schedule.minutes.find((m) => m >= t.getUTCMinutes())
    if (minute === undefined) {
      t = new Date(Date.UTC(y, mo, d, h + 1))
      continue
    }
    return new Date(Date.UTC(y, mo, d, h, minute))
  }
  return null
}
