import type { Domain } from '@pm/db'
import type { DomainJobs } from '@pm/jobs'
import type { SubgraphModule } from '@pm/service-kit'

/** What a subgraph package exports: its module (schema, resolvers, loaders) and, when it has any, its jobs. */
export interface SubgraphPackage<D extends Domain> {
  subgraph: SubgraphModule<D, unknown>
  jobs?: DomainJobs<D>
}

/**
 * Each domain's package, loaded on first use: a graph of two subgraphs does not load the other five. A domain
 * has a worker as soon as its package exports `jobs` next to `subgraph`; nothing here changes.
 */
const PACKAGES: { [D in Domain]: () => Promise<SubgraphPackage<D>> } = {
  core: () => import('@pm/subgraph-core'),
  catalog: () => import('@pm/subgraph-catalog'),
  imports: () => import('@pm/subgraph-imports'),
  exports: () => import('@pm/subgraph-exports'),
  media: () => import('@pm/subgraph-media'),
  code2asin: () => import('@pm/subgraph-code2asin'),
  analytics: () => import('@pm/subgraph-analytics'),
}

export function loadSubgraphPackage<D extends Domain>(domain: D): Promise<SubgraphPackage<D>> {
  return PACKAGES[domain]()
}
