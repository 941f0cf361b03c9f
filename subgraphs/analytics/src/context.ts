import type { SubgraphContext } from '@pm/service-kit'
import type { AnalyticsLoaders } from './loaders'

export type Context = SubgraphContext<'analytics', AnalyticsLoaders>
