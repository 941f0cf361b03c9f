import type { SubgraphContext } from '@pm/service-kit'
import type { CoreLoaders } from './loaders'

export type Context = SubgraphContext<'core', CoreLoaders>
