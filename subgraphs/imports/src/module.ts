import { loadTypeDefs, type SubgraphModule } from '@pm/service-kit'
import { ensureLogPartitions } from './db/queries'
import { createLoaders, type ImportsLoaders } from './loaders'
import { resolvers } from './resolvers'

export { jobs } from './jobs'

/** Months past the current one whose import_logs partitions must exist. */
const LOG_PARTITION_MONTHS_AHEAD = 1

export const subgraph: SubgraphModule<'imports', ImportsLoaders> = {
  domain: 'imports',
  typeDefs: loadTypeDefs(new URL('./schema.graphql', import.meta.url)),
  resolvers,
  createLoaders,
  // Only at start-up: a service that runs for weeks also needs a daily call (not scheduled here).
  async onStart(db, logger) {
    const created = await ensureLogPartitions(db, LOG_PARTITION_MONTHS_AHEAD)
    logger.info('import_logs partitions ensured', { monthsAhead: LOG_PARTITION_MONTHS_AHEAD, created })
  },
}
