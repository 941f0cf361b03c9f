import { jobFailures, jobRunDuration, metricsEnabled, snapshotFamily } from './metrics'

export type QueueSample = { labels: { domain: string; state: string }; value: number }

const queues = new Set<() => Promise<QueueSample[]>>()

snapshotFamily(
  'pm_job_queue_jobs',
  'Jobs in a domain queue, by state: ready (due, waiting for a worker), scheduled (due later), running, failed (out of attempts).',
  'gauge',
  async () => {
    // Several workers of one domain in a process read the same queue: one reading per domain and state.
    const seen = new Map<string, QueueSample>()
    for (const samples of await Promise.all([...queues].map((read) => read().catch(() => [])))) {
      for (const sample of samples) {
        const key = `${sample.labels.domain}\u0000${sample.labels.state}`
        if (!seen.has(key)) seen.set(key, sample)
      }
    }
    return [...seen.values()]
  },
)

/** Registers a queue's counts for `/metrics` (read when scraped); the answer unregisters it. */
export function registerQueue(read: () => Promise<QueueSample[]>): () => void {
  queues.add(read)
  return () => {
    queues.delete(read)
  }
}

export type JobOutcome = 'done' | 'failed' | 'interrupted'

/** One job run: its time by outcome, and a failure counted. */
export function observeJobRun(domain: string, task: string, outcome: JobOutcome, seconds: number) {
  if (!metricsEnabled()) return
  jobRunDuration.observe({ domain, task, outcome }, seconds)
  if (outcome === 'failed') jobFailures.inc({ domain, task })
}
