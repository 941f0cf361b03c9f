import DataLoader from 'dataloader'
import { type Kysely, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely'
import { badUserInput } from './errors'

export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 100
/** The largest page the platform's own signed service callers may ask of a list that allows it (feed exports). */
export const SERVICE_MAX_PAGE_SIZE = 1_000

export interface PageArgs {
  first?: number | null
  after?: string | null
}

/** A list order: one column, then the unique id as tie-breaker, both in the same direction. */
export interface Order {
  /** Stable name written into cursors, e.g. 'CREATED_AT'; a cursor only works with its own order. */
  key: string
  /** Qualified column, e.g. 'products.created_at'. May be nullable: NULL sorts as the greatest value. */
  column: string
  direction: 'asc' | 'desc'
  /** Qualified unique id column, e.g. 'products.id'. */
  id: string
}

export interface Edge<T> {
  cursor: string
  node: T
}

export interface Connection<T> {
  edges: Edge<T>[]
  pageInfo: {
    hasNextPage: boolean
    hasPreviousPage: boolean
    startCursor: string | null
    endCursor: string | null
  }
  /** Resolved only when the field is asked for (graphql-js calls function-valued properties). */
  totalCount: () => Promise<number>
}

interface Cursor {
  value: string | null
  id: string
}

// biome-ignore lint/suspicious/noExplicitAny: the helpers work on any table's query
type AnyQuery = SelectQueryBuilder<any, any, any>

export function pageSize(first: number | null | undefined, max = MAX_PAGE_SIZE): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE
  if (!Number.isInteger(first) || first < 0 || first > max) {
    throw badUserInput(`first must be between 0 and ${max}`, { argument: 'first' })
  }
  return first
}

export function encodeCursor(order: Order, value: string | null, id: string): string {
  return Buffer.from(JSON.stringify([order.key, value, id])).toString('base64url')
}

export function decodeCursor(order: Order, cursor: string): Cursor {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    parsed = undefined
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    (parsed[1] !== null && typeof parsed[1] !== 'string') ||
    typeof parsed[2] !== 'string'
  ) {
    throw badUserInput('after is not a cursor returned by this list', { argument: 'after' })
  }
  if (parsed[0] !== order.key) {
    throw badUserInput(`after is a cursor for another order (${parsed[0]}), not ${order.key}`, {
      argument: 'after',
    })
  }
  return { value: parsed[1], id: parsed[2] }
}

/** Rows strictly after the cursor in the list's order (NULL sorts last ascending, first descending). */
export function afterCursor(order: Order, cursor: Cursor): RawBuilder<boolean> {
  const col = sql.ref(order.column)
  const id = sql.ref(order.id)
  if (order.column === order.id) {
    return order.direction === 'asc' ? sql<boolean>`${id} > ${cursor.id}` : sql<boolean>`${id} < ${cursor.id}`
  }
  if (order.direction === 'desc') {
    return cursor.value === null
      ? sql<boolean>`(${col} IS NOT NULL OR ${id} < ${cursor.id})`
      : sql<boolean>`(${col}, ${id}) < (${cursor.value}, ${cursor.id})`
  }
  return cursor.value === null
    ? sql<boolean>`(${col} IS NULL AND ${id} > ${cursor.id})`
    : sql<boolean>`((${col}, ${id}) > (${cursor.value}, ${cursor.id}) OR ${col} IS NULL)`
}

function withOrder(query: AnyQuery, order: Order): AnyQuery {
  return query
    .select([
      sql<string | null>`${sql.ref(order.column)}::text`.as('__sort'),
      sql<string>`${sql.ref(order.id)}::text`.as('__id'),
    ])
    .orderBy(sql.ref(order.column), order.direction)
    .orderBy(sql.ref(order.id), order.direction)
}

/** The columns pageQuery adds to each row, read back by toConnection. */
export type Marked = { __sort: string | null; __id: string }

/**
 * A page's rows (first + 1, the marked columns of pageQuery) as its connection. For a caller that runs the
 * page's statement itself (compiled once, see fixedStatement); paginate does all of it otherwise.
 */
export function toConnection<T>(
  rows: readonly (T & Marked)[],
  first: number,
  order: Order,
  args: PageArgs,
  totalCount: () => Promise<number>,
): Connection<T> {
  const edges = rows.slice(0, first).map((row) => {
    const {
      __sort,
      __id,
      __rn: _rn,
      __parent: _parent,
      ...node
    } = row as T & Marked & Record<string, unknown>
    return { cursor: encodeCursor(order, __sort, __id), node: node as T }
  })
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: Boolean(args.after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount,
  }
}

/** A malformed value inside a well-formed cursor fails in PostgreSQL's input parsing (class 22). */
async function runWithCursor<R>(args: PageArgs, run: () => Promise<R>): Promise<R> {
  try {
    return await run()
  } catch (error) {
    if (args.after && String((error as { code?: string }).code ?? '').startsWith('22')) {
      throw badUserInput('after is not a cursor returned by this list', { argument: 'after' })
    }
    throw error
  }
}

/**
 * Keyset pagination of a filtered query: one statement for the page (first + 1 rows, to know whether
 * there is a next page) and, only when asked, one for totalCount.
 */
export async function paginate<T>(
  query: SelectQueryBuilder<any, any, T>,
  order: Order,
  args: PageArgs,
  options: { maxPageSize?: number } = {},
): Promise<Connection<T>> {
  const first = pageSize(args.first, options.maxPageSize)
  const cursor = args.after ? decodeCursor(order, args.after) : undefined
  let page = pageQuery(query, order, first + 1)
  if (cursor) page = page.where(afterCursor(order, cursor))
  const rows = await runWithCursor(args, () => page.execute() as Promise<(T & Marked)[]>)
  return toConnection(
    rows,
    first,
    order,
    args,
    totalCountOf(() => query),
  )
}

/** paginate's statement for a first page: the list's order, `limit` (first + 1) rows, the marked columns. */
export function pageQuery(query: AnyQuery, order: Order, limit: number): AnyQuery {
  return withOrder(query, order).limit(limit)
}

/** totalCount of a filtered list: its query (built only if asked) counted once, in a statement of its own. */
export function totalCountOf(query: () => AnyQuery): () => Promise<number> {
  let count: Promise<number> | undefined
  return () => {
    count ??= query()
      .clearSelect()
      .clearOrderBy()
      .select(sql<string>`count(*)`.as('count'))
      .executeTakeFirstOrThrow()
      .then((r) => Number((r as { count: string }).count))
    return count
  }
}

export interface GroupedConnectionOptions {
  db: Kysely<any>
  /** The filtered rows of every parent in `keys` (e.g. `WHERE job_id = ANY(keys)`), selecting the node columns. */
  query: (keys: readonly string[]) => AnyQuery
  /** Qualified column holding the parent key, e.g. 'import_logs.job_id'. */
  parentColumn: string
  /** SQL type of the parent key (default uuid), e.g. 'text' for a code. */
  parentType?: 'uuid' | 'text'
  order: Order
  args: PageArgs
}

/**
 * Nested connections (a page of children for each parent) for a whole batch of parents in one
 * statement: each parent's page is a LATERAL subquery with ORDER BY … LIMIT, so a parent with a
 * million children costs an index range scan of first + 1 rows, not a sort of its million rows.
 * totalCount per parent comes from one grouped count, only when asked.
 */
export function groupedConnectionLoader<T>(
  options: GroupedConnectionOptions,
): DataLoader<string, Connection<T>> {
  const { db, order, args, parentColumn } = options
  const first = pageSize(options.args.first)
  const cursor = args.after ? decodeCursor(order, args.after) : undefined
  const keyType = sql.raw(options.parentType === 'text' ? 'text[]' : 'uuid[]')
  const counts = new DataLoader<string, number>(async (keys) => {
    const rows = await options
      .query(keys)
      .clearSelect()
      .select([sql<string>`${sql.ref(parentColumn)}::text`.as('parent'), sql<string>`count(*)`.as('count')])
      .groupBy(sql.ref(parentColumn))
      .execute()
    const byParent = new Map(rows.map((r) => [r.parent as string, Number(r.count)]))
    return keys.map((k) => byParent.get(k) ?? 0)
  })
  return new DataLoader<string, Connection<T>>(async (keys) => {
    let page = withOrder(options.query(keys), order)
      // Same order as the page's ORDER BY, so one index scan (or one sort) serves both.
      .select(
        sql<number>`row_number() OVER (ORDER BY ${sql.ref(order.column)} ${sql.raw(order.direction)}, ${sql.ref(order.id)} ${sql.raw(order.direction)})`.as(
          '__rn',
        ),
      )
      .where(sql<boolean>`${sql.ref(parentColumn)} = parent.key`)
      .limit(first + 1)
    if (cursor) page = page.where(afterCursor(order, cursor))
    const { rows } = await runWithCursor(args, () =>
      sql<T & Marked & { __parent: string }>`
        SELECT page.*, parent.key::text AS __parent
        FROM unnest(CAST(${[...keys]} AS ${keyType})) WITH ORDINALITY AS parent(key, ordinal)
        CROSS JOIN LATERAL (${page}) AS page
        ORDER BY parent.ordinal, page.__rn`.execute(db),
    )
    const byParent = new Map<string, (T & Marked)[]>(keys.map((k) => [k, []]))
    for (const row of rows) byParent.get(row.__parent)?.push(row)
    return keys.map((k) => toConnection(byParent.get(k) ?? [], first, order, args, () => counts.load(k)))
  })
}

/** The same page with each node mapped (rows → domain objects). */
export function mapConnection<T, U>(connection: Connection<T>, map: (node: T) => U): Connection<U> {
  return { ...connection, edges: connection.edges.map((e) => ({ cursor: e.cursor, node: map(e.node) })) }
}

/** The Order for a GraphQL `orderBy: { field, direction }` argument, from a table of allowed fields. */
export function orderFrom(
  columns: Readonly<Record<string, string>>,
  id: string,
  orderBy: { field: string; direction: 'ASC' | 'DESC' } | null | undefined,
  fallback: { field: string; direction: 'ASC' | 'DESC' },
): Order {
  const chosen = orderBy ?? fallback
  const column = columns[chosen.field]
  if (!column) throw badUserInput(`orderBy.field must be one of ${Object.keys(columns).join(', ')}`)
  return {
    key: `${chosen.field}:${chosen.direction}`,
    column,
    id,
    direction: chosen.direction === 'ASC' ? 'asc' : 'desc',
  }
}
