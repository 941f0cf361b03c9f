import { createRequire } from 'node:module'
import { GCProfiler } from 'node:v8'
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

/**
 * The process's metrics, in Prometheus' text format on each service's admin listener (`/metrics`).
 * METRICS_ENABLED=false turns collection off: every observation is then a no-op and `/metrics` says so.
 */
export const registry = new Registry()

function envEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env.METRICS_ENABLED?.trim().toLowerCase()
  if (raw === undefined || raw === '') return true
  if (raw === 'false' || raw === '0' || raw === 'off' || raw === 'no') return false
  if (raw === 'true' || raw === '1' || raw === 'on' || raw === 'yes') return true
  throw new Error(`METRICS_ENABLED must be true or false, got "${env.METRICS_ENABLED}"`)
}

let enabled = envEnabled()
let processMetrics = false

/** Whether metrics are collected (METRICS_ENABLED, default true). */
export function metricsEnabled(): boolean {
  return enabled
}

/** Turns collection on or off (tests; the bench's overhead comparison goes through METRICS_ENABLED). */
export function setMetricsEnabled(value: boolean) {
  enabled = value
  if (value) startProcessMetrics()
}

/**
 * Node's own figures (event-loop lag, heap, GC, CPU, handles), once per process: prom-client's default
 * collectors, all but its GC one (see startGcMetrics), in their own modules.
 */
function startProcessMetrics() {
  if (processMetrics) return
  processMetrics = true
  const load = createRequire(import.meta.url)
  const config = { eventLoopMonitoringPrecision: 20 }
  for (const name of collectDefaultMetrics.metricsList) {
    if (name === 'gc') continue
    const collector = load(`prom-client/lib/metrics/${name}`) as (r: Registry, c: typeof config) => void
    collector(registry, config)
  }
  startGcMetrics()
}

/** V8's GC type names (node:v8 GCProfiler) as the `kind` label prom-client's collector gives them. */
const GC_KINDS: Record<string, string> = {
  Scavenge: 'minor',
  MinorMarkCompact: 'minor',
  MinorMarkSweep: 'minor',
  MarkSweepCompact: 'major',
  IncrementalMarking: 'incremental',
  ProcessWeakCallbacks: 'weakcb',
}
/** How often the GCs recorded meanwhile are folded into the histogram (and at every scrape). */
const GC_FOLD_MS = 5_000

/**
 * nodejs_gc_duration_seconds as prom-client defines it (same name, kind label and buckets), read from V8's
 * GC profiler instead of a perf_hooks 'gc' observer: Node builds a PerformanceEntry in JavaScript for every
 * collection an observer watches (tens of microseconds each, a scavenge every few requests), while the
 * profiler records each one natively and hands them over in one batch when folded.
 */
function startGcMetrics() {
  const profiler = new GCProfiler()
  const fold = () => {
    const { statistics } = profiler.stop()
    profiler.start()
    for (const gc of statistics)
      gcDuration.observe({ kind: GC_KINDS[gc.gcType] ?? 'other' }, gc.cost / 1_000_000)
  }
  const gcDuration = new Histogram({
    name: 'nodejs_gc_duration_seconds',
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.01, 0.1, 1, 2, 5],
    registers: [registry],
    collect: fold,
  })
  profiler.start()
  setInterval(fold, GC_FOLD_MS).unref()
}
if (enabled) startProcessMetrics()

/** Latency buckets in seconds: 1 ms to 30 s, dense where API answers are. */
const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30,
]
/** SQL statements are faster: 0.1 ms to 10 s. */
const STATEMENT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10]
/** Jobs are slower: 10 ms to an hour. */
const JOB_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600]

export const requestDuration = new Histogram({
  name: 'pm_graphql_request_duration_seconds',
  help: 'GraphQL operations served, by service, operation name and outcome (ok, error), receipt to answer.',
  labelNames: ['service', 'operation', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
})

export const subgraphFetchDuration = new Histogram({
  name: 'pm_subgraph_fetch_duration_seconds',
  help: "The gateway's requests to each subgraph (cache hits aside), by outcome (ok, http_error, failed).",
  labelNames: ['subgraph', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
})

export const statementDuration = new Histogram({
  name: 'pm_db_statement_duration_seconds',
  help: 'SQL statements run through each domain pool, by outcome (ok, error); the count is the statements run.',
  labelNames: ['domain', 'outcome'] as const,
  buckets: STATEMENT_BUCKETS,
  registers: [registry],
})

export const slowStatements = new Counter({
  name: 'pm_db_slow_statements_total',
  help: 'SQL statements slower than DB_SLOW_STATEMENT_MS, by domain (each also logged, normalised, without values).',
  labelNames: ['domain'] as const,
  registers: [registry],
})

export const jobRunDuration = new Histogram({
  name: 'pm_job_run_duration_seconds',
  help: 'Background job runs, by domain, task and outcome (done, failed, interrupted).',
  labelNames: ['domain', 'task', 'outcome'] as const,
  buckets: JOB_BUCKETS,
  registers: [registry],
})

export const jobFailures = new Counter({
  name: 'pm_job_failures_total',
  help: 'Background job runs that failed (retried later while attempts remain), by domain and task.',
  labelNames: ['domain', 'task'] as const,
  registers: [registry],
})

type Sample = { labels: Record<string, string>; value: number }

/**
 * A family whose samples are read when scraped (pool figures, queue depth): `read` answers the current
 * samples; a failing read yields none.
 */
export function snapshotFamily(
  name: string,
  help: string,
  type: 'counter' | 'gauge',
  read: () => Sample[] | Promise<Sample[]>,
) {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    async get() {
      let values: Sample[] = []
      if (enabled) {
        try {
          values = await read()
        } catch {
          values = []
        }
      }
      return { name, help, type, aggregator: 'sum' as const, values }
    },
    reset() {},
  }
  // biome-ignore lint/suspicious/noExplicitAny: prom-client takes any object answering get() as a metric
  registry.registerMetric(metric as any)
  return metric
}

/** Operation names as labels: GraphQL names only, at most 200 distinct per process (then "other"). */
const MAX_OPERATIONS = 200
const operations = new Set<string>()
export function operationLabel(name: string | null | undefined): string {
  if (!name) return 'anonymous'
  if (operations.has(name)) return name
  if (!/^[_A-Za-z][_0-9A-Za-z]{0,99}$/.test(name)) return 'invalid'
  if (operations.size >= MAX_OPERATIONS) return 'other'
  operations.add(name)
  return name
}

/** What `/metrics` answers: this process's families, then the given extra text (the cache's figures). */
export async function metricsText(extra = ''): Promise<string> {
  const text = await registry.metrics()
  return extra ? `${text}${text.endsWith('\n') ? '' : '\n'}${extra}` : text
}

export const METRICS_CONTENT_TYPE = registry.contentType
