import { type SubgraphCacheInvalidator, subgraphCacheInvalidator } from '@pm/cache'
import type { Domain } from '@pm/db'
import { createRedis, type Logger } from '@pm/service-kit'

export interface GatewayCacheInvalidation {
  /** The gateways' cached answers of these domains made stale (see delivered). */
  invalidate(domains: readonly Domain[]): Promise<void>
  /** False while a bump waits for Redis: gateways in other processes were not told (yet). */
  delivered(): boolean
  /**
   * Whether gateways in other processes are told (REDIS_URL set, the cache on); without Redis only the gateways
   * of this process are, and the others serve what they hold for at most their L1 lifetime.
   */
  shared: boolean
  close(): Promise<void>
}

/**
 * What an operation that writes into the databases behind the gateway's back (`pm integrity fix`, the
 * operations worker, an in-place restore) uses to make the gateway cache stale, exactly as a mutation through
 * the gateway does: GATEWAY_CACHE (off: nothing to tell), REDIS_URL and GATEWAY_CACHE_NAME, as the gateway
 * reads them.
 */
export function gatewayCacheInvalidation(
  env: NodeJS.ProcessEnv,
  logger: Logger,
  connectionName = 'pm-operations',
): GatewayCacheInvalidation {
  const cacheOn = !/^(false|0|no|off)$/i.test(env.GATEWAY_CACHE?.trim() ?? '')
  const redisUrl = env.REDIS_URL?.trim()
  const redis = cacheOn && redisUrl ? createRedis(redisUrl, logger, connectionName) : undefined
  const invalidator: SubgraphCacheInvalidator = subgraphCacheInvalidator(
    redis,
    env.GATEWAY_CACHE_NAME?.trim() || 'gateway',
  )
  return {
    shared: redis !== undefined || !cacheOn,
    invalidate: async (domains) => {
      if (cacheOn) await invalidator.invalidate(domains)
    },
    delivered: () => invalidator.delivered(),
    async close() {
      await invalidator.close()
      if (redis) await redis.quit().catch(() => redis.disconnect())
    },
  }
}
