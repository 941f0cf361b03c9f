import { createDomainDatabase, type Domain, type DomainDatabase, type PoolSettings } from '@pm/db'
import { createLogger, type RunningSubgraph, type SubgraphModule, startSubgraph } from '@pm/service-kit'
import { createMigratedDatabase, type TestDatabase } from './index'

/** Small pools: many test databases share one server. */
export const TEST_POOL: PoolSettings = {
  size: 5,
  maxOverflow: 5,
  acquireTimeoutMs: 10_000,
  recycleMs: 3_600_000,
  idleTimeoutMs: 10_000,
  prePingIdleMs: 1_000,
}

export interface TestSubgraph<D extends Domain> {
  database: DomainDatabase<D>
  testDatabase: TestDatabase
  server: RunningSubgraph
  /** POSTs an operation to the subgraph's /graphql. */
  request<T = any>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>
  /** Statements run through this subgraph's pool so far. */
  queryCount(): number
  stop(): Promise<void>
}

export interface GraphQLResponse<T> {
  data?: T
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }>
}

export async function postGraphQL<T = any>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  })
  return (await response.json()) as GraphQLResponse<T>
}

/** A subgraph on a fresh migrated database, listening on a free loopback port. */
export async function startTestSubgraph<D extends Domain, L>(
  module: SubgraphModule<D, L>,
): Promise<TestSubgraph<D>> {
  const testDatabase = await createMigratedDatabase(module.domain, `sg_${module.domain}`)
  const database = createDomainDatabase({ domain: module.domain, url: testDatabase.url, pool: TEST_POOL })
  const server = await startSubgraph(module, {
    database,
    port: 0,
    logger: createLogger({ service: `test-${module.domain}` }, 'error'),
    // Alone: no other subgraph to call; audit entries stay in the outbox, where tests can read them.
    peers: {},
  })
  return {
    database,
    testDatabase,
    server,
    request: (query, variables) => postGraphQL(server.graphqlUrl, query, variables),
    queryCount: () => database.stats().queries,
    async stop() {
      await server.stop()
      await database.destroy()
      await testDatabase.drop()
    },
  }
}
