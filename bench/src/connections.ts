import { DOMAINS, type Domain, type PoolSettings } from '@pm/db'
import { BENCH_POOL, withClient } from './data'

/**
 * PostgreSQL connections the bench may open, kept under a max_connections of 100 (a shared server's
 * default; 3 of them reserved for superusers). The deployed pools (DEFAULT_POOL_SIZES, 100 + 7 × 10
 * overflow) alone exceed that: on 2 cores a handful per subgraph keeps PostgreSQL busy, more only queue
 * inside it. Set through the variables packages/db/src/config.ts reads, for every subgraph process.
 */
export const SUBGRAPH_POOL_SIZES: Readonly<Record<Domain, number>> = {
  core: 2,
  catalog: 10,
  imports: 4,
  exports: 2,
  media: 4,
  code2asin: 4,
  analytics: 4,
}
export const SUBGRAPH_POOL_OVERFLOW = 2

/** One statement per request on 2 cores: more connections than cores only queue in PostgreSQL. */
export const FLOOR_POOL_SIZE = 8

/** The in-process statement counting runs one operation at a time, while the services start. */
export const COUNTING_POOL: PoolSettings = { ...BENCH_POOL, size: 1, maxOverflow: 2 }

/** The bench's own clients besides those pools: pg_stat_activity, parameters, the floor copy (two). */
const BENCH_CLIENTS = 3

export function subgraphPoolEnv(): Record<string, string> {
  const env: Record<string, string> = { DB_POOL_MAX_OVERFLOW: String(SUBGRAPH_POOL_OVERFLOW) }
  for (const d of DOMAINS) env[`DB_${d.toUpperCase()}_POOL_SIZE`] = String(SUBGRAPH_POOL_SIZES[d])
  return env
}

export interface ConnectionBudget {
  subgraphs: number
  floor: number
  counting: number
  bench: number
  /** Everything above at once (the counting stack is gone before the measured runs start) */
  total: number
  /** Open while measuring: subgraphs + floor + the bench's pg_stat_activity client */
  measuring: number
}

export function connectionBudget(withFloor: boolean): ConnectionBudget {
  const subgraphs = DOMAINS.reduce((n, d) => n + SUBGRAPH_POOL_SIZES[d] + SUBGRAPH_POOL_OVERFLOW, 0)
  const floor = withFloor ? FLOOR_POOL_SIZE : 0
  const counting = DOMAINS.length * (COUNTING_POOL.size + COUNTING_POOL.maxOverflow)
  return {
    subgraphs,
    floor,
    counting,
    bench: BENCH_CLIENTS,
    total: subgraphs + floor + counting + BENCH_CLIENTS,
    measuring: subgraphs + floor + 1,
  }
}

export interface ServerConnections {
  max: number
  /** superuser_reserved_connections + reserved_connections (PostgreSQL 16+) */
  reserved: number
  /** Sessions open at the start that are not the bench's (other work on a shared server) */
  others: number
}

export async function serverConnections(serverUrl: string, prefix: string): Promise<ServerConnections> {
  return withClient(serverUrl, async (c) => {
    const { rows } = await c.query<{ max: number; reserved: number; others: number }>(
      `SELECT current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int
                + coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved,
              (SELECT count(*)::int FROM pg_stat_activity
                WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                  AND coalesce(datname, '') NOT LIKE $1) AS others`,
      [`${prefix}\\_%`],
    )
    return rows[0]!
  })
}

/** "catalog 10+2, media 4+2, …": the subgraph pools as the report lists them. */
export function describeSubgraphPools(): string {
  return DOMAINS.map((d) => `${d} ${SUBGRAPH_POOL_SIZES[d]}+${SUBGRAPH_POOL_OVERFLOW}`).join(', ')
}
