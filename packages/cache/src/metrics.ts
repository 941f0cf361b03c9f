import type { CacheStats } from './two-level-cache'

type Labels = Record<string, string>

/**
 * One metric family, shaped as prom-client's `getMetricsAsJSON()` entries so that a cluster's workers can be
 * summed by its AggregatorRegistry (`aggregator`: how the workers' samples of one label set combine).
 */
export interface CacheMetricFamily {
  name: string
  help: string
  type: 'counter' | 'gauge'
  aggregator: 'sum' | 'min'
  values: { labels: Labels; value: number }[]
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${escapeLabel(value)}"`)
  return pairs.length > 0 ? `{${pairs.join(',')}}` : ''
}

/** The given caches' stats() as metric families (every family listed, with samples or not). */
export function cacheMetricFamilies(stats: readonly CacheStats[]): CacheMetricFamily[] {
  const family = (
    name: string,
    type: CacheMetricFamily['type'],
    help: string,
    aggregator: CacheMetricFamily['aggregator'] = 'sum',
  ): CacheMetricFamily => ({ name, help, type, aggregator, values: [] })
  const hits = family('pm_cache_hits_total', 'counter', 'Cache hits, by level (l1 in-process, l2 Redis).')
  const misses = family('pm_cache_misses_total', 'counter', 'Lookups found in neither level.')
  const sets = family('pm_cache_sets_total', 'counter', 'Entries stored.')
  const bumps = family('pm_cache_bumps_total', 'counter', 'Namespace invalidations issued by this process.')
  const tagBumps = family(
    'pm_cache_tag_bumps_total',
    'counter',
    'Entity-scoped invalidations (by tag) issued by this process.',
  )
  const l1Bytes = family('pm_cache_l1_bytes', 'gauge', 'Approximate bytes held by the in-process cache.')
  const l1Entries = family('pm_cache_l1_entries', 'gauge', 'Entries held by the in-process cache.')
  const l1Evictions = family(
    'pm_cache_l1_evictions_total',
    'counter',
    'Entries evicted to stay within bytes.',
  )
  const l2Errors = family(
    'pm_cache_l2_errors_total',
    'counter',
    'Redis operations that failed or were skipped.',
  )
  const l2Up = family(
    'pm_cache_l2_up',
    'gauge',
    '1 when Redis is connected and invalidations are subscribed.',
    // Over a cluster's workers: 1 only when every one of them is.
    'min',
  )

  for (const cache of stats) {
    const base = { cache: cache.name }
    for (const [namespace, counters] of Object.entries(cache.namespaces)) {
      const labels = { ...base, namespace }
      hits.values.push({ labels: { ...labels, level: 'l1' }, value: counters.l1Hits })
      hits.values.push({ labels: { ...labels, level: 'l2' }, value: counters.l2Hits })
      misses.values.push({ labels, value: counters.misses })
      sets.values.push({ labels, value: counters.sets })
      bumps.values.push({ labels, value: counters.bumps })
      tagBumps.values.push({ labels, value: counters.tagBumps })
    }
    l1Bytes.values.push({ labels: base, value: cache.l1.bytes })
    l1Entries.values.push({ labels: base, value: cache.l1.entries })
    l1Evictions.values.push({ labels: base, value: cache.l1.evictions })
    if (cache.l2.enabled) {
      l2Errors.values.push({ labels: base, value: cache.l2.errors })
      l2Up.values.push({ labels: base, value: cache.l2.connected && cache.l2.subscribed ? 1 : 0 })
    }
  }

  return [hits, misses, sets, bumps, tagBumps, l1Bytes, l1Entries, l1Evictions, l2Errors, l2Up]
}

/** Prometheus text exposition of the given caches' stats(). */
export function cacheMetrics(stats: readonly CacheStats[]): string {
  const lines: string[] = []
  for (const { name, help, type, values } of cacheMetricFamilies(stats)) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const { labels, value } of values) lines.push(`${name}${formatLabels(labels)} ${value}`)
  }
  return `${lines.join('\n')}\n`
}
