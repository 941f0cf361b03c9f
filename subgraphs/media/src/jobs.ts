import { subgraphCacheInvalidator } from '@pm/cache'
import type { DomainJobs, JobsContext } from '@pm/jobs'
import { createRedis } from '@pm/service-kit'
import { type ProcessDeps, processMediaFile } from './engine/process'
import { PROCESS_TASK } from './engine/queue'
import { mediaSettings } from './engine/settings'

/** What the media task works with, from the worker's context and environment. */
export function mediaEngine(context: JobsContext<'media'>): ProcessDeps {
  const { env } = context
  const cacheOn = !/^(false|0|no)$/i.test(env.GATEWAY_CACHE?.trim() ?? '')
  const redisUrl = env.REDIS_URL?.trim()
  const gatewayCache = subgraphCacheInvalidator(
    cacheOn && redisUrl ? createRedis(redisUrl, context.logger, 'pm-media-worker') : undefined,
    env.GATEWAY_CACHE_NAME?.trim() || 'gateway',
  )
  return {
    db: context.database.db,
    storage: context.storage,
    settings: mediaSettings(env),
    logger: context.logger,
    invalidate: (domains) => gatewayCache.invalidate(domains),
  }
}

/**
 * The media worker: one task processes one media file ({ mediaFileId }) into its served copy and thumbnails.
 * Two files at a time per worker process (sharp decodes on libuv's threads).
 */
export const jobs: DomainJobs<'media'> = {
  tasks: (context) => {
    const deps = mediaEngine(context)
    return {
      [PROCESS_TASK]: async (payload: { mediaFileId?: unknown }, helpers) => {
        if (typeof payload?.mediaFileId !== 'string')
          throw new Error(`${PROCESS_TASK}: the payload has no mediaFileId`)
        await processMediaFile(deps, payload.mediaFileId, helpers)
      },
    }
  },
  concurrency: 2,
}
