import { loadTypeDefs, type SubgraphModule } from '@pm/service-kit'
import { type CatalogLoaders, createLoaders } from './loaders'
import { resolvers } from './resolvers'

export const subgraph: SubgraphModule<'catalog', CatalogLoaders> = {
  domain: 'catalog',
  typeDefs: loadTypeDefs(new URL('./schema.graphql', import.meta.url)),
  resolvers,
  createLoaders,
}
