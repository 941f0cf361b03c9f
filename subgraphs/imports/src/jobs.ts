import { subgraphCacheInvalidator } from '@pm/cache'
import { loadConnectorSettings } from '@pm/connectors'
import type { DomainJobs } from '@pm/jobs'
import { createRedis } from '@pm/service-kit'
import { engineSettings, runImportJob } from './run/import-job'
import { IMPORT_TASK, SCHEDULES_TASK } from './run/queue'
import { startDueSchedules } from './run/schedules'

/**
 * The imports worker: one task runs an import job ({ jobId }), resuming it from its checkpoint when its
 * previous run died; the crontab starts the due schedules every minute.
 */
export const jobs: DomainJobs<'imports'> = {
  tasks: (context) => {
    const { env } = context
    const cacheOn = !/^(false|0|no)$/i.test(env.GATEWAY_CACHE?.trim() ?? '')
    const redisUrl = env.REDIS_URL?.trim()
    const gatewayCache = subgraphCacheInvalidator(
      cacheOn && redisUrl ? createRedis(redisUrl, context.logger, 'pm-imports-worker') : undefined,
      env.GATEWAY_CACHE_NAME?.trim() || 'gateway',
    )
    const deps = {
      invalidate: (domains: readonly string[]) => gatewayCache.invalidate(domains),
      db: context.database.db,
      storage: context.storage,
      peers: context.peers,
      settings: loadConnectorSettings(context.env),
      logger: context.logger,
      ...engineSettings(context.env),
    }
    return {
      [IMPORT_TASK]: async (payload: { jobId?: unknown }, helpers) => {
        if (typeof payload?.jobId !== 'string') throw new Error(`${IMPORT_TASK}: the payload has no jobId`)
        await runImportJob(deps, payload.jobId, helpers.signal)
      },
      [SCHEDULES_TASK]: async () => {
        await startDueSchedules(deps.db, deps.logger)
      },
    }
  },
  crontab: `* * * * * ${SCHEDULES_TASK}`,
}
