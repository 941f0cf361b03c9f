import { type RawBuilder, sql } from 'kysely'

/**
 * PostgreSQL column types a JSON row codec carries. Each is written into the JSON so that reviving it
 * gives exactly what the pg driver (with @pm/db's type parsers) gives for the column read directly.
 */
export type JsonColumnType =
  | 'text'
  | 'uuid'
  | 'bool'
  | 'int2'
  | 'int4'
  | 'int8'
  | 'numeric'
  | 'float4'
  | 'float8'
  | 'timestamp'
  | 'timestamptz'
  | 'date'
  | 'json'
  | 'jsonb'

export type JsonColumns<R> = { readonly [K in keyof R & string]: JsonColumnType }

/** How each type travels: as JSON itself (the driver's value is JSON's), or as its text output, parsed here. */
const AS_TEXT: Readonly<Record<JsonColumnType, boolean>> = {
  text: false,
  uuid: false,
  bool: false,
  int2: false,
  int4: false,
  json: false,
  jsonb: false,
  // Text output, never a JSON number: exact digits, no 2^53 limit, the driver's strings.
  int8: true,
  numeric: true,
  // NaN and ±Infinity have no JSON number.
  float4: true,
  float8: true,
  // The session's DateStyle/TimeZone output, the same text the driver parses.
  timestamp: true,
  timestamptz: true,
  date: true,
}

// json_build_object takes at most 100 arguments (FUNC_MAX_ARGS).
const MAX_COLUMNS = 50

export interface JsonRowCodec<R> {
  readonly columns: JsonColumns<R>
  /** `json_build_object('col', alias.col, …)` over the row of `alias` (NULL-safe: a NULL row gives NULL only via the caller's join). */
  object(alias: string): RawBuilder<unknown>
  /**
   * The rows of `alias` in one JSON array, in the given order (an empty array when there are none):
   * `coalesce(json_agg(json_build_object(…) ORDER BY …), '[]')`. For a correlated subquery's select list.
   */
  agg(alias: string, orderBy?: RawBuilder<unknown>): RawBuilder<unknown>
  /** One row back from its JSON object (null stays null). */
  revive(value: unknown): R | null
  /** The rows of an agg(). */
  reviveAll(value: unknown): R[]
}

/**
 * Child rows aggregated as JSON in their parent's statement, revived to the values the normal pg path
 * yields: NUMERIC and int8 as the same strings, TIMESTAMP as the same Date (read as UTC), TIMESTAMPTZ as
 * the same Date, DATE as its 'YYYY-MM-DD' string, json/jsonb parsed, uuid and text as strings.
 */
export function jsonRowCodec<R>(columns: JsonColumns<R>): JsonRowCodec<R> {
  const entries = Object.entries(columns) as [string, JsonColumnType][]
  if (entries.length === 0 || entries.length > MAX_COLUMNS) {
    throw new Error(`a JSON row codec takes 1 to ${MAX_COLUMNS} columns, not ${entries.length}`)
  }
  const parsers = entries.map(([name, type]) => [name, PARSERS[type]] as const)
  const object = (alias: string) =>
    sql`json_build_object(${sql.join(
      entries.map(([name, type]) => {
        const ref = sql.ref(`${alias}.${name}`)
        return sql`${sql.lit(name)}, ${AS_TEXT[type] ? sql`${ref}::text` : ref}`
      }),
    )})`
  const revive = (value: unknown): R | null => {
    if (value === null || value === undefined) return null
    const source = value as Record<string, unknown>
    const row: Record<string, unknown> = {}
    for (const [name, parse] of parsers) {
      const raw = source[name]
      row[name] = raw === null || raw === undefined ? null : parse(raw)
    }
    return row as R
  }
  return {
    columns,
    object,
    agg: (alias, orderBy) =>
      sql`coalesce(json_agg(${object(alias)}${orderBy ? sql` ORDER BY ${orderBy}` : sql``}), '[]'::json)`,
    revive,
    reviveAll: (value) => {
      if (!Array.isArray(value)) return []
      return value.map((v) => revive(v) as R)
    },
  }
}

const same = (value: unknown) => value

/** The project's TIMESTAMP rule (packages/db/src/pool.ts): the wall time is UTC. */
const parseTimestamp = (value: unknown) => new Date(`${String(value).replace(' ', 'T')}Z`)

const PARSERS: Readonly<Record<JsonColumnType, (value: unknown) => unknown>> = {
  text: same,
  uuid: same,
  bool: same,
  int2: same,
  int4: same,
  json: same,
  jsonb: same,
  int8: same,
  numeric: same,
  date: same,
  float4: (value) => Number.parseFloat(String(value)),
  float8: (value) => Number.parseFloat(String(value)),
  timestamp: parseTimestamp,
  timestamptz: (value) => parseTimestamptz(String(value)),
}

const DATE_TIME = /(\d{1,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,})?.*?( BC)?$/
const TIME_ZONE = /([Z+-])(\d{2})?:?(\d{2})?:?(\d{2})?/

/**
 * TIMESTAMPTZ text output to a Date, as pg's default parser (postgres-date 1.x) does it: fractional
 * milliseconds truncated the same way, the same offset arithmetic, the same infinities.
 */
export function parseTimestamptz(text: string): Date | number | null {
  if (/^-?infinity$/.test(text)) return Number(text.replace('i', 'I'))
  const m = DATE_TIME.exec(text)
  if (!m) return null
  let year = Number.parseInt(m[1]!, 10)
  if (m[8]) year = -year + 1
  const month = Number.parseInt(m[2]!, 10) - 1
  const day = Number.parseInt(m[3]!, 10)
  const ms = m[7] ? 1000 * Number.parseFloat(m[7]) : 0
  const date = new Date(
    Date.UTC(
      year,
      month,
      day,
      Number.parseInt(m[4]!, 10),
      Number.parseInt(m[5]!, 10),
      Number.parseInt(m[6]!, 10),
      ms,
    ),
  )
  if (year >= 0 && year < 100) date.setUTCFullYear(year)
  const zone = TIME_ZONE.exec(text.split(' ')[1] ?? '')
  if (zone && zone[1] !== 'Z') {
    const sign = zone[1] === '-' ? -1 : 1
    const offset =
      sign *
      (Number.parseInt(zone[2] ?? '0', 10) * 3600 +
        Number.parseInt(zone[3] ?? '0', 10) * 60 +
        Number.parseInt(zone[4] ?? '0', 10)) *
      1000
    if (offset !== 0) date.setTime(date.getTime() - offset)
  }
  return date
}
