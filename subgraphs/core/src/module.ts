import { loadTypeDefs, type SubgraphModule } from '@pm/service-kit'
import { type CoreLoaders, createLoaders } from './loaders'
import { resolvers } from './resolvers'

export const subgraph: SubgraphModule<'core', CoreLoaders> = {
  domain: 'core',
  typeDefs: loadTypeDefs(new URL('./schema.graphql', import.meta.url)),
  resolvers,
  createLoaders,
}
