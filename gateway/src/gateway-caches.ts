import type { ApolloServerPlugin } from '@apollo/server'
import { keyValueCache, TwoLevelCache } from '@pm/cache'
import { createRedis, type Logger } from '@pm/service-kit'
import type { Redis } from 'ioredis'
import { DEFAULT_APQ_REGISTRATIONS_PER_MINUTE } from './apq'
import type { GatewayContext } from './context'
import { entityLookupsOf } from './entity-lookups'
import { DEFAULT_CACHE_POLICY, type GatewayCacheOptions, SubgraphFetchCache } from './fetch-cache'
import { RateLimiter } from './rate-limit'

/** Registered documents are kept a day after their last registration. */
const APQ_TTL_SECONDS = 86_400

/**
 * Before an operation's first fetch, the generations Redis holds (one HGETALL): an L1 hit is then never older
 * than a mutation that returned before the operation started, whichever gateway ran it. (Mutations too: what
 * they select of other subgraphs after writing is read through the cache.)
 */
export function freshReadsPlugin(cache: TwoLevelCache): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation() {
          await cache.syncGenerations()
        },
      }
    },
  }
}

/** Resolves once the client is ready, has failed to connect, or after `ms`: whichever comes first. */
function redisSettled(redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      redis.off('ready', done)
      redis.off('error', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    redis.once('ready', done)
    redis.once('error', done)
  })
}

export interface GatewayCachesOptions {
  /** Redis shared by the gateways (L2 of the caches, rate-limit counters); none: everything in process. */
  redisUrl?: string
  /** The subgraph fetch cache and APQ store; false: none. */
  cache?: GatewayCacheOptions | false
  /** The supergraph: with core in it, core's answers about sessions are cached too. */
  supergraphSdl: string
  /** Callers registering APQ documents, per minute. */
  apqRegistrationsPerMinute?: number
  /** Prefix of the rate-limit counters in Redis (default pm:gateway:rate:). */
  rateLimitKeyPrefix?: string
  logger: Logger
}

/** What the gateway keeps between requests, in process and (with Redis) shared with the other gateways. */
export interface GatewayCaches {
  redis: Redis | undefined
  /** The fetch and APQ cache (none when GATEWAY_CACHE=false). */
  cache: TwoLevelCache | undefined
  fetchCache: SubgraphFetchCache | undefined
  /** Core's answers about access tokens' sessions (whatever GATEWAY_CACHE says), when core is in the graph. */
  sessionCache: TwoLevelCache | undefined
  apqStore: ReturnType<typeof keyValueCache> | undefined
  apqRegistrations: RateLimiter
  /** Waits (at most a second each) for Redis and the caches to be usable; until then they work in process. */
  settle(): Promise<void>
  close(): Promise<void>
}

export function createGatewayCaches(options: GatewayCachesOptions): GatewayCaches {
  const { logger, supergraphSdl } = options
  const redis = options.redisUrl ? createRedis(options.redisUrl, logger, 'pm-gateway') : undefined
  const cacheOptions = options.cache === false ? undefined : (options.cache ?? {})
  const cache = cacheOptions
    ? new TwoLevelCache({
        name: cacheOptions.name ?? 'gateway',
        ...(redis ? { redis } : {}),
        ...(cacheOptions.l1MaxBytes !== undefined ? { l1MaxBytes: cacheOptions.l1MaxBytes } : {}),
        ...(cacheOptions.l1TtlMs !== undefined ? { l1TtlMs: cacheOptions.l1TtlMs } : {}),
        ...(cacheOptions.degradedL1TtlMs !== undefined
          ? { degradedL1TtlMs: cacheOptions.degradedL1TtlMs }
          : {}),
        logger,
      })
    : undefined
  const fetchCache = cache
    ? new SubgraphFetchCache(
        cache,
        cacheOptions?.policy ?? DEFAULT_CACHE_POLICY,
        entityLookupsOf(supergraphSdl),
      )
    : undefined
  // Core's answers about access tokens' sessions (whatever GATEWAY_CACHE says), shared through Redis. A
  // graph without core has no sessions to ask about: tokens are then judged by their signature alone.
  const sessionCache = supergraphSdl.includes('@join__graph(name: "core"')
    ? new TwoLevelCache({
        name: `${cacheOptions?.name ?? 'gateway'}:sessions`,
        ...(redis ? { redis } : {}),
        l1MaxBytes: 16 * 1024 * 1024,
        l1TtlMs: 15 * 60_000,
        logger,
      })
    : undefined

  const apqStore = cache ? keyValueCache(cache, 'apq', APQ_TTL_SECONDS) : undefined
  // Callers registering APQ documents, per minute (shared through Redis like the rate limit).
  const apqRegistrations = new RateLimiter({
    perMinute: options.apqRegistrationsPerMinute ?? DEFAULT_APQ_REGISTRATIONS_PER_MINUTE,
    logger,
    ...(redis ? { redis } : {}),
    keyPrefix: `${options.rateLimitKeyPrefix ?? 'pm:gateway:rate:'}apq:`,
  })

  return {
    redis,
    cache,
    fetchCache,
    sessionCache,
    apqStore,
    apqRegistrations,
    async settle() {
      // Counting and caching start in Redis when it answers within a second; until then (or if it is down),
      // in process.
      if (redis) await redisSettled(redis, 1_000)
      if (cache) await cache.ready(1_000)
      await sessionCache?.ready(1_000)
    },
    async close() {
      await cache?.close()
      await sessionCache?.close()
      if (redis) await redis.quit().catch(() => redis.disconnect())
    },
  }
}
