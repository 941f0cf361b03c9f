import { loadTypeDefs, type SubgraphModule } from '@pm/service-kit'
import { insertAuditEntries } from './db/audit'
import { type AnalyticsLoaders, createLoaders } from './loaders'
import { resolvers } from './resolvers'

export const subgraph: SubgraphModule<'analytics', AnalyticsLoaders> = {
  domain: 'analytics',
  typeDefs: loadTypeDefs(new URL('./schema.graphql', import.meta.url)),
  resolvers,
  createLoaders,
  // Analytics' own entries go straight from its outbox into audit_logs, same database.
  auditDelivery: (db) => async (entries) => {
    await insertAuditEntries(db, entries)
  },
}

export { jobs } from './jobs'
