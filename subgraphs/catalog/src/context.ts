import type { SubgraphContext } from '@pm/service-kit'
import type { CatalogLoaders } from './loaders'

export type Context = SubgraphContext<'catalog', CatalogLoaders>
