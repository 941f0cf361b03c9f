import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache'
import type { TwoLevelCache } from './two-level-cache'

/** Apollo Server's KeyValueCache (e.g. persistedQueries.cache) over the two-level cache. */
export function keyValueCache(
  cache: TwoLevelCache,
  namespace = 'apq',
  defaultTtlSeconds = 24 * 60 * 60,
): KeyValueCache<string> {
  return {
    get: (key: string) => cache.get(namespace, key),
    set: (key: string, value: string, options?: KeyValueCacheSetOptions) =>
      cache.set(namespace, key, value, options?.ttl ?? defaultTtlSeconds),
    delete: (key: string) => cache.delete(namespace, key),
  }
}
