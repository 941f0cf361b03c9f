import { subgraphCacheInvalidator } from '@pm/cache'
import { loadConnectorSettings } from '@pm/connectors'
import type { DomainJobs, JobsContext } from '@pm/jobs'
import { createRedis } from '@pm/service-kit'
import { MATCH_TASK } from './engine/queue'
import { type EngineDeps, engineSettings, runMatchJob } from './engine/run'

/** What the matching task works with, from the worker's context and environment. */
export function matchEngine(context: JobsContext<'code2asin'>): EngineDeps {
  const { env } = context
  const cacheOn = !/^(false|0|no)$/i.test(env.GATEWAY_CACHE?.trim() ?? '')
  const redisUrl = env.REDIS_URL?.trim()
  const gatewayCache = subgraphCacheInvalidator(
    cacheOn && redisUrl ? createRedis(redisUrl, context.logger, 'pm-code2asin-worker') : undefined,
    env.GATEWAY_CACHE_NAME?.trim() || 'gateway',
  )
  return {
    invalidate: (domains) => gatewayCache.invalidate(domains),
    db: context.database.db,
    storage: context.storage,
    peers: context.peers,
    settings: loadConnectorSettings(env),
    logger: context.logger,
    ...engineSettings(env),
  }
}

/** The code2asin worker: one task runs a matching job ({ jobId }), resuming it from its checkpoint. */
export const jobs: DomainJobs<'code2asin'> = {
  tasks: (context) => {
    const deps = matchEngine(context)
    return {
      [MATCH_TASK]: async (payload: { jobId?: unknown }, helpers) => {
        if (typeof payload?.jobId !== 'string') throw new Error(`${MATCH_TASK}: the payload has no jobId`)
        await runMatchJob(deps, payload.jobId, helpers.signal)
      },
    }
  },
}
