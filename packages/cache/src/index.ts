export {
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
  type Lookup,
  type NamespaceStats,
  TwoLevelCache,
  type TwoLevelCacheOptions,
} from './two-level-cache'
