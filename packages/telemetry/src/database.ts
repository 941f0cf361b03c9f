import { metricsEnabled, slowStatements, snapshotFamily, statementDuration } from './metrics'
import { normalizeStatement } from './sql'
import { statementSpan } from './tracing'

/** What a domain pool tells the metrics (packages/db's PoolStats). */
export interface PoolFigures {
  domain: string
  /** Configured ceiling: size + overflow. */
  max: number
  total: number
  idle: number
  waiting: number
  acquires: number
  acquireWaitMsTotal: number
  acquireWaitMsMax: number
  acquireTimeouts: number
  /** Idle connections found dead (by the liveness check or the pre-ping) and replaced. */
  deadConnectionsDiscarded: number
}

const pools = new Set<() => PoolFigures>()

/** Registers a pool's figures for `/metrics` (summed per domain); the answer unregisters it. */
export function registerPool(read: () => PoolFigures): () => void {
  pools.add(read)
  return () => {
    pools.delete(read)
  }
}

function perDomain(
  pick: (f: PoolFigures) => number,
  combine: (a: number, b: number) => number = (a, b) => a + b,
) {
  return () => {
    const byDomain = new Map<string, number>()
    for (const read of pools) {
      const figures = read()
      const before = byDomain.get(figures.domain)
      byDomain.set(figures.domain, before === undefined ? pick(figures) : combine(before, pick(figures)))
    }
    return [...byDomain].map(([domain, value]) => ({ labels: { domain }, value }))
  }
}

snapshotFamily(
  'pm_db_pool_max_connections',
  'Connections a domain pool may open (size + overflow).',
  'gauge',
  perDomain((f) => f.max),
)
snapshotFamily(
  'pm_db_pool_connections',
  'Open connections of a domain pool, by state (idle, in_use).',
  'gauge',
  () =>
    ['idle', 'in_use'].flatMap((state) =>
      perDomain((f) => (state === 'idle' ? f.idle : f.total - f.idle))().map((s) => ({
        labels: { ...s.labels, state },
        value: s.value,
      })),
    ),
)
snapshotFamily(
  'pm_db_pool_waiting',
  'Queries waiting for a connection of a domain pool.',
  'gauge',
  perDomain((f) => f.waiting),
)
snapshotFamily(
  'pm_db_pool_acquires_total',
  'Connections handed out by a domain pool.',
  'counter',
  perDomain((f) => f.acquires),
)
snapshotFamily(
  'pm_db_pool_acquire_wait_seconds_total',
  'Time spent waiting for a connection of a domain pool, summed over acquires.',
  'counter',
  perDomain((f) => f.acquireWaitMsTotal / 1000),
)
snapshotFamily(
  'pm_db_pool_acquire_wait_max_seconds',
  'Longest wait for a connection of a domain pool since start.',
  'gauge',
  perDomain((f) => f.acquireWaitMsMax / 1000, Math.max),
)
snapshotFamily(
  'pm_db_pool_acquire_timeouts_total',
  'Queries refused because no connection of a domain pool came within DB_POOL_TIMEOUT_MS.',
  'counter',
  perDomain((f) => f.acquireTimeouts),
)
snapshotFamily(
  'pm_db_pool_dead_connections_total',
  'Connections of a domain pool found dead (server restart, killed backend) and replaced.',
  'counter',
  perDomain((f) => f.deadConnectionsDiscarded),
)

/**
 * Where slow statements are reported: the service's logger, set when it starts (startTelemetry). Until then
 * (tools such as `pm seed`, whose bulk statements are slow by design) they are only counted.
 */
export interface StatementLogger {
  warn(msg: string, fields?: Record<string, unknown>): void
}
let statementLogger: StatementLogger = { warn() {} }
export function setStatementLogger(logger: StatementLogger) {
  statementLogger = logger
}

function slowThresholdMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DB_SLOW_STATEMENT_MS?.trim()
  if (!raw) return 500
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`DB_SLOW_STATEMENT_MS must be milliseconds, got "${raw}"`)
  return value
}
let slowMs = slowThresholdMs()
/** DB_SLOW_STATEMENT_MS (default 500; 0 reports every statement). */
export function setSlowStatementMs(ms: number) {
  slowMs = ms
}

/**
 * Called once per statement run through a domain's Kysely instances: its duration in the histogram, a
 * slow one counted and logged (normalised text, never values), a span under the current trace.
 */
export function observeStatement(domain: string, sqlText: unknown, durationMs: number, error?: unknown) {
  // A statement's text, or what stands for it (a COPY stream object passed as the query, with its own text).
  const text =
    typeof sqlText === 'string' ? sqlText : String((sqlText as { text?: unknown } | null)?.text ?? 'COPY')
  statementSpan(domain, text, durationMs, error)
  const metrics = metricsEnabled()
  if (metrics)
    statementDuration.observe({ domain, outcome: error === undefined ? 'ok' : 'error' }, durationMs / 1000)
  if (durationMs >= slowMs) {
    if (metrics) slowStatements.inc({ domain })
    statementLogger.warn('slow statement', {
      domain,
      ms: Math.round(durationMs * 10) / 10,
      thresholdMs: slowMs,
      statement: normalizeStatement(text),
    })
  }
}
