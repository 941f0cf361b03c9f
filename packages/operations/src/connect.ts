import { DatabaseUnavailableError, type Domain } from '@pm/db'
import pg from 'pg'

export class OperationError extends Error {
  override name = 'OperationError'
}

/** One connection to a domain's database for the length of `fn`; a refused connection says which database. */
export async function withClient<T>(
  domain: Domain,
  url: string,
  fn: (client: pg.Client) => Promise<T>,
  applicationName = 'pm-operations',
): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: applicationName,
  })
  // A connection killed mid-command surfaces as the query's rejection, not as an unhandled event.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    await client.end().catch(() => {})
    throw new DatabaseUnavailableError(domain, url, error)
  }
  try {
    return await fn(client)
  } catch (error) {
    throw connectionLost(domain, error)
  } finally {
    await client.end().catch(() => {})
  }
}

/** A connection that died (killed backend, server gone) becomes an error naming the database. */
export function connectionLost(domain: Domain, error: unknown): unknown {
  const e = error as { code?: string; message?: string }
  if (
    e?.code === '57P01' ||
    e?.code === '57P02' ||
    e?.code === '57P03' ||
    /Connection terminated|not queryable|terminating connection|ECONNRESET|ECONNREFUSED|EPIPE/i.test(
      e?.message ?? '',
    )
  ) {
    return new OperationError(
      `${domain}: the database connection was lost (${e.code ?? e.message}); nothing was changed by the unfinished step, run it again`,
    )
  }
  return error
}

/** The public tables of a database (plain and partitioned parents; partitions too). */
export async function listTables(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  )
  return rows.map((r) => r.name)
}

/** Refuses a table name that is not one of the database's public tables (no SQL is built from input). */
export async function checkTable(client: pg.Client, domain: Domain, table: string): Promise<string> {
  const tables = await listTables(client)
  if (!tables.includes(table)) {
    throw new OperationError(`${domain}: no table "${table}" (tables: ${tables.join(', ')})`)
  }
  return table
}

/** The newest applied migration version of a database (pm.schema_migrations), or null. */
export async function migrationVersion(client: pg.Client): Promise<string | null> {
  const exists = await client.query(`SELECT to_regclass('pm.schema_migrations') IS NOT NULL AS ok`)
  if (!exists.rows[0].ok) return null
  const { rows } = await client.query<{ v: string | null }>(
    'SELECT max(version) AS v FROM pm.schema_migrations',
  )
  return rows[0]?.v ?? null
}

/** Exact row counts of every public table (partitions counted through their parent). */
export async function rowCounts(client: pg.Client): Promise<Record<string, number>> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
  )
  const counts: Record<string, number> = {}
  for (const { name } of rows) {
    const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(name)}`)
    counts[name] = Number(r.rows[0]!.n)
  }
  return counts
}

/** fn over items, at most `limit` at once, results in the items' order; the first failure rejects. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  return results
}
