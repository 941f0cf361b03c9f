// First: later loads of @apollo/federation-internals get plain exports (see the file).
import './federation-internals'
import cluster from 'node:cluster'
import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import {
  ApolloGateway,
  type GraphQLDataSourceProcessOptions,
  RemoteGraphQLDataSource,
  type ServiceEndpointDefinition,
} from '@apollo/gateway'
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from '@apollo/server'
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled'
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache'
import { type CacheStats, cacheMetricFamilies, cacheMetrics, keyValueCache, TwoLevelCache } from '@pm/cache'
import { DOMAINS, type Domain, isDomain } from '@pm/db'
import {
  type AdminListener,
  ANONYMOUS,
  CALLER_HEADER,
  type Caller,
  CLIENT_ADDRESS_HEADER,
  CLIENT_USER_AGENT_HEADER,
  callerSignature,
  createRedis,
  ErrorCode,
  encodeCaller,
  type HttpService,
  type Logger,
  maskError,
  metricsRoute,
  requestId,
  requestTelemetryPlugin,
  requireSecret,
  SecretConfigError,
  SIGNATURE_HEADER,
  SIGNING_SECRET_ENV,
  sendJson,
  startHttpService,
  TOKEN_SECRET_ENV,
} from '@pm/service-kit'
import { createStorage, loadStorageConfig, type Storage, storageDownloadHandler } from '@pm/storage'
import { metricsEnabled, outgoing, subgraphFetchDuration } from '@pm/telemetry'
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema, Kind } from 'graphql'
import type { Redis } from 'ioredis'
import { Agent, type Dispatcher, fetch as undiciFetch, request as undiciRequest } from 'undici'
import {
  DEFAULT_APQ_MAX_BYTES,
  DEFAULT_APQ_REGISTRATIONS_PER_MINUTE,
  persistedQueryBoundsPlugin,
} from './apq'
import { API_KEY_CACHE_MS, Authenticator, apiKeyPlugin, SessionChecks } from './auth'
import { clusterMetricsRoute } from './cluster'
import { withCors } from './cors'
import {
  DEFAULT_DOCUMENT_CACHE_MB,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_SOCKETS_PER_SUBGRAPH,
  DEFAULT_QUERY_PLAN_CACHE_MB,
  DEFAULT_SUBGRAPH_TIMEOUT_MS,
  GatewayConfigError,
  type GatewaySecurity,
} from './environment'
import { DEFAULT_CACHE_POLICY, type GatewayCacheOptions, SubgraphFetchCache } from './fetch-cache'
import { graphiqlHandler, wantsGraphiQL } from './graphiql'
import { graphqlRoute } from './graphql-http'
import {
  DEFAULT_OPERATION_LIMITS,
  LIMIT_CODES,
  OperationGuard,
  type OperationLimits,
  operationLimitsPlugin,
} from './limits'
import { MODULE_STATE_TTL_MS, ModuleStates, modulesGatePlugin } from './modules'
import { type CallerKey, clientAddress, RateLimiter } from './rate-limit'
import { installScalarParsers } from './scalars'
import { SUPERGRAPH_FILE } from './supergraph-file'
import { DEFAULT_UPLOAD_MAX_BYTES, uploadsRoute } from './uploads'

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

export interface GatewayContext extends BaseContext {
  requestId: string
  logger: Logger
  /** Who is asking, as authenticated from the request; sent signed to every subgraph. */
  caller: Caller
  /** An API key limited to persisted operations: the SHA-256 of each document it may run. */
  allowedOperations?: ReadonlySet<string>
  /** For sign-in bookkeeping in core (login attempts, sessions). */
  clientAddress: string
  userAgent?: string
}

/** Registered documents are kept a day after their last registration. */
const APQ_TTL_SECONDS = 86_400
/** The prefix Apollo Server gives APQ keys in persistedQueries.cache (APQ_CACHE_PREFIX, not exported). */
const APOLLO_APQ_PREFIX = 'apq:'

type Fetcher = NonNullable<ConstructorParameters<typeof RemoteGraphQLDataSource>[0]>['fetcher'] & {}

/** The error a caller sees for a subgraph that cannot answer: names the service, never its address. */
export function serviceUnavailable(serviceName: string, detail?: string): GraphQLError {
  return new GraphQLError(`The ${serviceName} service is unavailable${detail ? ` (${detail})` : ''}`, {
    extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, serviceName },
  })
}

/** What RemoteGraphQLDataSource reads of a fetch Response (status, a header, the body once), over request(). */
function fetcherResponse(
  url: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
): Awaited<ReturnType<Fetcher>> {
  const header = (name: string) => {
    const value = headers[name.toLowerCase()]
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value
  }
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: '',
    url,
    redirected: false,
    headers: { get: header, has: (name: string) => header(name) !== null },
    text: async () => text,
    json: async () => JSON.parse(text),
    arrayBuffer: async () => new TextEncoder().encode(text).buffer,
  } as unknown as Awaited<ReturnType<Fetcher>>
}

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name
  return name === 'TimeoutError' || name === 'HeadersTimeoutError' || name === 'BodyTimeoutError'
}

type IncomingFetch = Extract<
  GraphQLDataSourceProcessOptions<GatewayContext>,
  { incomingRequestContext: unknown }
>

function isMutation(options: IncomingFetch): boolean {
  const operation = options.document?.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)
  if (operation?.kind === Kind.OPERATION_DEFINITION) return operation.operation === 'mutation'
  return /^\s*mutation\b/.test(options.request.query ?? '')
}

/** One subgraph over a bounded keep-alive pool; transport failures become SERVICE_UNAVAILABLE errors. */
class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly serviceName: Domain
  readonly timeoutMs: number
  readonly log: Logger

  constructor(
    serviceName: Domain,
    url: string,
    fetcher: Fetcher,
    timeoutMs: number,
    log: Logger,
    private readonly fetchCache?: SubgraphFetchCache,
  ) {
    // Cache-Control from subgraphs is not read: the gateway's own fetch cache decides what is kept.
    super({ url, fetcher, honorSubgraphCacheControlHeader: false })
    this.serviceName = serviceName
    this.timeoutMs = timeoutMs
    this.log = log
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const headers = request.http?.headers
    if (!headers) return
    // Lets one request be followed through the gateway's and the subgraphs' logs.
    if (context?.requestId) headers.set('x-request-id', context.requestId)
    // The caller, stamped now; the fetcher signs it together with the body it sends (signedFetcher).
    headers.set(CALLER_HEADER, encodeCaller(context?.caller ?? ANONYMOUS))
    if (context?.clientAddress) headers.set(CLIENT_ADDRESS_HEADER, context.clientAddress)
    if (context?.userAgent) headers.set(CLIENT_USER_AGENT_HEADER, context.userAgent.slice(0, 255))
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const cache = this.fetchCache
    if (!cache || !('incomingRequestContext' in options)) return this.send(options)
    if (isMutation(options)) {
      try {
        return await this.send(options)
      } finally {
        // Before the mutation's answer goes back: no later read, here or in another gateway, sees the old data.
        // (Whatever this gateway's TTLs: another one sharing the cache may keep what this one does not.)
        await cache.invalidate(this.serviceName)
        // A media write tells catalog about the product's images (its completeness): catalog's answers change too.
        if (this.serviceName === 'media') await cache.invalidate('catalog')
      }
    }
    if (!cache.cacheable(this.serviceName)) return this.send(options)
    return cache.read(this.serviceName, options.request, options.context?.caller ?? ANONYMOUS, (variables) =>
      this.send({ ...options, request: { ...options.request, ...(variables ? { variables } : {}) } }),
    )
  }

  private async send(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    try {
      return await super.process(options)
    } catch (error) {
      if (error instanceof GraphQLError && error.extensions.serviceName === this.serviceName) throw error
      const log = options.context?.logger ?? this.log
      const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause
      // The cause (address, errno) goes to our logs only: callers get the service's name.
      log.warn('subgraph request failed', {
        serviceName: this.serviceName,
        error: (error as Error)?.message ?? String(error),
        cause: cause?.code ?? cause?.message,
      })
      throw serviceUnavailable(
        this.serviceName,
        isTimeout(error) || isTimeout(cause) ? `no answer within ${this.timeoutMs} ms` : undefined,
      )
    }
  }

  /** A non-2xx answer: keep a deliberate GraphQL error the subgraph sent, else report the service down. */
  override async errorFromResponse(response: Awaited<ReturnType<Fetcher>>) {
    const text = await response.text().catch(() => '')
    let first: { message?: unknown; extensions?: { code?: unknown } } | undefined
    try {
      first = JSON.parse(text)?.errors?.[0]
    } catch {
      first = undefined
    }
    const code = first?.extensions?.code
    if (
      typeof first?.message === 'string' &&
      typeof code === 'string' &&
      code !== ErrorCode.INTERNAL_SERVER_ERROR
    ) {
      return new GraphQLError(first.message, { extensions: { code, serviceName: this.serviceName } })
    }
    this.log.warn('subgraph answered an HTTP error', {
      serviceName: this.serviceName,
      status: response.status,
    })
    return serviceUnavailable(this.serviceName, `it answered HTTP ${response.status}`)
  }
}

function apolloLogger(logger: Logger) {
  return {
    debug: (message?: unknown) => logger.debug(String(message)),
    info: (message?: unknown) => logger.info(String(message)),
    warn: (message?: unknown) => logger.warn(String(message)),
    error: (message?: unknown) => logger.error(String(message)),
  }
}

/** "Did you mean …" lists the schema's names: without introspection, errors must not rebuild the schema. */
function withoutSuggestions(error: GraphQLFormattedError): GraphQLFormattedError {
  const message = error.message.replace(/ ?Did you mean(.+?)\?$/, '')
  return message === error.message ? error : { ...error, message }
}

/** Echoes the request id so a caller can quote it when reporting a problem. */
const requestIdHeader: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart({ contextValue }) {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('x-request-id', contextValue.requestId)
      },
    }
  },
}

/**
 * Before an operation's first fetch, the generations Redis holds (one HGETALL): an L1 hit is then never older
 * than a mutation that returned before the operation started, whichever gateway ran it. (Mutations too: what
 * they select of other subgraphs after writing is read through the cache.)
 */
function freshReadsPlugin(cache: TwoLevelCache): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation() {
          await cache.syncGenerations()
        },
      }
    },
  }
}

/** Resolves once the client is ready, has failed to connect, or after `ms`: whichever comes first. */
function redisSettled(redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      redis.off('ready', done)
      redis.off('error', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    redis.once('ready', done)
    redis.once('error', done)
  })
}

type SubgraphReadiness = { ready: boolean; status?: number; error?: string }

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

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { logger } = options
  const signingSecret = secret(options.signingSecret, SIGNING_SECRET_ENV)
  const tokenSecret = secret(options.tokenSecret, TOKEN_SECRET_ENV)
  const subgraphTimeoutMs = options.subgraphTimeoutMs ?? DEFAULT_SUBGRAPH_TIMEOUT_MS
  const maxSocketsPerSubgraph = options.maxSocketsPerSubgraph ?? DEFAULT_MAX_SOCKETS_PER_SUBGRAPH
  const supergraphSdl = options.supergraphSdl ?? readFileSync(SUPERGRAPH_FILE, 'utf8')
  const mode = options.mode ?? 'development'
  const introspection = options.introspection ?? mode === 'development'
  const graphiqlEnabled = options.graphiql ?? mode === 'development'
  const fieldSuggestions = options.fieldSuggestions ?? introspection
  const guard = new OperationGuard({ ...DEFAULT_OPERATION_LIMITS, ...options.limits }, introspection)
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH
  const rateLimitPerMinute = options.rateLimitPerMinute ?? 0

  const agents = new Map<Domain, Agent>()
  const agentFor = (domain: Domain) => {
    let agent = agents.get(domain)
    if (!agent) {
      agent = new Agent({
        connections: maxSocketsPerSubgraph,
        // Below the subgraphs' 65 s server keep-alive, so we never reuse a socket they are closing.
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 60_000,
        connectTimeout: Math.min(subgraphTimeoutMs, 5_000),
        headersTimeout: subgraphTimeoutMs,
        bodyTimeout: subgraphTimeoutMs,
      })
      agents.set(domain, agent)
    }
    return agent
  }
  const fetcherFor = (domain: Domain): Fetcher => {
    const dispatcher = agentFor(domain)
    return (url, init) => {
      const timeout = AbortSignal.timeout(subgraphTimeoutMs)
      const signal = init?.signal ? AbortSignal.any([init.signal as AbortSignal, timeout]) : timeout
      return undiciFetch(url, { ...init, dispatcher, signal }) as unknown as ReturnType<Fetcher>
    }
  }

  // Subgraph fetches go through undici's request(), not fetch(): no WHATWG streams or Request objects per call.
  // The caller stamped by willSendRequest is signed here, bound to this subgraph and the exact body sent.
  const subgraphFetcherFor = (domain: Domain): Fetcher => {
    const dispatcher = agentFor(domain)
    return async (url, init) => {
      const payload = (init?.body as string | undefined) ?? ''
      const sent = { ...(init?.headers as Record<string, string> | undefined) }
      const caller = sent[CALLER_HEADER] ?? encodeCaller(ANONYMOUS)
      sent[CALLER_HEADER] = caller
      sent[SIGNATURE_HEADER] = callerSignature(caller, signingSecret, { target: domain, payload })
      const started = performance.now()
      let outcome = 'failed'
      try {
        // Timed (and traced, its trace context sent along) to the answer's last byte.
        const { statusCode, headers, text } = await outgoing(
          `subgraph ${domain}`,
          { 'pm.subgraph': domain },
          sent,
          async () => {
            const answer = await undiciRequest(url, {
              method: (init?.method ?? 'POST') as Dispatcher.HttpMethod,
              headers: sent,
              body: payload,
              dispatcher,
              signal: AbortSignal.timeout(subgraphTimeoutMs),
            })
            return { statusCode: answer.statusCode, headers: answer.headers, text: await answer.body.text() }
          },
          (answer) => answer.statusCode >= 400,
        )
        outcome = statusCode < 400 ? 'ok' : 'http_error'
        return fetcherResponse(url, statusCode, headers, text)
      } finally {
        if (metricsEnabled())
          subgraphFetchDuration.observe({ subgraph: domain, outcome }, (performance.now() - started) / 1000)
      }
    }
  }

  // API keys carry their own per-minute limit, so the limiter exists even when the gateway-wide one is 0.
  const redis = options.redisUrl ? createRedis(options.redisUrl, logger, 'pm-gateway') : undefined
  const cacheOptions = options.cache === false ? undefined : (options.cache ?? {})
  const cache = cacheOptions
    ? new TwoLevelCache({
        name: cacheOptions.name ?? 'gateway',
        ...(redis ? { redis } : {}),
        ...(cacheOptions.l1MaxBytes !== undefined ? { l1MaxBytes: cacheOptions.l1MaxBytes } : {}),
        ...(cacheOptions.l1TtlMs !== undefined ? { l1TtlMs: cacheOptions.l1TtlMs } : {}),
        ...(cacheOptions.degradedL1TtlMs !== undefined
          ? { degradedL1TtlMs: cacheOptions.degradedL1TtlMs }
          : {}),
        logger,
      })
    : undefined
  const fetchCache = cache
    ? new SubgraphFetchCache(cache, cacheOptions?.policy ?? DEFAULT_CACHE_POLICY)
    : undefined
  // Core's answers about access tokens' sessions (whatever GATEWAY_CACHE says), shared through Redis. A
  // graph without core has no sessions to ask about: tokens are then judged by their signature alone.
  const sessionCache = supergraphSdl.includes('@join__graph(name: "core"')
    ? new TwoLevelCache({
        name: `${cacheOptions?.name ?? 'gateway'}:sessions`,
        ...(redis ? { redis } : {}),
        l1MaxBytes: 16 * 1024 * 1024,
        l1TtlMs: 15 * 60_000,
        logger,
      })
    : undefined

  const apqStore = cache ? keyValueCache(cache, 'apq', APQ_TTL_SECONDS) : undefined
  // Callers registering APQ documents, per minute (shared through Redis like the rate limit).
  const apqRegistrations = new RateLimiter({
    perMinute: options.apqRegistrationsPerMinute ?? DEFAULT_APQ_REGISTRATIONS_PER_MINUTE,
    logger,
    ...(redis ? { redis } : {}),
    keyPrefix: `${options.rateLimitKeyPrefix ?? 'pm:gateway:rate:'}apq:`,
  })

  // Without this, @apollo/gateway exports usage data to Apollo: nothing here phones home.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true'
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger: apolloLogger(logger),
    // Bounded: the least recently used plans go first.
    experimental_approximateQueryPlanStoreMiB: options.queryPlanCacheMb ?? DEFAULT_QUERY_PLAN_CACHE_MB,
    buildService({ name }: ServiceEndpointDefinition) {
      if (!isDomain(name)) throw new Error(`the supergraph names an unknown subgraph "${name}"`)
      const url = options.subgraphUrls[name]
      if (!url) throw new Error(`no URL for the ${name} subgraph: set SUBGRAPH_${name.toUpperCase()}_URL`)
      return new SubgraphDataSource(
        name,
        url,
        subgraphFetcherFor(name),
        subgraphTimeoutMs,
        logger,
        fetchCache,
      )
    },
  })

  // The API schema, for what is checked before Apollo runs (a batch's summed cost).
  let apiSchema: GraphQLSchema | undefined
  gateway.onSchemaLoadOrUpdate(({ apiSchema: loaded }) => {
    installScalarParsers(loaded)
    apiSchema = loaded
  })

  // The gateway asks core itself (signed as SERVICE) for module states and API keys, over core's pool.
  const coreFetch = fetcherFor('core') as unknown as typeof fetch
  const moduleStates = new ModuleStates({
    coreUrl: options.subgraphUrls.core,
    signingSecret,
    logger,
    ttlMs: options.moduleStateTtlMs ?? MODULE_STATE_TTL_MS,
    fetch: coreFetch,
  })
  const trustProxy = options.trustProxy ?? false
  const authenticator = new Authenticator({
    tokenSecret,
    signingSecret,
    coreUrl: options.subgraphUrls.core,
    clientAddress: (req) => clientAddress(req, trustProxy),
    logger,
    fetch: coreFetch,
    apiKeyCacheMs: options.apiKeyCacheMs ?? API_KEY_CACHE_MS,
    ...(sessionCache
      ? {
          sessions: new SessionChecks({
            coreUrl: options.subgraphUrls.core,
            signingSecret,
            cache: sessionCache,
            logger,
            fetch: coreFetch,
          }),
        }
      : {}),
  })

  const telemetry = requestTelemetryPlugin<GatewayContext>('gateway')
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: maxBatch > 0,
    // Parsed and validated documents, by hash of their text: bounded like the plans.
    documentStore: new InMemoryLRUCache({
      maxSize: (options.documentCacheMb ?? DEFAULT_DOCUMENT_CACHE_MB) * 1_048_576,
    }),
    // APQ documents in the same two-level cache: a hash registered through one gateway works on all.
    ...(apqStore ? { persistedQueries: { cache: apqStore } } : {}),
    hideSchemaDetailsFromClientErrors: !fieldSuggestions,
    // Shutdown is ours (onShutdownSignal → stop()): Apollo's own handler would re-raise the signal mid-drain.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => {
      const code = formatted.extensions?.code
      if (typeof code === 'string' && LIMIT_CODES.has(code)) {
        const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {}
        return { ...formatted, extensions }
      }
      // Apollo's own request refusals without a code (an APQ hash that does not match its query) are the
      // caller's mistake, not ours: BAD_REQUEST with their message.
      const own = error as { extensions?: { code?: unknown; http?: { status?: number } } } | null
      const status = own?.extensions?.http?.status ?? 0
      if (own?.extensions?.code === undefined && status >= 400 && status < 500) {
        return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } }
      }
      const masked = maskError(formatted, error, (cause) =>
        logger.error('unexpected error', { error: cause }),
      )
      return fieldSuggestions ? masked : withoutSuggestions(masked)
    },
    // Nothing phones home: no Apollo Studio landing page, usage/schema reporting or trace collection.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      // Cache hints would wrap nothing here (the gateway runs query plans, not resolvers) but still cost.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      requestIdHeader,
      operationLimitsPlugin<GatewayContext>(guard),
      apiKeyPlugin<GatewayContext>(authenticator),
      persistedQueryBoundsPlugin<GatewayContext>({
        maxBytes: options.apqMaxBytes ?? DEFAULT_APQ_MAX_BYTES,
        registrations: apqRegistrations,
        logger,
      }),
      modulesGatePlugin<GatewayContext>(moduleStates),
      ...(cache ? [freshReadsPlugin(cache)] : []),
      ...(telemetry ? [telemetry] : []),
    ],
  })
  await apollo.start()
  let supergraphLoaded = true
  // Counting and caching start in Redis when it answers within a second; until then (or if it is down),
  // in process.
  if (redis) await redisSettled(redis, 1_000)
  if (cache) await cache.ready(1_000)
  await sessionCache?.ready(1_000)
  const rateLimiter = new RateLimiter({
    perMinute: rateLimitPerMinute,
    logger,
    ...(redis ? { redis } : {}),
    ...(options.rateLimitKeyPrefix ? { keyPrefix: options.rateLimitKeyPrefix } : {}),
  })

  const context = async (
    req: IncomingMessage,
    auth: { caller: Caller; allowedOperations?: ReadonlySet<string> },
  ): Promise<GatewayContext> => {
    const id = requestId(req)
    const userAgent = req.headers['user-agent']
    return {
      requestId: id,
      // The request id (and trace id) are on every line written while serving the request.
      logger,
      caller: auth.caller,
      ...(auth.allowedOperations ? { allowedOperations: auth.allowedOperations } : {}),
      clientAddress: clientAddress(req, trustProxy),
      ...(userAgent ? { userAgent } : {}),
    }
  }
  const graphql = graphqlRoute({
    apollo,
    authenticate: (req) => authenticator.authenticate(req),
    context,
    guard,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    maxBatch,
    rateLimiter,
    ...(options.callerKey ? { caller: options.callerKey } : {}),
    checkBatch: async (operations) =>
      apiSchema
        ? guard.checkBatchCost(apiSchema, operations, async (hash) =>
            apqStore?.get(`${APOLLO_APQ_PREFIX}${hash}`),
          )
        : undefined,
    wantsPage: wantsGraphiQL,
    ...(graphiqlEnabled ? { page: graphiqlHandler('/graphql') } : {}),
    serviceSecret: signingSecret,
  })

  const subgraphDomains = DOMAINS.filter((d) => supergraphSdl.includes(`@join__graph(name: "${d}"`))
  const checkSubgraph = async (domain: Domain): Promise<SubgraphReadiness> => {
    try {
      // Its API port's /health (its /ready is on its own admin listener, which may be out of reach).
      const response = await undiciFetch(new URL('/health', options.subgraphUrls[domain]), {
        dispatcher: agentFor(domain),
        signal: AbortSignal.timeout(Math.min(subgraphTimeoutMs, 2_000)),
      })
      await response.body?.cancel()
      return { ready: response.ok, status: response.status }
    } catch (error) {
      return { ready: false, error: isTimeout(error) ? 'timeout' : 'unreachable' }
    }
  }
  // Probes from several places at once share one round of subgraph checks.
  let inFlight: Promise<Record<string, SubgraphReadiness>> | undefined
  const checkSubgraphs = () => {
    inFlight ??= Promise.all(subgraphDomains.map(async (d) => [d, await checkSubgraph(d)] as const))
      .then((entries) => Object.fromEntries(entries))
      .finally(() => {
        inFlight = undefined
      })
    return inFlight
  }

  const cors = options.corsOrigins?.length ? { origins: new Set(options.corsOrigins) } : undefined
  const storage =
    options.storage ??
    createStorage(loadStorageConfig({ ...process.env, GATEWAY_SIGNING_SECRET: signingSecret }))
  let http: HttpService
  try {
    http = await startHttpService({
      name: 'gateway',
      host: options.host,
      port: options.port,
      ...(options.admin ? { admin: options.admin } : {}),
      logger,
      // Route by route, what callers reach; /health (liveness, for load balancers) is added to both.
      routes: {
        '/graphql': withCors(graphql, cors, ['GET', 'POST']),
        '/uploads': withCors(
          uploadsRoute({
            storage,
            authenticate: (req) => authenticator.authenticate(req),
            maxBytes: options.uploadMaxBytes ?? DEFAULT_UPLOAD_MAX_BYTES,
            rateLimiter,
            ...(options.callerKey ? { caller: options.callerKey } : {}),
          }),
          cors,
          ['POST'],
        ),
        '/files/*': withCors(storageDownloadHandler(storage), cors, ['GET', 'HEAD']),
      },
      // Operational endpoints, on the admin listener only.
      adminRoutes: {
        // The process's metrics (requests, subgraph fetches, Node), then the cache's hits, misses and sizes per
        // subgraph namespace, in Prometheus' text format; a cluster worker answers for every worker.
        '/metrics': cluster.isWorker
          ? clusterMetricsRoute(() => (cache ? cacheMetricFamilies([cache.stats()]) : []), logger)
          : metricsRoute(() => (cache ? cacheMetrics([cache.stats()]) : '')),
        // Ready = the supergraph is loaded. A subgraph being down does not make the gateway unready: it still
        // answers every operation that avoids that subgraph (and partial data for those that touch it), and
        // a load balancer pulling every gateway out would turn one subgraph's outage into a total one.
        // Whether each subgraph answers on its API port is listed for operators.
        '/ready': async (_req, res) => {
          const subgraphs = await checkSubgraphs()
          const ok = supergraphLoaded
          sendJson(res, ok ? 200 : 503, {
            status: ok ? 'ready' : 'unavailable',
            checks: { supergraph: ok },
            subgraphs,
          })
        },
      },
    })
  } catch (error) {
    await cache?.close()
    await sessionCache?.close()
    redis?.disconnect()
    await apollo.stop()
    throw error
  }
  logger.info('gateway listening', {
    url: `${http.url}/graphql`,
    admin: http.adminUrl,
    subgraphs: subgraphDomains,
    mode,
    introspection,
    graphiql: graphiqlEnabled,
    rateLimitPerMinute,
    rateLimitStore: redis ? 'redis' : 'process',
  })

  let stopping: Promise<void> | undefined
  return {
    url: http.url,
    graphqlUrl: `${http.url}/graphql`,
    adminUrl: http.adminUrl,
    cacheStats: () => cache?.stats() ?? null,
    stop() {
      stopping ??= (async () => {
        supergraphLoaded = false
        await http.stop()
        await apollo.stop()
        await Promise.all([...agents.values()].map((agent) => agent.close()))
        await cache?.close()
        await sessionCache?.close()
        if (redis) await redis.quit().catch(() => redis.disconnect())
      })()
      return stopping
    },
  }
}
