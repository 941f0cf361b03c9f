import { createDomainDatabase, type Domain, type DomainDatabase, type Env, type PoolSettings } from '@pm/db'
import {
  type Caller,
  createLogger,
  type RunningSubgraph,
  SERVICE,
  type SubgraphModule,
  startSubgraph,
} from '@pm/service-kit'
import { signedHeaders, testSecrets } from './auth'
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

export interface SubgraphRequestOptions {
  /** The identity signed into the request (default SERVICE, a superuser); null sends it unsigned. */
  caller?: Caller | null
  /** Extra headers, sent as given (e.g. a forged x-pm-signature). */
  headers?: Record<string, string>
}

export interface TestSubgraph<D extends Domain> {
  database: DomainDatabase<D>
  testDatabase: TestDatabase
  server: RunningSubgraph
  /** The signing secret the subgraph verifies identities with (also GATEWAY_SIGNING_SECRET here). */
  signingSecret: string
  /** POSTs an operation to the subgraph's /graphql, signed as SERVICE unless options say otherwise. */
  request<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    options?: SubgraphRequestOptions,
  ): Promise<GraphQLResponse<T>>
  /** The same, with the HTTP status: for refusals (unsigned, forged, stale). */
  send<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    options?: SubgraphRequestOptions,
  ): Promise<HttpGraphQLResponse<T>>
  /** Statements run through this subgraph's pool so far. */
  queryCount(): number
  stop(): Promise<void>
}

export interface GraphQLResponse<T> {
  data?: T
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }>
}

export interface HttpGraphQLResponse<T> {
  status: number
  headers: Headers
  body: GraphQLResponse<T>
}

/** Headers with an empty value are left out (`{ authorization: '' }` sends no Authorization). */
function present(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== ''))
}

/** Headers, or headers made from the body about to be sent (a signature bound to it: see signedHeaders). */
export type RequestHeaders = Record<string, string> | ((body: string) => Record<string, string>)

export async function sendGraphQL<T = any>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: RequestHeaders = {},
): Promise<HttpGraphQLResponse<T>> {
  const payload = JSON.stringify({ query, variables })
  const given = typeof headers === 'function' ? headers(payload) : headers
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...present(given) },
    body: payload,
  })
  const text = await response.text()
  let body: GraphQLResponse<T>
  try {
    body = JSON.parse(text) as GraphQLResponse<T>
  } catch {
    body = { errors: [{ message: `not JSON (HTTP ${response.status}): ${text.slice(0, 200)}` }] }
  }
  return { status: response.status, headers: response.headers, body }
}

export async function postGraphQL<T = any>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: RequestHeaders = {},
): Promise<GraphQLResponse<T>> {
  return (await sendGraphQL<T>(url, query, variables, headers)).body
}

export interface TestSubgraphOptions {
  /** What the subgraph's ctx.env holds, over process.env (e.g. core's MODULE_<ID>_ENABLED). */
  env?: Env
}

/** A subgraph on a fresh migrated database, listening on a free loopback port. */
export async function startTestSubgraph<D extends Domain, L>(
  module: SubgraphModule<D, L>,
  options: TestSubgraphOptions = {},
): Promise<TestSubgraph<D>> {
  const { signing } = testSecrets()
  const testDatabase = await createMigratedDatabase(module.domain, `sg_${module.domain}`)
  const database = createDomainDatabase({ domain: module.domain, url: testDatabase.url, pool: TEST_POOL })
  const server = await startSubgraph(module, {
    database,
    port: 0,
    logger: createLogger({ service: `test-${module.domain}` }, 'error'),
    // Alone: no other subgraph to call; audit entries stay in the outbox, where tests can read them.
    peers: {},
    signingSecret: signing,
    env: { ...process.env, ...options.env },
  })
  const send = <T>(query: string, variables?: Record<string, unknown>, opts: SubgraphRequestOptions = {}) => {
    const caller = opts.caller === undefined ? SERVICE : opts.caller
    return sendGraphQL<T>(server.graphqlUrl, query, variables, (body) => ({
      ...(caller ? signedHeaders(module.domain, body, caller, signing) : {}),
      ...opts.headers,
    }))
  }
  return {
    database,
    testDatabase,
    server,
    signingSecret: signing,
    request: async <T>(query: string, variables?: Record<string, unknown>, opts?: SubgraphRequestOptions) =>
      (await send<T>(query, variables, opts)).body,
    send,
    queryCount: () => database.stats().queries,
    async stop() {
      await server.stop()
      await database.destroy()
      await testDatabase.drop()
    },
  }
}
