export {
  ANY_CHANGE_TAG,
  changedEntityTags,
  entityTag,
  entityTypeTag,
  type SubgraphCacheInvalidator,
  subgraphCacheInvalidator,
  subgraphCacheNamespace,
} from './invalidate'
export { keyValueCache } from './key-value-cache'
export { type CacheMetricFamily, cacheMetricFamilies, cacheMetrics } from './metrics'
export {
  type CacheLogger,
  type CacheStats,
  caches,
  type Entry as CacheEntry,
  type Lookup,
  MAX_TAGS_PER_BUMP,
  type NamespaceStats,
  TwoLevelCache,
  type TwoLevelCacheOptions,
} from './two-level-cache'
