import type { PoolFigures } from '@pm/telemetry'
import pg from 'pg'
import type { PoolSettings } from './config'
import { describeUrl } from './config'
import type { Domain } from './domains'
import { databaseName } from './domains'

/** A pool's figures: what the metrics read (@pm/telemetry's PoolFigures), and the statements it ran. */
export interface PoolStats extends PoolFigures {
  domain: Domain
  /** Statements executed through Kysely on this pool. */
  queries: number
}

export class PoolTimeoutError extends Error {
  override name = 'PoolTimeoutError'
  readonly code = 'POOL_TIMEOUT'
}

const lastReleasedAt = Symbol('lastReleasedAt')
type TrackedClient = pg.PoolClient & { [lastReleasedAt]?: number; _ending?: boolean; _queryable?: boolean }

// Dates sent as parameters are written in UTC, matching how TIMESTAMP columns are read back (below).
pg.defaults.parseInputDatesAsUTC = true

/** int8/count(*) stay strings (no precision loss); TIMESTAMP (no zone) is read as UTC, sessions run in UTC. */
const TYPE_PARSERS: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.TIMESTAMP) return (value: string) => new Date(`${value.replace(' ', 'T')}Z`)
    if (oid === pg.types.builtins.DATE) return (value: string) => value
    return pg.types.getTypeParser(oid, format)
  }) as pg.CustomTypesConfig['getTypeParser'],
}

/**
 * A pg pool sized as docs/requirements.md#connection-pools says, with the figures the metrics need and a
 * guarantee that a connection which died while idle is discarded rather than handed to a query.
 */
export class DomainPool {
  readonly pool: pg.Pool
  readonly domain: Domain
  readonly settings: PoolSettings
  private readonly counters = {
    acquires: 0,
    acquireWaitMsTotal: 0,
    acquireWaitMsMax: 0,
    acquireTimeouts: 0,
    deadConnectionsDiscarded: 0,
    queries: 0,
  }

  constructor(domain: Domain, url: string, settings: PoolSettings, onError?: (error: Error) => void) {
    this.domain = domain
    this.settings = settings
    this.pool = new pg.Pool({
      connectionString: url,
      min: settings.size,
      max: settings.size + settings.maxOverflow,
      connectionTimeoutMillis: settings.acquireTimeoutMs,
      idleTimeoutMillis: settings.idleTimeoutMs,
      maxLifetimeSeconds: Math.max(1, Math.round(settings.recycleMs / 1000)),
      keepAlive: true,
      application_name: `pm-${domain}`,
      // JIT off: the services run short statements, for which LLVM compilation costs far more than it saves
      // (with stale statistics after a bulk import, catalog's per-chunk reads were planned above jit_above_cost
      // and spent 200-400 ms compiling each: most of an import's time).
      options: '-c TimeZone=UTC -c jit=off',
      types: TYPE_PARSERS,
    })
    // An idle client whose server went away emits 'error'; pg-pool drops it, we only report it.
    this.pool.on('error', (error) => {
      this.counters.deadConnectionsDiscarded++
      onError?.(error)
    })
  }

  /**
   * Checks out a live connection; fails with PoolTimeoutError after acquireTimeoutMs. The first
   * statement on a reused connection is retried once on a fresh one when the server had closed it
   * while it sat idle (the close can still be in flight on the socket when the connection is handed
   * out): nothing has run on it yet, so the retry is safe.
   */
  async connect(): Promise<pg.PoolClient> {
    let client = await this.acquire()
    let first = true
    const handle = Object.create(client) as pg.PoolClient
    handle.query = ((...args: Parameters<pg.PoolClient['query']>) => {
      if (!first) return (client.query as (...a: unknown[]) => unknown).apply(client, args)
      first = false
      const reused = (client as TrackedClient)[lastReleasedAt] !== undefined
      return (async () => {
        try {
          return await (client.query as (...a: unknown[]) => Promise<unknown>).apply(client, args)
        } catch (error) {
          if (!reused || !isConnectionLost(error)) throw error
          this.counters.deadConnectionsDiscarded++
          client.release(true)
          client = await this.acquire()
          return (client.query as (...a: unknown[]) => Promise<unknown>).apply(client, args)
        }
      })()
    }) as pg.PoolClient['query']
    handle.release = (err?: Error | boolean) => client.release(err)
    return handle
  }

  private async acquire(): Promise<pg.PoolClient> {
    const started = performance.now()
    // Bounded: every discarded client frees a slot, so at most `max` dead ones can be met in a row.
    for (let attempt = 0; ; attempt++) {
      let client: TrackedClient
      try {
        client = (await this.pool.connect()) as TrackedClient
      } catch (error) {
        throw this.translateConnectError(error)
      }
      if (await this.isUsable(client)) {
        this.recordAcquire(performance.now() - started)
        const release = client.release
        client.release = (err?: Error | boolean) => {
          client[lastReleasedAt] = Date.now()
          return release(err)
        }
        return client
      }
      this.counters.deadConnectionsDiscarded++
      client.release(true)
      if (attempt > this.settings.size + this.settings.maxOverflow) {
        throw new Error(`${databaseName(this.domain)}: could not obtain a live connection`)
      }
    }
  }

  private async isUsable(client: TrackedClient): Promise<boolean> {
    if (client._ending || client._queryable === false) return false
    const idleSince = client[lastReleasedAt]
    if (idleSince === undefined || Date.now() - idleSince < this.settings.prePingIdleMs) return true
    try {
      await client.query('SELECT 1')
      return true
    } catch {
      return false
    }
  }

  private recordAcquire(waitMs: number) {
    this.counters.acquires++
    this.counters.acquireWaitMsTotal += waitMs
    if (waitMs > this.counters.acquireWaitMsMax) this.counters.acquireWaitMsMax = waitMs
  }

  private translateConnectError(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error)
    if (message.includes('timeout exceeded when trying to connect')) {
      this.counters.acquireTimeouts++
      return new PoolTimeoutError(
        `${databaseName(this.domain)}: no connection available within ${this.settings.acquireTimeoutMs} ms ` +
          `(${this.pool.totalCount}/${this.settings.size + this.settings.maxOverflow} in use, ${this.pool.waitingCount} waiting)`,
      )
    }
    return new DatabaseUnavailableError(this.domain, this.pool.options.connectionString ?? '', error)
  }

  countQuery() {
    this.counters.queries++
  }

  stats(): PoolStats {
    return {
      domain: this.domain,
      max: this.settings.size + this.settings.maxOverflow,
      total: this.pool.totalCount,
      idle: this.pool.idleCount,
      waiting: this.pool.waitingCount,
      ...this.counters,
    }
  }

  end(): Promise<void> {
    return this.pool.ended ? Promise.resolve() : this.pool.end()
  }
}

/** The server closed the session (restart, pg_terminate_backend, idle timeout) or the socket broke. */
function isConnectionLost(error: unknown): boolean {
  const e = error as { code?: string; message?: string }
  return (
    e?.code === '57P01' ||
    e?.code === '57P02' ||
    e?.code === '57P03' ||
    e?.code === 'ECONNRESET' ||
    e?.code === 'EPIPE' ||
    /Connection terminated|not queryable|Client has encountered a connection error/i.test(e?.message ?? '')
  )
}

/** A server that cannot be reached, named by domain and host, never with its password. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError'
  readonly code = 'DATABASE_UNAVAILABLE'
  constructor(domain: Domain, url: string, cause: unknown) {
    const reason =
      cause instanceof Error ? cause.message || ((cause as { code?: string }).code ?? 'error') : String(cause)
    super(`${domain} database (${describeUrl(url)}) is unreachable: ${reason}`)
  }
}
