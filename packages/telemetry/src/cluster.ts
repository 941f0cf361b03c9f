import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry, Registry } from 'prom-client'
import { metricsEnabled, registry } from './metrics'

/**
 * Metrics of a process that runs as several cluster workers (the gateway with GATEWAY_WORKERS > 1): whichever
 * worker a scrape reaches asks the primary, the primary collects every worker's families (prom-client's
 * AggregatorRegistry) and merges them: counters and histogram buckets summed per label set, gauges by each
 * family's aggregator (sum by default; Node's own figures as prom-client declares them: event-loop lag
 * averaged, start time omitted, …). One scrape answers for the whole cluster.
 */

/** A family as prom-client's getMetricsAsJSON() shapes it (extra families a worker adds to its own). */
export interface MetricFamilyJson {
  name: string
  help: string
  type: 'counter' | 'gauge'
  aggregator: 'sum' | 'min' | 'max' | 'average' | 'first' | 'omit'
  values: { labels: Record<string, string | number>; value: number }[]
}

const SCRAPE = 'pm:metrics:scrape'
const SCRAPED = 'pm:metrics:scraped'

/** Bounded: prom-client gives up on a silent worker after 5 s; the asking worker waits a little longer. */
const SCRAPE_TIMEOUT_MS = 8_000

interface ScrapeMessage {
  type: typeof SCRAPE
  id: number
}
interface ScrapedMessage {
  type: typeof SCRAPED
  id: number
  text?: string
  error?: string
}

export const WORKERS_REPORTING = 'pm_cluster_workers_reporting'

/** What one worker hands the primary: its own families (when collected), the extras, and itself counted. */
class WorkerFamilies extends Registry {
  constructor(private readonly extra: () => MetricFamilyJson[]) {
    super()
  }

  override async getMetricsAsJSON() {
    const own = metricsEnabled() ? await registry.getMetricsAsJSON() : []
    const counted: MetricFamilyJson = {
      name: WORKERS_REPORTING,
      help: 'Cluster workers whose figures this scrape merged.',
      type: 'gauge',
      aggregator: 'sum',
      values: [{ labels: {}, value: 1 }],
    }
    // biome-ignore lint/suspicious/noExplicitAny: prom-client's JSON entries, typed loosely by the library
    return [...own, ...this.extra(), counted] as any
  }
}

let primaryServing = false

/** In the cluster's primary: answers each worker's scrape with every worker's figures merged. */
export function serveClusterMetrics() {
  if (!cluster.isPrimary || primaryServing) return
  primaryServing = true
  const aggregator = new AggregatorRegistry()
  cluster.on('message', (worker: Worker, message: unknown) => {
    const m = message as Partial<ScrapeMessage> | null
    if (m?.type !== SCRAPE || typeof m.id !== 'number') return
    const id = m.id
    const answer = (reply: Omit<ScrapedMessage, 'type' | 'id'>) => {
      // The asking worker may have gone meanwhile: nobody is left to answer.
      if (worker.isConnected())
        worker.send({ type: SCRAPED, id, ...reply } satisfies ScrapedMessage, () => {})
    }
    aggregator.clusterMetrics().then(
      (text) => answer({ text }),
      (error: Error) => answer({ error: `the workers' metrics could not be collected: ${error.message}` }),
    )
  })
}

const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>()
let nextId = 0
let workerServing = false

/**
 * In a cluster worker: hands the primary this worker's families (and `extra`'s, e.g. its cache figures) when
 * it collects, and returns what a scrape reaching this worker answers: the whole cluster's figures merged.
 */
export function clusterWorkerMetrics(extra: () => MetricFamilyJson[] = () => []): () => Promise<string> {
  if (!cluster.isWorker || !process.send) throw new Error('clusterWorkerMetrics runs in a cluster worker')
  AggregatorRegistry.setRegistries([new WorkerFamilies(extra)])
  if (!workerServing) {
    workerServing = true
    // Constructed for its side effect: prom-client then answers the primary's collection requests.
    new AggregatorRegistry()
    process.on('message', (message: unknown) => {
      const m = message as Partial<ScrapedMessage> | null
      if (m?.type !== SCRAPED || typeof m.id !== 'number') return
      const waiting = pending.get(m.id)
      if (!waiting) return
      pending.delete(m.id)
      if (typeof m.text === 'string') waiting.resolve(m.text)
      else waiting.reject(new Error(m.error ?? 'the gateway primary answered no metrics'))
    })
  }
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error(`the cluster primary did not answer the scrape within ${SCRAPE_TIMEOUT_MS} ms`))
      }, SCRAPE_TIMEOUT_MS)
      timer.unref()
      pending.set(id, {
        resolve: (text) => {
          clearTimeout(timer)
          resolve(text)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      process.send?.({ type: SCRAPE, id } satisfies ScrapeMessage, undefined, {}, (error) => {
        if (!error) return
        pending.get(id)?.reject(new Error(`the cluster primary could not be asked: ${error.message}`))
        pending.delete(id)
      })
    })
}
