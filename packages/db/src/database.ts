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
