import type { Redis } from 'ioredis'
import type { CacheLogger } from './two-level-cache'
import { caches, TwoLevelCache } from './two-level-cache'

/** The gateway's fetch-cache namespace of a subgraph's answers: a bump there makes them all stale. */
export const subgraphCacheNamespace = (domain: string) => `sg:${domain}`

/**
 * The tag every cached answer of a subgraph depends on unless it is tied to entities by key (an entity lookup
 * `_entities`, or a root field that reads one entity by id): lists, searches, counts. Any change to the
 * subgraph's data touches it.
 */
export const ANY_CHANGE_TAG = '*'

/** The tag of one entity's cached answers: `Product:<id>`. */
export const entityTag = (typename: string, id: string) => `${typename}:${id}`

/**
 * The tag every entity of a type also carries on its own answers (entity lookups, lookups by id): a bulk write
 * that changed too many to name declares `Product:*` and the owners whose lists hold them.
 */
export const entityTypeTag = (typename: string) => entityTag(typename, '*')

/**
 * What a write that changed exactly these entities of a subgraph invalidates: the answers tied to them, and
 * every answer tied to none (a list may now hold, order or count them differently).
 */
export function changedEntityTags(entities: readonly string[]): string[] {
  return [...new Set(entities), ANY_CHANGE_TAG]
}

export interface SubgraphCacheInvalidator {
  /**
   * Every gateway sharing this Redis and cache name stops reusing what these subgraphs answered before.
   * Resolves once they were told or Redis failed (then the bump is replayed when it comes back, if this process
   * is still running: see delivered()).
   */
  invalidate(domains: readonly string[]): Promise<void>
  /**
   * Narrower: only the answers of `domain` tied to these entity tags (see entityTag), and its answers tied to no
   * entity. For writers that know every entity whose answers their change can alter.
   */
  invalidateEntities(domain: string, entities: readonly string[]): Promise<void>
  /** Whether every bump so far was acknowledged by Redis (always true without Redis). */
  delivered(): boolean
  /** Closes what the invalidator opened (its subscription); the given Redis stays the caller's. */
  close(): Promise<void>
}

/**
 * For writers that go around the gateway (background jobs writing their domain, or calling another subgraph
 * directly): bumps the gateway cache's generations in Redis, as a mutation through the gateway does. Without
 * Redis it bumps the gateway caches of that name in this process (`pnpm start` runs the gateway and the
 * workers in one process); a gateway in another process without Redis then serves at most its L1 lifetime
 * (60 s by default): run Redis wherever workers and gateways are separate processes.
 */
export function subgraphCacheInvalidator(
  redis: Redis | undefined,
  name = 'gateway',
  logger?: CacheLogger,
): SubgraphCacheInvalidator {
  if (!redis)
    return {
      invalidate: async (domains) => {
        const namespaces = domains.map(subgraphCacheNamespace)
        await Promise.all(caches(name).map((cache) => cache.bump(namespaces)))
      },
      invalidateEntities: async (domain, entities) => {
        const namespace = subgraphCacheNamespace(domain)
        const tags = changedEntityTags(entities)
        await Promise.all(caches(name).map((cache) => cache.bumpTags(namespace, tags)))
      },
      delivered: () => true,
      close: async () => {},
    }
  const cache = new TwoLevelCache({ name, redis, l1MaxBytes: 0, ...(logger ? { logger } : {}) })
  let connecting: Promise<void> | undefined
  return {
    invalidate: async (domains) => {
      // A fresh process (the command line) has not connected yet: a bump sent now would only be queued. Waited
      // for once (bounded); later, while Redis is down, bumps are queued and replayed at once.
      connecting ??= cache.ready()
      await connecting
      await cache.bump(domains.map(subgraphCacheNamespace))
    },
    invalidateEntities: async (domain, entities) => {
      connecting ??= cache.ready()
      await connecting
      await cache.bumpTags(subgraphCacheNamespace(domain), changedEntityTags(entities))
    },
    delivered: () => cache.unsentBumps === 0,
    close: () => cache.close(),
  }
}
