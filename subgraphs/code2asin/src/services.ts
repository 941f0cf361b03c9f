import { subgraphCacheInvalidator } from '@pm/cache'
import { createRedis, type Logger } from '@pm/service-kit'
import { createStorage, loadStorageConfig, type Storage } from '@pm/storage'

interface Services {
  storage: Storage
  /** Makes the gateways' cached answers of these subgraphs stale (through Redis; a no-op without it). */
  invalidate: (domains: readonly ('code2asin' | 'catalog')[]) => Promise<void>
}

const perEnv = new WeakMap<NodeJS.ProcessEnv, Services>()

/** Storage and the gateway cache invalidator of the subgraph's environment, made once per environment. */
export function services(env: NodeJS.ProcessEnv, logger: Logger): Services {
  let found = perEnv.get(env)
  if (!found) {
    const cacheOn = !/^(false|0|no)$/i.test(env.GATEWAY_CACHE?.trim() ?? '')
    const redisUrl = env.REDIS_URL?.trim()
    const cache = subgraphCacheInvalidator(
      cacheOn && redisUrl ? createRedis(redisUrl, logger, 'pm-code2asin') : undefined,
      env.GATEWAY_CACHE_NAME?.trim() || 'gateway',
    )
    found = {
      storage: createStorage(loadStorageConfig(env)),
      invalidate: (domains) => cache.invalidate(domains),
    }
    perEnv.set(env, found)
  }
  return found
}
