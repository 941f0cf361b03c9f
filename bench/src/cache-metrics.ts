import http from 'node:http'

/** Subgraph-fetch cache lookups of one gateway, summed over its fetch namespaces (APQ left out). */
export interface CacheCounts {
  l1Hits: number
  l2Hits: number
  misses: number
  /** pm_cache_l2_up: 1 when Redis is connected and subscribed; null when the cache has no L2 */
  l2Up: number | null
  /** Hits (L1 + L2) and misses per fetch namespace (one per subgraph) */
  byNamespace: Record<string, { hits: number; misses: number }>
}

/** Hit ratios of one measured run: shares of all lookups, so l1 + l2 = hit. */
export interface CacheRatio {
  lookups: number
  hit: number
  l1: number
  l2: number
  l2Up: number | null
  /** The counts came from this many scrapes, one per gateway worker (each worker counts its own). */
  scrapes: number
  /** Lookups and hit share per fetch namespace (one per subgraph), those with lookups */
  byNamespace?: Record<string, { lookups: number; hit: number }>
}

const SAMPLE = /^(pm_cache_(?:hits|misses)_total|pm_cache_l2_up)\{([^}]*)\}\s+(\S+)$/

function labels(raw: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of raw.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!
  return out
}

function namespaceOf(counts: CacheCounts, name: string): { hits: number; misses: number } {
  const existing = counts.byNamespace[name]
  if (existing) return existing
  const created = { hits: 0, misses: 0 }
  counts.byNamespace[name] = created
  return created
}

export function parseCacheMetrics(text: string): CacheCounts {
  const counts: CacheCounts = { l1Hits: 0, l2Hits: 0, misses: 0, l2Up: null, byNamespace: {} }
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line.trim())
    if (!m) continue
    const [, name, rawLabels, rawValue] = m
    const l = labels(rawLabels!)
    const value = Number(rawValue)
    if (!Number.isFinite(value)) continue
    if (name === 'pm_cache_l2_up') {
      counts.l2Up = Math.min(counts.l2Up ?? 1, value)
      continue
    }
    if (l.namespace === 'apq') continue
    const ns = namespaceOf(counts, l.namespace ?? '')
    if (name === 'pm_cache_misses_total') ns.misses += value
    else ns.hits += value
    if (name === 'pm_cache_misses_total') counts.misses += value
    else if (l.level === 'l1') counts.l1Hits += value
    else if (l.level === 'l2') counts.l2Hits += value
  }
  return counts
}

/** GET /metrics on a fresh connection (agent: false): the cluster primary deals connections round-robin. */
function getMetrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: 5_000 },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (c: Buffer) => chunks.push(c))
        response.on('end', () =>
          response.statusCode === 200
            ? resolve(Buffer.concat(chunks).toString('utf8'))
            : reject(new Error(`GET /metrics: HTTP ${response.statusCode}`)),
        )
        response.on('error', reject)
      },
    )
    request.on('timeout', () => request.destroy(new Error('GET /metrics timed out')))
    request.on('error', reject)
  })
}

/**
 * The gateway's counts, summed over `workers` scrapes on fresh connections (one per worker when nothing
 * else connects meanwhile); undefined when /metrics does not answer.
 */
export async function scrapeCache(port: number, workers: number): Promise<CacheCounts | undefined> {
  const total: CacheCounts = { l1Hits: 0, l2Hits: 0, misses: 0, l2Up: null, byNamespace: {} }
  try {
    for (let i = 0; i < workers; i++) {
      const c = parseCacheMetrics(await getMetrics(port))
      total.l1Hits += c.l1Hits
      total.l2Hits += c.l2Hits
      total.misses += c.misses
      for (const [name, n] of Object.entries(c.byNamespace)) {
        const ns = namespaceOf(total, name)
        ns.hits += n.hits
        ns.misses += n.misses
      }
      if (c.l2Up !== null) total.l2Up = Math.min(total.l2Up ?? 1, c.l2Up)
    }
  } catch {
    return undefined
  }
  return total
}

/** The run's ratios from the counts before and after; null when either scrape failed or they do not add up. */
export function cacheRatio(
  before: CacheCounts | undefined,
  after: CacheCounts | undefined,
  scrapes: number,
): CacheRatio | null {
  if (!before || !after) return null
  const l1 = after.l1Hits - before.l1Hits
  const l2 = after.l2Hits - before.l2Hits
  const misses = after.misses - before.misses
  // With workers, a scrape that reached the same worker twice shows as counts going backwards.
  if (l1 < 0 || l2 < 0 || misses < 0) return null
  const lookups = l1 + l2 + misses
  const byNamespace: Record<string, { lookups: number; hit: number }> = {}
  for (const [name, n] of Object.entries(after.byNamespace)) {
    const b = before.byNamespace[name] ?? { hits: 0, misses: 0 }
    const hits = n.hits - b.hits
    const n2 = hits + n.misses - b.misses
    if (n2 > 0) byNamespace[name] = { lookups: n2, hit: hits / n2 }
  }
  return {
    lookups,
    hit: lookups ? (l1 + l2) / lookups : Number.NaN,
    l1: lookups ? l1 / lookups : Number.NaN,
    l2: lookups ? l2 / lookups : Number.NaN,
    l2Up: after.l2Up,
    scrapes,
    byNamespace,
  }
}
