import type { SubgraphContext } from '@pm/service-kit'
import type { ImportsLoaders } from './loaders'

export type Context = SubgraphContext<'imports', ImportsLoaders>
