import { type RawBuilder, type SelectQueryBuilder, sql } from 'kysely'
import type { JsonRowCodec } from './json-rows'
import {
  afterCursor,
  type Connection,
  decodeCursor,
  encodeCursor,
  type Order,
  type PageArgs,
  pageSize,
} from './pagination'

// biome-ignore lint/suspicious/noExplicitAny: the helpers work on any table's query
type AnyQuery = SelectQueryBuilder<any, any, any>

interface Cursor {
  value: string | null
  id: string
}

export interface JsonPageOptions<R> {
  /**
   * The children of ONE parent, correlated to the enclosing statement's row and selecting the node
   * columns, e.g. `db.selectFrom('stock_history').selectAll().where(sql\`stock_history.product_id = products.id\`)`.
   */
  query: AnyQuery
  order: Order
  args: PageArgs
  codec: JsonRowCodec<R>
  /** Count the parent's children in the same statement (the connection's totalCount is asked for). */
  totalCount: boolean
  /**
   * Whether a cursor's value and id are valid input for the order's columns. A value PostgreSQL refuses
   * would fail the whole enclosing statement; such a page is left to the connection's own loader.
   */
  validCursor?: (cursor: Cursor) => boolean
}

export interface JsonPage<R> {
  /** A scalar subquery for the enclosing statement's select list: the page (and count) as one JSON value. */
  sql: RawBuilder<unknown>
  /** The connection back from that value, as groupedConnectionLoader would have answered it. */
  read(value: unknown, fallbackCount: () => Promise<number>): Connection<R>
}

/**
 * A nested connection page (first + 1 children of the current parent, ORDER BY … LIMIT on the parent's
 * index range, like groupedConnectionLoader's LATERAL) as one JSON value inside the parent's statement,
 * so the parent and its pages cost one statement. Null when the arguments are not valid: the connection's
 * loader then runs and reports the error on the field that has it.
 */
export function jsonPage<R>(options: JsonPageOptions<R>): JsonPage<R> | null {
  const { order, args, codec } = options
  let first: number
  let cursor: Cursor | undefined
  try {
    first = pageSize(args.first)
    cursor = args.after ? decodeCursor(order, args.after) : undefined
  } catch {
    return null
  }
  if (cursor && options.validCursor && !options.validCursor(cursor)) return null
  const dir = sql.raw(order.direction)
  let page = options.query
    .select([
      sql<string | null>`${sql.ref(order.column)}::text`.as('__sort'),
      sql<string>`${sql.ref(order.id)}::text`.as('__id'),
      sql<number>`row_number() OVER (ORDER BY ${sql.ref(order.column)} ${dir}, ${sql.ref(order.id)} ${dir})`.as(
        '__rn',
      ),
    ])
    .orderBy(sql.ref(order.column), order.direction)
    .orderBy(sql.ref(order.id), order.direction)
    .limit(first + 1)
  if (cursor) page = page.where(afterCursor(order, cursor))
  const rows = sql`coalesce(json_agg(json_build_object('n', ${codec.object('page')}, 's', page.__sort, 'i', page.__id) ORDER BY page.__rn), '[]'::json)`
  const count = options.totalCount
    ? sql`, 'c', (${options.query.clearSelect().select(sql`count(*)::text`.as('c'))})`
    : sql``
  return {
    sql: sql`(SELECT json_build_object('r', ${rows}${count}) FROM (${page}) AS page)`,
    read(value, fallbackCount) {
      const json = (value ?? {}) as { r?: { n: unknown; s: string | null; i: string }[]; c?: string }
      const all = json.r ?? []
      const edges = all.slice(0, first).map((e) => ({
        cursor: encodeCursor(order, e.s, e.i),
        node: codec.revive(e.n) as R,
      }))
      const total = json.c === undefined ? undefined : Number(json.c)
      return {
        edges,
        pageInfo: {
          hasNextPage: all.length > first,
          hasPreviousPage: Boolean(args.after),
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
        totalCount: total === undefined ? fallbackCount : () => Promise.resolve(total),
      }
    },
  }
}

const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(\+00)?$/

/**
 * Whether a cursor value is a TIMESTAMP (or, with +00, a TIMESTAMPTZ in a UTC session) as PostgreSQL
 * prints it, with a real calendar date: such text is always valid input for the column.
 */
export function isTimestampText(value: string | null): boolean {
  if (value === null) return true
  const m = TIMESTAMP_TEXT.exec(value)
  if (!m) return false
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s))
  return (
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s
  )
}
