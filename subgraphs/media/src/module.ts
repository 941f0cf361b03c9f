import { loadTypeDefs, type SubgraphModule } from '@pm/service-kit'
import { createLoaders, type MediaLoaders } from './loaders'
import { resolvers } from './resolvers'

export { storeDemoMedia } from './engine/demo'
export { mediaSettings } from './engine/settings'
export { jobs } from './jobs'

export const subgraph: SubgraphModule<'media', MediaLoaders> = {
  domain: 'media',
  typeDefs: loadTypeDefs(new URL('./schema.graphql', import.meta.url)),
  resolvers,
  createLoaders,
}
