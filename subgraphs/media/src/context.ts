import type { SubgraphContext } from '@pm/service-kit'
import type { MediaLoaders } from './loaders'

export type Context = SubgraphContext<'media', MediaLoaders>
