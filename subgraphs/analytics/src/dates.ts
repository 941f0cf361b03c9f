import { badUserInput } from '@pm/service-kit'
import type { DateRange } from './db/queries'

export const MAX_RANGE_DAYS = 366
const DEFAULT_RANGE_DAYS = 30
const DAY_MS = 86_400_000

const toDay = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY_MS
const fromDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10)

/**
 * The inclusive day range of a metrics field: to defaults to today (UTC), from to 29 days before to;
 * from after to, or more than 366 days, is refused so every request stays bounded.
 */
export function dateRange(
  args: { from?: string | null; to?: string | null },
  today: string = new Date().toISOString().slice(0, 10),
): DateRange {
  const to = args.to ?? today
  const from = args.from ?? fromDay(toDay(to) - (DEFAULT_RANGE_DAYS - 1))
  const days = toDay(to) - toDay(from) + 1
  if (days < 1) {
    throw badUserInput(
      `from (${from}) is after to (${to})${args.to == null ? ', which defaults to today' : ''}: give from <= to`,
      { argument: 'from' },
    )
  }
  if (days > MAX_RANGE_DAYS) {
    throw badUserInput(
      `from ${from} to ${to} spans ${days} days; ask for at most ${MAX_RANGE_DAYS} days at a time`,
      { argument: 'from' },
    )
  }
  return { from, to }
}

/** An optional instant range [from, to) as ISO strings; from after to is refused. */
export function instantRange(args: { from?: Date | null; to?: Date | null }) {
  const from = args.from?.toISOString() ?? null
  const to = args.to?.toISOString() ?? null
  if (from !== null && to !== null && args.from!.getTime() > args.to!.getTime()) {
    throw badUserInput(`from (${from}) is after to (${to}): give from <= to`, { argument: 'from' })
  }
  return { from, to }
}
