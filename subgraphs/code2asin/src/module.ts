import { loadTypeDefs, type SubgraphModule } from '@pm/service-kit'
import { type Code2AsinLoaders, createLoaders } from './loaders'
import { resolvers } from './resolvers'

export { DEMO_JOB_NAME, type DemoMatching, startDemoMatching } from './engine/demo'
export { jobs } from './jobs'

export const subgraph: SubgraphModule<'code2asin', Code2AsinLoaders> = {
  domain: 'code2asin',
  typeDefs: loadTypeDefs(new URL('./schema.graphql', import.meta.url)),
  resolvers,
  createLoaders,
}
