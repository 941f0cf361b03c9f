import { observeStatement, registerPool } from '@pm/telemetry'
import { Kysely, type LogEvent, PostgresDialect, sql } from 'kysely'
import type { DomainDatabaseConfig } from './config'
import type { Domain } from './domains'
import { DomainPool, type PoolStats } from './pool'
import type { DatabaseOf } from './schema'

export interface DomainDatabase<D extends Domain = Domain> {
  readonly domain: D
  readonly db: Kysely<DatabaseOf<D>>
  /** The same pool, for background work (outbox relays, maintenance): not counted in stats().queries. */
  readonly background: Kysely<DatabaseOf<D>>
  readonly pool: DomainPool
  stats(): PoolStats
  /** Resolves when the database answers a query; for readiness probes. */
  ping(): Promise<void>
  destroy(): Promise<void>
}

export interface CreateDomainDatabaseOptions {
  onPoolError?: (error: Error) => void
  /** Called after every statement, with its duration: slow-query logs and tests counting statements. */
  onQuery?: (event: { sql: string; durationMs: number; error?: unknown }) => void
}

/** One Kysely instance over one pool, per domain per process; destroy() on shutdown. */
export function createDomainDatabase<D extends Domain>(
  config: DomainDatabaseConfig & { domain: D },
  options: CreateDomainDatabaseOptions = {},
): DomainDatabase<D> {
  const pool = new DomainPool(config.domain, config.url, config.pool, options.onPoolError)
  // Every statement, counted or not, feeds the metrics (duration, slow ones) and the current trace.
  const observe = (event: LogEvent) =>
    observeStatement(
      config.domain,
      event.query.sql,
      event.queryDurationMillis,
      event.level === 'error' ? (event.error ?? 'error') : undefined,
    )
  const unregister = registerPool(() => pool.stats())
  const db = new Kysely<DatabaseOf<D>>({
    dialect: new PostgresDialect({ pool: { connect: () => pool.connect(), end: () => pool.end() } }),
    log(event) {
      observe(event)
      pool.countQuery()
      options.onQuery?.({
        sql: event.query.sql,
        durationMs: event.queryDurationMillis,
        ...(event.level === 'error' ? { error: event.error } : {}),
      })
    },
  })
  const background = new Kysely<DatabaseOf<D>>({
    // Ending is db's job: the two instances share one pool.
    dialect: new PostgresDialect({ pool: { connect: () => pool.connect(), end: async () => {} } }),
    log: observe,
  })
  return {
    domain: config.domain,
    db,
    background,
    pool,
    stats: () => pool.stats(),
    async ping() {
      // A readiness probe is nobody's operation: it stays out of the statement count.
      await sql`SELECT 1`.execute(background)
    },
    async destroy() {
      unregister()
      await background.destroy()
      await db.destroy()
    },
  }
}

/** One DomainDatabase per domain. */
export type DomainDatabases = { [D in Domain]: DomainDatabase<D> }
/** Each domain's Kysely handle (what the seed and the data-set loader take). */
export type DomainKyselys = { [D in Domain]: Kysely<DatabaseOf<D>> }

/** A DomainDatabase per domain, from the seven configurations (`options` for each, e.g. their pool errors). */
export function createDomainDatabases(
  configs: Record<Domain, DomainDatabaseConfig>,
  options: (domain: Domain) => CreateDomainDatabaseOptions = () => ({}),
): DomainDatabases {
  const open = <D extends Domain>(domain: D): DomainDatabase<D> =>
    createDomainDatabase({ ...configs[domain], domain }, options(domain))
  return {
    core: open('core'),
    catalog: open('catalog'),
    imports: open('imports'),
    exports: open('exports'),
    media: open('media'),
    code2asin: open('code2asin'),
    analytics: open('analytics'),
  }
}

/** The Kysely handles of the seven databases. */
export function domainKyselys(databases: DomainDatabases): DomainKyselys {
  return {
    core: databases.core.db,
    catalog: databases.catalog.db,
    imports: databases.imports.db,
    exports: databases.exports.db,
    media: databases.media.db,
    code2asin: databases.code2asin.db,
    analytics: databases.analytics.db,
  }
}

/** Destroys the seven databases' pools. */
export async function destroyDomainDatabases(databases: DomainDatabases): Promise<void> {
  await Promise.all(Object.values(databases).map((d) => d.destroy()))
}
