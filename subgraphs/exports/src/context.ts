import type { SubgraphContext } from '@pm/service-kit'
import type { ExportsLoaders } from './loaders'

export type Context = SubgraphContext<'exports', ExportsLoaders>
