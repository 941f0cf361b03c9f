import { loadTypeDefs, type SubgraphModule } from '@pm/service-kit'
import { createLoaders, type ExportsLoaders } from './loaders'
import { resolvers } from './resolvers'

export { jobs } from './jobs'

export const subgraph: SubgraphModule<'exports', ExportsLoaders> = {
  domain: 'exports',
  typeDefs: loadTypeDefs(new URL('./schema.graphql', import.meta.url)),
  resolvers,
  createLoaders,
}
