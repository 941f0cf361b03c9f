import { subgraphCacheInvalidator } from '@pm/cache'
import { loadConnectorSettings } from '@pm/connectors'
import type { DomainJobs, JobsContext } from '@pm/jobs'
import { createRedis } from '@pm/service-kit'
import { type EngineDeps, engineSettings, runImportJob } from './run/import-job'
import { IMPORT_TASK, SCHEDULES_TASK } from './run/queue'
import { startDueSchedules } from './run/schedules'

/** What the import tasks work with, from the worker's context and environment. */
export function importEngine(context: JobsContext<'imports'>): EngineDeps {
  const { env } = context
  const cacheOn = !/^(false|0|no)$/i.test(env.GATEWAY_CACHE?.trim() ?? '')
  const redisUrl = env.REDIS_URL?.trim()
  const gatewayCache = subgraphCacheInvalidator(
    cacheOn && redisUrl ? createRedis(redisUrl, context.logger, 'pm-imports-worker') : undefined,
    env.GATEWAY_CACHE_NAME?.trim() || 'gateway',
  )
  return {
    invalidate: (domains) => gatewayCache.invalidate(domains),
    invalidateEntities: (domain, entities) => gatewayCache.invalidateEntities(domain, entities),
    db: context.database.db,
    storage: context.storage,
    peers: context.peers,
    settings: loadConnectorSettings(env),
    logger: context.logger,
    ...engineSettings(env),
  }
}

/**
 * The imports worker: one task runs an import job ({ jobId }), resuming it from its checkpoint when its
 * previous run died; the crontab starts the due schedules every minute. As a process of its own (`pm worker
 * --domain imports`) it runs at nice 10 (WORKER_NICE overrides): parsing a file takes the CPU the API leaves
 * (the XLSX import bench's product page: p95 2.0–2.1× idle against 2.4–3.5× at nice 0, the import no slower).
 */
export const jobs: DomainJobs<'imports'> = {
  tasks: (context) => {
    const deps = importEngine(context)
    return {
      [IMPORT_TASK]: async (payload: { jobId?: unknown }, helpers) => {
        if (typeof payload?.jobId !== 'string') throw new Error(`${IMPORT_TASK}: the payload has no jobId`)
        await runImportJob(deps, payload.jobId, helpers.signal)
      },
      [SCHEDULES_TASK]: async () => {
        const started = await startDueSchedules(deps.db, deps.logger)
        if (started.length > 0) await deps.invalidate?.(['imports'])
      },
    }
  },
  crontab: `* * * * * ${SCHEDULES_TASK}`,
  nice: 10,
}
