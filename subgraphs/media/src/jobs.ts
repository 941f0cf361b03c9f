import { subgraphCacheInvalidator } from '@pm/cache'
import { loadConnectorSettings } from '@pm/connectors'
import { type DomainJobs, integerSetting, type JobsContext } from '@pm/jobs'
import { createRedis } from '@pm/service-kit'
import sharp from 'sharp'
import { storageBucket } from './engine/content'
import { type FetchDeps, fetchMediaFile } from './engine/fetch'
import { type ProcessDeps, processMediaFile } from './engine/process'
import { FETCH_TASK, PROCESS_TASK } from './engine/queue'
import { mediaSettings } from './engine/settings'

/**
 * MEDIA_SHARP_CONCURRENCY: the threads libvips gives one image operation (sharp.concurrency), default 1.
 * Operations of their own already run side by side on libuv's pool (each thumbnail, each job of
 * WORKER_CONCURRENCY): one thread each spends the least CPU per image on two cores.
 */
export function sharpConcurrency(env: NodeJS.ProcessEnv): number {
  return integerSetting(env, 'MEDIA_SHARP_CONCURRENCY', { fallback: 1, min: 1, max: 64 })
}

/** What the media task works with, from the worker's context and environment. */
export function mediaEngine(context: JobsContext<'media'>): ProcessDeps {
  const { env } = context
  sharp.concurrency(sharpConcurrency(env))
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
    invalidateEntities: (domain, entities) => gatewayCache.invalidateEntities(domain, entities),
  }
}

/** What the download task works with: the processing task's, and the fetch limits. */
function fetchEngine(context: JobsContext<'media'>, deps: ProcessDeps): FetchDeps {
  return {
    ...deps,
    media: {
      storage: context.storage,
      connectors: loadConnectorSettings(context.env),
      settings: deps.settings,
    },
    bucket: storageBucket(context.env),
  }
}

/**
 * The media worker: one task downloads the image URL of a file an import handed over (media:fetch), one
 * processes one media file into its served copy and thumbnails (media:process); both take { mediaFileId }.
 * Two files at a time per worker process (sharp decodes on libuv's threads; WORKER_CONCURRENCY overrides).
 * As a process of its own (`pm worker --domain media`) it runs at nice 10 (WORKER_NICE overrides): image
 * work takes the CPU the API leaves, so product pages stay fast while a batch of uploads is processed.
 */
export const jobs: DomainJobs<'media'> = {
  tasks: (context) => {
    const deps = mediaEngine(context)
    const fetching = fetchEngine(context, deps)
    return {
      [FETCH_TASK]: async (payload: { mediaFileId?: unknown }, helpers) => {
        if (typeof payload?.mediaFileId !== 'string')
          throw new Error(`${FETCH_TASK}: the payload has no mediaFileId`)
        await fetchMediaFile(fetching, payload.mediaFileId, helpers)
      },
      [PROCESS_TASK]: async (payload: { mediaFileId?: unknown }, helpers) => {
        if (typeof payload?.mediaFileId !== 'string')
          throw new Error(`${PROCESS_TASK}: the payload has no mediaFileId`)
        await processMediaFile(deps, payload.mediaFileId, helpers)
      },
    }
  },
  concurrency: 2,
  nice: 10,
}
