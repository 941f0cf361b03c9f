// First: later loads of @apollo/federation-internals get plain exports (see the file).
import './federation-internals'
import { readFileSync } from 'node:fs'
import type { CacheStats } from '@pm/cache'
import type { Domain } from '@pm/db'
import {
  type AdminListener,
  type Logger,
  requireSecret,
  SecretConfigError,
  SIGNING_SECRET_ENV,
  TOKEN_SECRET_ENV,
} from '@pm/service-kit'
import { createStorage, loadStorageConfig, type Storage } from '@pm/storage'
import { createGatewayAccess } from './access'
import { startGatewayApollo } from './apollo'
import {
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_SOCKETS_PER_SUBGRAPH,
  DEFAULT_SUBGRAPH_TIMEOUT_MS,
  GatewayConfigError,
  type GatewaySecurity,
} from './environment'
import type { GatewayCacheOptions } from './fetch-cache'
import { createGatewayCaches } from './gateway-caches'
import { DEFAULT_OPERATION_LIMITS, OperationGuard, type OperationLimits } from './limits'
import { type CallerKey, clientAddress, RateLimiter } from './rate-limit'
import { startGatewayServer, subgraphReadiness } from './server'
import { createSubgraphTransport } from './subgraph-transport'
import { SUPERGRAPH_FILE } from './supergraph-file'

export type { GatewayContext } from './context'
export {
  GatewayConfigError,
  type GatewayEnvironment,
  type GatewayMode,
  type GatewaySecurity,
  loadCacheOptions,
  loadGatewayEnvironment,
  loadGatewaySecrets,
  loadGatewaySecurity,
} from './environment'
export { DEFAULT_CACHE_POLICY, type GatewayCacheOptions, type SubgraphCachePolicy } from './fetch-cache'
export { DEFAULT_OPERATION_LIMITS, LimitCode, type OperationLimits } from './limits'
export { type CallerKey, clientAddress } from './rate-limit'
export { serviceUnavailable } from './subgraph-transport'

/**
 * Every security setting is optional: absent ones take the development defaults (introspection, GraphiQL
 * and suggestions on), the default operation, body and batch limits, and no rate limit. The service passes
 * what loadGatewayEnvironment read (GATEWAY_RATE_LIMIT_PER_MINUTE defaults to 600 there).
 */
export interface GatewayOptions extends Partial<Omit<GatewaySecurity, 'limits'>> {
  port: number
  host: string
  /** Where /ready and /metrics are served (default 127.0.0.1 on any free port); /health stays on `port`. */
  admin?: AdminListener
  /** Defaults to the checked-in gateway/supergraph.graphql. */
  supergraphSdl?: string
  /** Where each subgraph answers; these win over the URLs written in the supergraph. */
  subgraphUrls: Record<Domain, string>
  logger: Logger
  /** Per subgraph request, connection to last byte of the answer (default 10 s). */
  subgraphTimeoutMs?: number
  /** Upper bound of open keep-alive sockets to each subgraph (default 64). */
  maxSocketsPerSubgraph?: number
  /** Any subset of the operation limits; the others keep their defaults. */
  limits?: Partial<OperationLimits>
  /** Prefix of the rate-limit counters in Redis (default pm:gateway:rate:). */
  rateLimitKeyPrefix?: string
  /**
   * Who a request counts against for the rate limit. Default: the authenticated caller (user:<id>,
   * key:<id>), else the client address (ip:<address>, see trustProxy).
   */
  callerKey?: CallerKey
  /** Signs the caller identity sent to the subgraphs (default: GATEWAY_SIGNING_SECRET). */
  signingSecret?: string
  /** Verifies bearer access tokens (default: AUTH_TOKEN_SECRET). */
  tokenSecret?: string
  /** How long core's module states are reused (default and maximum 5 s). */
  moduleStateTtlMs?: number
  /** How long core's answer about an API key is reused (default and maximum 30 s). */
  apiKeyCacheMs?: number
  /** The subgraph fetch cache and APQ store (L1 in process, L2 in Redis when redisUrl is set); false: none. */
  cache?: GatewayCacheOptions | false
  /** Where POST /uploads stores files and /files/* serves them from (default: STORAGE_* settings). */
  storage?: Storage
  /** The largest file POST /uploads takes (default 1 GiB). */
  uploadMaxBytes?: number
  /** Query plans kept, in approximate MiB (default 16; Apollo sizes an entry by its JSON text). */
  queryPlanCacheMb?: number
  /** Parsed and validated documents kept, in approximate MiB (default 8). */
  documentCacheMb?: number
}

export interface RunningGateway {
  url: string
  graphqlUrl: string
  /** The admin listener: /ready, /metrics, /health. */
  adminUrl: string
  /** The fetch and APQ cache's figures (null when the cache is off). */
  cacheStats(): CacheStats | null
  stop(): Promise<void>
}

/** The option, else the environment variable; a missing or short secret stops the start, naming it. */
function secret(
  given: string | undefined,
  name: typeof SIGNING_SECRET_ENV | typeof TOKEN_SECRET_ENV,
): string {
  try {
    return requireSecret(name, given === undefined ? process.env : { [name]: given })
  } catch (error) {
    if (error instanceof SecretConfigError) throw new GatewayConfigError(error.message)
    throw error
  }
}

/**
 * The gateway: the subgraph transport (signed, bounded, timed), its caches, access control (tokens, API
 * keys, modules), Apollo's planner and server, and the HTTP listeners in front of them.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { logger } = options
  const signingSecret = secret(options.signingSecret, SIGNING_SECRET_ENV)
  const tokenSecret = secret(options.tokenSecret, TOKEN_SECRET_ENV)
  const subgraphTimeoutMs = options.subgraphTimeoutMs ?? DEFAULT_SUBGRAPH_TIMEOUT_MS
  const supergraphSdl = options.supergraphSdl ?? readFileSync(SUPERGRAPH_FILE, 'utf8')
  const mode = options.mode ?? 'development'
  const introspection = options.introspection ?? mode === 'development'
  const graphiql = options.graphiql ?? mode === 'development'
  const fieldSuggestions = options.fieldSuggestions ?? introspection
  const guard = new OperationGuard({ ...DEFAULT_OPERATION_LIMITS, ...options.limits }, introspection)
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH
  const rateLimitPerMinute = options.rateLimitPerMinute ?? 0
  const trustProxy = options.trustProxy ?? false

  const transport = createSubgraphTransport({
    timeoutMs: subgraphTimeoutMs,
    maxSocketsPerSubgraph: options.maxSocketsPerSubgraph ?? DEFAULT_MAX_SOCKETS_PER_SUBGRAPH,
    signingSecret,
  })
  // API keys carry their own per-minute limit, so the limiter exists even when the gateway-wide one is 0.
  const caches = createGatewayCaches({
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(options.cache !== undefined ? { cache: options.cache } : {}),
    supergraphSdl,
    ...(options.apqRegistrationsPerMinute !== undefined
      ? { apqRegistrationsPerMinute: options.apqRegistrationsPerMinute }
      : {}),
    ...(options.rateLimitKeyPrefix ? { rateLimitKeyPrefix: options.rateLimitKeyPrefix } : {}),
    logger,
  })
  const { authenticator, moduleStates } = createGatewayAccess({
    coreUrl: options.subgraphUrls.core,
    coreFetch: transport.fetcherFor('core') as unknown as typeof fetch,
    signingSecret,
    tokenSecret,
    caches,
    clientAddress: (req) => clientAddress(req, trustProxy),
    ...(options.moduleStateTtlMs !== undefined ? { moduleStateTtlMs: options.moduleStateTtlMs } : {}),
    ...(options.apiKeyCacheMs !== undefined ? { apiKeyCacheMs: options.apiKeyCacheMs } : {}),
    logger,
  })
  const apollo = await startGatewayApollo({
    supergraphSdl,
    subgraphUrls: options.subgraphUrls,
    transport,
    subgraphTimeoutMs,
    caches,
    guard,
    authenticator,
    moduleStates,
    introspection,
    fieldSuggestions,
    maxBatch,
    ...(options.apqMaxBytes !== undefined ? { apqMaxBytes: options.apqMaxBytes } : {}),
    ...(options.queryPlanCacheMb !== undefined ? { queryPlanCacheMb: options.queryPlanCacheMb } : {}),
    ...(options.documentCacheMb !== undefined ? { documentCacheMb: options.documentCacheMb } : {}),
    logger,
  })
  let supergraphLoaded = true
  await caches.settle()
  const rateLimiter = new RateLimiter({
    perMinute: rateLimitPerMinute,
    logger,
    ...(caches.redis ? { redis: caches.redis } : {}),
    ...(options.rateLimitKeyPrefix ? { keyPrefix: options.rateLimitKeyPrefix } : {}),
  })
  const readiness = subgraphReadiness({
    supergraphSdl,
    subgraphUrls: options.subgraphUrls,
    transport,
    subgraphTimeoutMs,
  })
  const storage =
    options.storage ??
    createStorage(loadStorageConfig({ ...process.env, GATEWAY_SIGNING_SECRET: signingSecret }))
  let http: Awaited<ReturnType<typeof startGatewayServer>>
  try {
    http = await startGatewayServer({
      host: options.host,
      port: options.port,
      ...(options.admin ? { admin: options.admin } : {}),
      logger,
      apollo,
      authenticator,
      caches,
      guard,
      rateLimiter,
      maxBatch,
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
      ...(options.uploadMaxBytes !== undefined ? { uploadMaxBytes: options.uploadMaxBytes } : {}),
      ...(options.callerKey ? { callerKey: options.callerKey } : {}),
      trustProxy,
      graphiql,
      ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
      storage,
      signingSecret,
      readiness,
      supergraphLoaded: () => supergraphLoaded,
    })
  } catch (error) {
    await caches.close()
    await apollo.apollo.stop()
    await transport.close()
    throw error
  }
  logger.info('gateway listening', {
    url: `${http.url}/graphql`,
    admin: http.adminUrl,
    subgraphs: readiness.domains,
    mode,
    introspection,
    graphiql,
    rateLimitPerMinute,
    rateLimitStore: caches.redis ? 'redis' : 'process',
  })

  let stopping: Promise<void> | undefined
  return {
    url: http.url,
    graphqlUrl: `${http.url}/graphql`,
    adminUrl: http.adminUrl,
    cacheStats: () => caches.cache?.stats() ?? null,
    stop() {
      stopping ??= (async () => {
        supergraphLoaded = false
        await http.stop()
        await apollo.apollo.stop()
        await transport.close()
        await caches.close()
      })()
      return stopping
    },
  }
}
