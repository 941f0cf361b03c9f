import { createDomainDatabase, DOMAINS, type Domain, type DomainDatabase } from '@pm/db'
import {
  createLogger,
  type Peers,
  type RunningSubgraph,
  type SubgraphModule,
  startSubgraph,
} from '@pm/service-kit'
// Relative imports: the gateway and the subgraphs depend on @pm/testing, so it cannot list them as deps.
import { composeSupergraph } from '../../../gateway/src/compose'
import { type RunningGateway, startGateway } from '../../../gateway/src/gateway'
import { createMigratedDatabase, type TestDatabase } from './index'
import { type GraphQLResponse, postGraphQL, TEST_POOL } from './subgraph'

type AnyModule = SubgraphModule<any, any>

const MODULES: Record<Domain, () => Promise<{ subgraph: AnyModule }>> = {
  core: () => import('../../../subgraphs/core/src/module'),
  catalog: () => import('../../../subgraphs/catalog/src/module'),
  imports: () => import('../../../subgraphs/imports/src/module'),
  exports: () => import('../../../subgraphs/exports/src/module'),
  media: () => import('../../../subgraphs/media/src/module'),
  code2asin: () => import('../../../subgraphs/code2asin/src/module'),
  analytics: () => import('../../../subgraphs/analytics/src/module'),
}

export interface StackSubgraph<D extends Domain> {
  server: RunningSubgraph
  database: DomainDatabase<D>
  testDatabase: TestDatabase
}

export interface TestStack<D extends Domain = Domain> {
  gatewayUrl: string
  graphqlUrl: string
  gateway: RunningGateway
  /** POSTs an operation to the gateway's /graphql. */
  request<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>
  subgraphs: { [K in D]: StackSubgraph<K> }
  /** SQL statements run by all the subgraphs' pools so far. */
  totalQueryCount(): number
  stop(): Promise<void>
}

export interface TestStackOptions<D extends Domain> {
  /** Start only these subgraphs; the gateway then serves a supergraph composed of just them. */
  only?: readonly D[]
  /** Gateway → subgraph timeout (default 10 s). */
  subgraphTimeoutMs?: number
}

async function startOne<D extends Domain>(domain: D, peers: Peers): Promise<StackSubgraph<D>> {
  const { subgraph } = await MODULES[domain]()
  const testDatabase = await createMigratedDatabase(domain, `stack_${domain}`)
  const database = createDomainDatabase({ domain, url: testDatabase.url, pool: TEST_POOL })
  try {
    const server = await startSubgraph(subgraph, {
      database,
      port: 0,
      logger: createLogger({ service: `stack-${domain}` }, 'error'),
      peers,
      auditIntervalMs: 200,
    })
    return { server, database, testDatabase }
  } catch (error) {
    await database.destroy()
    await testDatabase.drop()
    throw error
  }
}

async function stopOne(sg: {
  server: RunningSubgraph
  database: { destroy(): Promise<void> }
  testDatabase: TestDatabase
}) {
  await sg.server.stop()
  await sg.database.destroy()
  await sg.testDatabase.drop()
}

/**
 * The whole graph for end-to-end tests: each subgraph on a fresh migrated database and a free loopback
 * port (started in parallel), and the gateway in front of them, on a supergraph composed from their SDL.
 */
export async function startTestStack<D extends Domain = Domain>(
  options: TestStackOptions<D> = {},
): Promise<TestStack<D>> {
  const domains = (options.only ?? DOMAINS) as readonly D[]
  const composition = composeSupergraph(domains)
  if (!composition.ok) throw new Error(`the supergraph does not compose:\n${composition.errors.join('\n')}`)

  // Filled once every subgraph listens: they read it when they call each other.
  const peers: Peers = {}
  const settled = await Promise.allSettled(domains.map((d) => startOne(d, peers)))
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed) {
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? stopOne(s.value) : undefined)))
    throw failed.reason
  }
  const started = settled.map((s) => (s as PromiseFulfilledResult<StackSubgraph<D>>).value)
  // Each entry is StackSubgraph<K> for its own K; TypeScript cannot follow that through fromEntries.
  const subgraphs = Object.fromEntries(domains.map((d, i) => [d, started[i]!])) as unknown as {
    [K in D]: StackSubgraph<K>
  }

  // Domains left out point at a closed port: composed out of the supergraph, they are never called.
  const urls = new Map<Domain, string>(domains.map((d, i) => [d, started[i]!.server.graphqlUrl]))
  for (const [d, url] of urls) peers[d] = url
  const subgraphUrls = Object.fromEntries(
    DOMAINS.map((d) => [d, urls.get(d) ?? 'http://127.0.0.1:9/graphql']),
  ) as Record<Domain, string>
  let gateway: RunningGateway
  try {
    gateway = await startGateway({
      port: 0,
      host: '127.0.0.1',
      supergraphSdl: composition.supergraphSdl,
      subgraphUrls,
      logger: createLogger({ service: 'stack-gateway' }, 'error'),
      subgraphTimeoutMs: options.subgraphTimeoutMs ?? 10_000,
      maxSocketsPerSubgraph: 16,
    })
  } catch (error) {
    await Promise.all(started.map(stopOne))
    throw error
  }

  return {
    gatewayUrl: gateway.url,
    graphqlUrl: gateway.graphqlUrl,
    gateway,
    request: (query, variables, headers) => postGraphQL(gateway.graphqlUrl, query, variables, headers),
    subgraphs,
    totalQueryCount: () => started.reduce((sum, sg) => sum + sg.database.stats().queries, 0),
    async stop() {
      await gateway.stop()
      await Promise.all(started.map(stopOne))
    },
  }
}
