import type { DB } from '@pm/db/types/analytics'
import { addJobsInTransaction } from '@pm/jobs'
import type { Transaction } from 'kysely'

/** The analytics worker's tasks. */
export const TASKS = {
  /** Recomputes the import metrics of a metric run's date range ({ runId }). */
  importMetrics: 'analytics:import-metrics',
  /** Computes today's supplier and catalogue figures ({ runId }); the crontab queues one a day. */
  supplierMetrics: 'analytics:supplier-metrics',
  /** Generates one report's file ({ reportId }). */
  report: 'analytics:report',
  /** Minutely: queues the pending reports and runs that have no queued job (made while no worker had run). */
  sweep: 'analytics:sweep',
  /** Daily: has catalog re-read which products have images and rescore every product's completeness. */
  completeness: 'analytics:completeness',
} as const

const MAX_ATTEMPTS = 5

/** A task to queue and the key it holds (one queue entry per key). */
export interface QueuedTask {
  task: string
  payload: Record<string, string>
  key: string
}

/**
 * Queues tasks in the same transaction as the rows they work on (graphile-worker's add_jobs in db_analytics, one
 * statement), one queue entry per key. False when no worker has installed the queue yet: the minutely sweep of
 * the first worker queues them then.
 */
export function enqueueAll(trx: Transaction<DB>, tasks: readonly QueuedTask[]): Promise<boolean> {
  return addJobsInTransaction(
    trx,
    'analytics',
    tasks.map(({ task, payload, key }) => ({ task, payload, jobKey: key, maxAttempts: MAX_ATTEMPTS })),
    { whenMissing: 'skip' },
  )
}

/** One task, as enqueueAll. */
export const enqueue = (trx: Transaction<DB>, task: string, payload: Record<string, string>, key: string) =>
  enqueueAll(trx, [{ task, payload, key }])
