import type { SubgraphContext } from '@pm/service-kit'
import type { Code2AsinLoaders } from './loaders'

export type Context = SubgraphContext<'code2asin', Code2AsinLoaders>
