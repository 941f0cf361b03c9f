import { subgraphCacheInvalidator } from '@pm/cache'
import type { DomainJobs, JobsContext } from '@pm/jobs'
import { createRedis, queryPeer } from '@pm/service-kit'
import { sql } from 'kysely'
import { type RunDeps, runImportMetrics } from './engine/import-metrics'
import { enqueueAll, TASKS } from './engine/queue'
import { type ReportDeps, runReport } from './engine/reports/run'
import { queueDailySupplierMetrics, runSupplierMetrics } from './engine/supplier-metrics'

/** What the analytics tasks work with, from the worker's context and environment. */
export function analyticsEngine(context: JobsContext<'analytics'>): RunDeps & ReportDeps {
  const { env } = context
  const cacheOn = !/^(false|0|no)$/i.test(env.GATEWAY_CACHE?.trim() ?? '')
  const redisUrl = env.REDIS_URL?.trim()
  const gatewayCache = subgraphCacheInvalidator(
    cacheOn && redisUrl ? createRedis(redisUrl, context.logger, 'pm-analytics-worker') : undefined,
    env.GATEWAY_CACHE_NAME?.trim() || 'gateway',
  )
  return {
    db: context.database.db,
    peers: context.peers,
    storage: context.storage,
    logger: context.logger,
    invalidate: async (domains: readonly string[] = ['analytics']) => {
      try {
        await gatewayCache.invalidate(domains)
      } catch (error) {
        context.logger.warn('gateway cache not invalidated', { error: String(error) })
      }
    },
  }
}

const RECOMPUTE_COMPLETENESS = 'mutation { recomputeCompleteness { productsCount averageScore } }'

const idOf = (payload: Record<string, unknown> | undefined, key: string, task: string) => {
  const id = payload?.[key]
  if (typeof id !== 'string') throw new Error(`${task}: the payload has no ${key}`)
  return id
}

/**
 * The analytics worker: import metric recomputations, the daily supplier figures (crontab, 02:30 UTC, and
 * made up within a day when no worker ran), reports, and a minutely sweep that queues the reports and runs
 * created while no worker had installed the queue.
 */
export const jobs: DomainJobs<'analytics'> = {
  tasks: (context) => {
    const deps = analyticsEngine(context)
    return {
      [TASKS.importMetrics]: async (payload: Record<string, unknown>, helpers) =>
        runImportMetrics(deps, idOf(payload, 'runId', TASKS.importMetrics), helpers.signal),
      [TASKS.supplierMetrics]: async (payload: Record<string, unknown> | undefined, helpers) => {
        // The crontab's run carries no id: it creates today's run first.
        const runId =
          typeof payload?.runId === 'string' ? payload.runId : await queueDailySupplierMetrics(deps.db)
        if (runId) await runSupplierMetrics(deps, runId, helpers.signal)
      },
      [TASKS.completeness]: async () => {
        await queryPeer(deps.peers, 'catalog', RECOMPUTE_COMPLETENESS, {}, 600_000)
        await deps.invalidate(['catalog'])
      },
      [TASKS.report]: async (payload: Record<string, unknown>, helpers) =>
        runReport(deps, idOf(payload, 'reportId', TASKS.report), helpers.signal),
      [TASKS.sweep]: async () => {
        await deps.db.transaction().execute(async (trx) => {
          const reports = await trx
            .selectFrom('reports')
            .select('id')
            .where('status', '=', 'pending')
            .where('created_at', '<', sql<Date>`now() - interval '30 seconds'`)
            .limit(100)
            .execute()
          const runs = await trx
            .selectFrom('metric_runs')
            .select(['id', 'kind'])
            .where('status', '=', 'pending')
            .where('created_at', '<', sql<Date>`now() - interval '30 seconds'`)
            .limit(100)
            .execute()
          // One statement for all of them (and one look for the queue).
          await enqueueAll(trx, [
            ...reports.map((r) => ({
              task: TASKS.report,
              payload: { reportId: r.id },
              key: `report:${r.id}`,
            })),
            ...runs.map((r) => ({
              task: r.kind === 'import_metrics' ? TASKS.importMetrics : TASKS.supplierMetrics,
              payload: { runId: r.id },
              key: `metric-run:${r.id}`,
            })),
          ])
        })
      },
    }
  },
  crontab: [
    `30 2 * * * ${TASKS.supplierMetrics} ?fill=1d`,
    `15 2 * * * ${TASKS.completeness} ?fill=1d`,
    `* * * * * ${TASKS.sweep}`,
  ].join('\n'),
}
