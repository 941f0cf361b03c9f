import { randomUUID } from 'node:crypto'
import { createDomainDatabase, DOMAINS, type Domain, type DomainDatabase, type Env } from '@pm/db'
import {
  createLogger,
  type Peers,
  type RunningSubgraph,
  type SubgraphModule,
  signedPeers,
  startSubgraph,
} from '@pm/service-kit'
// Relative imports: the gateway, the subgraphs, jobs and storage depend on @pm/testing, so it cannot list them as deps.
import { composeSupergraph } from '../../../gateway/src/compose'
import { type GatewayOptions, type RunningGateway, startGateway } from '../../../gateway/src/gateway'
import { type DomainJobs, type RunningWorker, startWorker } from '../../jobs/src/index'
import { createStorage, loadStorageConfig, type Storage } from '../../storage/src/index'
import { type TestSecrets, type TokenClaims, testSecrets, testToken } from './auth'
import { createMigratedDatabase, type TestDatabase } from './index'
import {
  type GraphQLResponse,
  type HttpGraphQLResponse,
  postGraphQL,
  sendGraphQL,
  TEST_POOL,
} from './subgraph'

type AnyModule = SubgraphModule<any, any>

const MODULES: Record<Domain, () => Promise<{ subgraph: AnyModule; jobs?: DomainJobs<any> }>> = {
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
  /**
   * POSTs an operation to the gateway's /graphql, by default as the stack's test superuser (a bearer token
   * minted with the stack's AUTH_TOKEN_SECRET). Headers given win: `{ authorization: '' }` sends no
   * Authorization (anonymous), `{ authorization: \`Bearer ${stack.tokenFor(…)}\` }` another user, and an
   * `x-api-key` header goes without the default token (a partner).
   */
  request<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>
  /** The same, with the HTTP status and headers (refusals: 401, 403, 429). */
  send<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<HttpGraphQLResponse<T>>
  /** An access token as core would sign it (default: a random user id, no permissions, not superuser). */
  tokenFor(claims?: TokenClaims): string
  /** The user id of the default superuser token (no such row in db_core). */
  superuserId: string
  /** The shared secrets the gateway and the subgraphs were given (also in process.env). */
  secrets: TestSecrets
  subgraphs: { [K in D]: StackSubgraph<K> }
  /**
   * SQL statements run by the subgraphs' pools so far; `except` leaves domains out (e.g. core, which the
   * gateway also asks about the caller's session before an operation runs).
   */
  totalQueryCount(options?: { except?: readonly Domain[] }): number
  /**
   * A worker for one of the stack's domains, running the tasks its subgraph package exports as `jobs`
   * (as `pm worker` does): on that domain's test database, with storage from the environment (STORAGE_*),
   * peers signed as SERVICE, and `env` over process.env. Stopped by stop() if the test has not stopped it.
   */
  startWorker(domain: D, options?: StackWorkerOptions): Promise<RunningWorker>
  stop(): Promise<void>
}

export interface StackWorkerOptions {
  /** What the tasks' context.env holds over process.env. */
  env?: Env
  /** Storage the tasks use (default: createStorage(loadStorageConfig(env))). */
  storage?: Storage
  /** Jobs run at once (default: the domain's own, else 1). */
  concurrency?: number
  /** Crontab lines to run (default: none, so that schedules do not fire in tests unless asked). */
  crontab?: string
}

export interface TestStackOptions<D extends Domain> {
  /** Start only these subgraphs; the gateway then serves a supergraph composed of just them. */
  only?: readonly D[]
  /** Gateway → subgraph timeout (default 10 s). */
  subgraphTimeoutMs?: number
  /**
   * Per subgraph, what its ctx.env holds over process.env: e.g. `{ core: { MODULE_CODE2ASIN_ENABLED: 'true' } }`
   * starts core as if that variable were set in its environment (the stack runs in one process).
   */
  env?: { [K in Domain]?: Env }
  /** More gateway options (module state TTL, rate limit, …); secrets and URLs are the stack's. */
  gateway?: Partial<Omit<GatewayOptions, 'subgraphUrls' | 'supergraphSdl' | 'signingSecret' | 'tokenSecret'>>
}

async function startOne<D extends Domain>(
  domain: D,
  peers: Peers,
  signingSecret: string,
  env: Env | undefined,
): Promise<StackSubgraph<D>> {
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
      signingSecret,
      env: { ...process.env, ...env },
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
  const secrets = testSecrets()
  const peers: Peers = {}
  const settled = await Promise.allSettled(
    domains.map((d) => startOne(d, peers, secrets.signing, options.env?.[d])),
  )
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
      ...options.gateway,
      signingSecret: secrets.signing,
      tokenSecret: secrets.token,
    })
  } catch (error) {
    await Promise.all(started.map(stopOne))
    throw error
  }

  const workers = new Set<RunningWorker>()
  const superuserId = randomUUID()
  // One session for every default token: the gateway asks core about it once (neither the user nor the
  // session exists in db_core, an answer that cannot change), so it adds no subgraph request later.
  const superuserSessionId = randomUUID()
  const tokenFor = (claims: TokenClaims = {}) => testToken(claims, secrets.token)
  // Minted per request: a long test file never outlives its token.
  const withDefaultCaller = (headers: Record<string, string> = {}) => {
    const names = Object.keys(headers).map((h) => h.toLowerCase())
    if (names.includes('authorization') || names.includes('x-api-key')) return headers
    const token = tokenFor({ userId: superuserId, sessionId: superuserSessionId, superuser: true })
    return { authorization: `Bearer ${token}`, ...headers }
  }

  return {
    gatewayUrl: gateway.url,
    graphqlUrl: gateway.graphqlUrl,
    gateway,
    request: (query, variables, headers) =>
      postGraphQL(gateway.graphqlUrl, query, variables, withDefaultCaller(headers)),
    send: (query, variables, headers) =>
      sendGraphQL(gateway.graphqlUrl, query, variables, withDefaultCaller(headers)),
    tokenFor,
    superuserId,
    secrets,
    subgraphs,
    async startWorker(domain, workerOptions = {}) {
      const { jobs } = await MODULES[domain]()
      if (!jobs) throw new Error(`the ${domain} subgraph package exports no jobs`)
      const env = { ...process.env, ...options.env?.[domain], ...workerOptions.env }
      const logger = createLogger({ service: `stack-worker-${domain}` }, 'error')
      const sg = subgraphs[domain]
      const worker = await startWorker({
        domain,
        connectionString: sg.testDatabase.url,
        tasks: jobs.tasks({
          domain,
          database: sg.database,
          storage: workerOptions.storage ?? createStorage(loadStorageConfig(env)),
          peers: signedPeers(peers, secrets.signing),
          gatewayUrl: gateway.url,
          env,
          logger,
        }),
        ...(workerOptions.crontab ? { crontab: workerOptions.crontab } : {}),
        concurrency: workerOptions.concurrency ?? jobs.concurrency ?? 1,
        logger,
        pollIntervalMs: 200,
      })
      workers.add(worker)
      worker.done.finally(() => workers.delete(worker)).catch(() => {})
      return worker
    },
    totalQueryCount: (options) =>
      started
        .filter((sg) => !options?.except?.includes(sg.database.domain))
        .reduce((sum, sg) => sum + sg.database.stats().queries, 0),
    async stop() {
      await Promise.all([...workers].map((w) => w.stop()))
      await gateway.stop()
      await Promise.all(started.map(stopOne))
    },
  }
}
