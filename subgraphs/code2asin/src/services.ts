import { subgraphCacheInvalidator } from '@pm/cache'
import { createRedis, type Logger } from '@pm/service-kit'
import { createStorage, loadStorageConfig, type Storage } from '@pm/storage'

export type Invalidate = (domains: readonly ('code2asin' | 'catalog')[]) => Promise<void>

/** How long a bump waits for a Redis connection still being made (after that it is replayed on connect). */
const CONNECT_WAIT_MS = 2_000

/**
 * Makes the gateways' cached answers of these subgraphs stale (through Redis under the gateway's cache name;
 * a no-op without Redis or with GATEWAY_CACHE=false). The first bumps wait for the connection, so that an
 * answer sent after them is never followed by a stale read.
 */
export function gatewayInvalidator(env: NodeJS.ProcessEnv, logger: Logger, clientName: string): Invalidate {
  const cacheOn = !/^(false|0|no)$/i.test(env.GATEWAY_CACHE?.trim() ?? '')
  const redisUrl = env.REDIS_URL?.trim()
  const redis = cacheOn && redisUrl ? createRedis(redisUrl, logger, clientName) : undefined
  const cache = subgraphCacheInvalidator(redis, env.GATEWAY_CACHE_NAME?.trim() || 'gateway')
  return async (domains) => {
    if (redis && redis.status !== 'ready') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, CONNECT_WAIT_MS)
        function done() {
          clearTimeout(timer)
          redis!.off('ready', done)
          resolve()
        }
        redis.once('ready', done)
      })
    }
    await cache.invalidate(domains)
  }
}

interface Services {
  storage: Storage
  invalidate: Invalidate
}

const perEnv = new WeakMap<NodeJS.ProcessEnv, Services>()

/** Storage and the gateway cache invalidator of the subgraph's environment, made once per environment. */
export function services(env: NodeJS.ProcessEnv, logger: Logger): Services {
  let found = perEnv.get(env)
  if (!found) {
    found = {
      storage: createStorage(loadStorageConfig(env)),
      invalidate: gatewayInvalidator(env, logger, 'pm-code2asin'),
    }
    perEnv.set(env, found)
  }
  return found
}
