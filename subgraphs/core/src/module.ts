import { loadTypeDefs, type SubgraphModule } from '@pm/service-kit'
import { coreEnvironment } from './environment'
import { type CoreLoaders, createLoaders } from './loaders'
import { resolvers } from './resolvers'

/** The operations worker (pm worker --domain core). */
export { operationJobs as jobs } from './operations/jobs'

import { dummyPasswordHash } from './mutations/auth'

export const subgraph: SubgraphModule<'core', CoreLoaders> = {
  domain: 'core',
  typeDefs: loadTypeDefs(new URL('./schema.graphql', import.meta.url)),
  resolvers,
  createLoaders,
  async onStart(_db, _logger, env) {
    // Before the service listens: a missing or bad AUTH_TOKEN_SECRET or MODULE_* value stops it here.
    coreEnvironment(env)
    // Unknown emails are checked against it: made now, the first one costs no more than the others.
    await dummyPasswordHash()
  },
}
