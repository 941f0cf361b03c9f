import { randomUUID } from 'node:crypto'
import { createDomainDatabase, DOMAINS, type Domain, type DomainDatabase, type Env } from '@pm/db'
import { createLogger, type RunningSubgraph, signedPeers } from '@pm/service-kit'
// By name, not declared in package.json: @pm/stack runs the gateway, whose tests depend on this package (a
// declared dependency would make a cycle). It resolves through the workspace root, which depends on it.
import {
  domainJobs,
  type GatewayOptions,
  type RunningGateway,
  type RunningGraph,
  type RunningWorker,
  type Storage,
  startDomainWorker,
  startGraph,
} from '@pm/stack'
import { currentRequest } from '@pm/telemetry'
import { type TestSecrets, type TokenClaims, testSecrets, testToken } from './auth'
import { createMigratedDatabase, type TestDatabase } from './index'
import {
  type GraphQLResponse,
  type HttpGraphQLResponse,
  postGraphQL,
  sendGraphQL,
  TEST_POOL,
} from './subgraph'

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
   * SQL statements each subgraph ran while serving the request whose x-request-id is `requestId` (the
   * gateway passes it on to every fetch of the operation): exactly that operation's, whatever else runs.
   */
  statementsOf(requestId: string): Partial<Record<D, number>>
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

/**
 * The whole graph for end-to-end tests: each subgraph on a fresh migrated database and a free loopback
 * port (started in parallel), and the gateway in front of them, on a supergraph composed from their SDL.
 */
export async function startTestStack<D extends Domain = Domain>(
  options: TestStackOptions<D> = {},
): Promise<TestStack<D>> {
  const domains = (options.only ?? DOMAINS) as readonly D[]
  const secrets = testSecrets()
  // Statements per request id and domain, for statementsOf (a request's id is on every statement it runs).
  const byRequest = new Map<string, Partial<Record<D, number>>>()
  const countFor = (domain: D) => () => {
    const id = currentRequest()?.requestId
    if (!id) return
    const counts: Partial<Record<D, number>> = byRequest.get(id) ?? {}
    counts[domain] = (counts[domain] ?? 0) + 1
    byRequest.set(id, counts)
  }
  const created = await Promise.allSettled(domains.map((d) => createMigratedDatabase(d, `stack_${d}`)))
  const testDatabases = created.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []))
  const failed = created.find((c): c is PromiseRejectedResult => c.status === 'rejected')
  if (failed) {
    await Promise.all(testDatabases.map((t) => t.drop()))
    throw failed.reason
  }
  // Each entry is DomainDatabase<K> for its own K; TypeScript cannot follow that through fromEntries.
  const databases = Object.fromEntries(
    domains.map((d, i) => [
      d,
      createDomainDatabase(
        { domain: d, url: testDatabases[i]!.url, pool: TEST_POOL },
        { onQuery: countFor(d) },
      ),
    ]),
  ) as unknown as { [K in D]: DomainDatabase<K> }
  const closeDatabases = async () => {
    await Promise.all(domains.map((d) => databases[d].destroy()))
    await Promise.all(testDatabases.map((t) => t.drop()))
  }
  let graph: RunningGraph<D>
  try {
    graph = await startGraph({
      domains,
      databases,
      signingSecret: secrets.signing,
      tokenSecret: secrets.token,
      logger: createLogger({ service: 'stack' }, 'error'),
      env: (d) => ({ ...process.env, ...options.env?.[d] }),
      auditIntervalMs: 200,
      compose: true,
      gateway: {
        port: 0,
        host: '127.0.0.1',
        subgraphTimeoutMs: options.subgraphTimeoutMs ?? 10_000,
        maxSocketsPerSubgraph: 16,
        ...options.gateway,
      },
    })
  } catch (error) {
    await closeDatabases()
    throw error
  }
  const { gateway } = graph
  const subgraphs = Object.fromEntries(
    domains.map((d, i) => [
      d,
      { server: graph.subgraphs[d], database: databases[d], testDatabase: testDatabases[i]! },
    ]),
  ) as unknown as { [K in D]: StackSubgraph<K> }

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
      const jobs = await domainJobs(domain)
      if (!jobs) throw new Error(`the ${domain} subgraph package exports no jobs`)
      const env = { ...process.env, ...options.env?.[domain], ...workerOptions.env }
      const worker = await startDomainWorker({
        domain,
        jobs,
        url: subgraphs[domain].testDatabase.url,
        database: databases[domain],
        ...(workerOptions.storage ? { storage: workerOptions.storage } : {}),
        peers: signedPeers(graph.subgraphUrls, secrets.signing),
        gatewayUrl: gateway.url,
        env,
        logger: createLogger({ service: 'stack' }, 'error'),
        concurrency: workerOptions.concurrency ?? jobs.concurrency ?? 1,
        // Schedules do not fire in tests unless asked.
        crontab: workerOptions.crontab ?? '',
        pollIntervalMs: 200,
      })
      workers.add(worker)
      worker.done.finally(() => workers.delete(worker)).catch(() => {})
      return worker
    },
    totalQueryCount: (options) =>
      domains
        .filter((d) => !options?.except?.includes(d))
        .reduce((sum, d) => sum + databases[d].stats().queries, 0),
    statementsOf: (requestId) => ({ ...byRequest.get(requestId) }),
    async stop() {
      await Promise.all([...workers].map((w) => w.stop()))
      await graph.stop()
      await closeDatabases()
    },
  }
}
