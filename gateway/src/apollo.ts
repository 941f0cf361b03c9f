import { ApolloGateway, type ServiceEndpointDefinition } from '@apollo/gateway'
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server'
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled'
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache'
import { type Domain, isDomain } from '@pm/db'
import { type Logger, maskError, requestTelemetryPlugin } from '@pm/service-kit'
import type { GraphQLFormattedError, GraphQLSchema } from 'graphql'
import { DEFAULT_APQ_MAX_BYTES, persistedQueryBoundsPlugin } from './apq'
import { type Authenticator, apiKeyPlugin } from './auth'
import type { GatewayContext } from './context'
import { DEFAULT_DOCUMENT_CACHE_MB, DEFAULT_QUERY_PLAN_CACHE_MB } from './environment'
import { freshReadsPlugin, type GatewayCaches } from './gateway-caches'
import { LIMIT_CODES, type OperationGuard, operationLimitsPlugin } from './limits'
import { type ModuleStates, modulesGatePlugin } from './modules'
import { installScalarParsers } from './scalars'
import { SubgraphDataSource, type SubgraphTransport } from './subgraph-transport'

/** Apollo's query planner over the supergraph, and the Apollo Server that runs operations with it. */
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

export interface GatewayApolloOptions {
  supergraphSdl: string
  subgraphUrls: Record<Domain, string>
  transport: SubgraphTransport
  subgraphTimeoutMs: number
  caches: GatewayCaches
  guard: OperationGuard
  authenticator: Authenticator
  moduleStates: ModuleStates
  introspection: boolean
  fieldSuggestions: boolean
  maxBatch: number
  apqMaxBytes?: number
  queryPlanCacheMb?: number
  documentCacheMb?: number
  logger: Logger
}

export interface GatewayApollo {
  apollo: ApolloServer<GatewayContext>
  /** The API schema once loaded, for what is checked before Apollo runs (a batch's summed cost). */
  apiSchema(): GraphQLSchema | undefined
}

/** Builds (and starts) the query planner and Apollo Server; nothing in it phones home. */
export async function startGatewayApollo(options: GatewayApolloOptions): Promise<GatewayApollo> {
  const { logger, supergraphSdl, subgraphTimeoutMs, guard, authenticator, moduleStates } = options
  const { introspection, fieldSuggestions, maxBatch } = options
  const { cache, fetchCache, apqStore, apqRegistrations } = options.caches
  const { subgraphFetcherFor } = options.transport
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
  return { apollo, apiSchema: () => apiSchema }
}
