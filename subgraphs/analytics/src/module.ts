import { loadTypeDefs, type SubgraphModule } from '@pm/service-kit'
import { type AnalyticsLoaders, createLoaders } from './loaders'
import { resolvers } from './resolvers'

export const subgraph: SubgraphModule<'analytics', AnalyticsLoaders> = {
  domain: 'analytics',
  typeDefs: loadTypeDefs(new URL('./schema.graphql', import.meta.url)),
  resolvers,
  createLoaders,
}
