import cluster from 'node:cluster'
import type { IncomingMessage } from 'node:http'
import { cacheMetricFamilies, cacheMetrics } from '@pm/cache'
import { DOMAINS, type Domain } from '@pm/db'
import {
  type AdminListener,
  type Caller,
  type HttpService,
  type Logger,
  metricsRoute,
  requestId,
  sendJson,
  startHttpService,
} from '@pm/service-kit'
import { type Storage, storageDownloadHandler } from '@pm/storage'
import { fetch as undiciFetch } from 'undici'
import type { GatewayApollo } from './apollo'
import type { Authenticator } from './auth'
import { clusterMetricsRoute } from './cluster'
import type { GatewayContext } from './context'
import { withCors } from './cors'
import { DEFAULT_MAX_BODY_BYTES } from './environment'
import type { GatewayCaches } from './gateway-caches'
import { graphiqlHandler, wantsGraphiQL } from './graphiql'
import { graphqlRoute } from './graphql-http'
import type { OperationGuard } from './limits'
import { type CallerKey, clientAddress, type RateLimiter } from './rate-limit'
import { isTimeout, type SubgraphTransport } from './subgraph-transport'
import { DEFAULT_UPLOAD_MAX_BYTES, uploadsRoute } from './uploads'

/** The prefix Apollo Server gives APQ keys in persistedQueries.cache (APQ_CACHE_PREFIX, not exported). */
const APOLLO_APQ_PREFIX = 'apq:'

type SubgraphReadiness = { ready: boolean; status?: number; error?: string }

/** Whether each subgraph of the supergraph answers on its API port; probes at the same moment share one round. */
export function subgraphReadiness(options: {
  supergraphSdl: string
  subgraphUrls: Record<Domain, string>
  transport: SubgraphTransport
  subgraphTimeoutMs: number
}): { domains: Domain[]; check(): Promise<Record<string, SubgraphReadiness>> } {
  const { subgraphTimeoutMs } = options
  const { agentFor } = options.transport
  const subgraphDomains = DOMAINS.filter((d) => options.supergraphSdl.includes(`@join__graph(name: "${d}"`))
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

  return { domains: subgraphDomains, check: checkSubgraphs }
}

export interface GatewayServerOptions {
  host: string
  port: number
  admin?: AdminListener
  logger: Logger
  apollo: GatewayApollo
  authenticator: Authenticator
  caches: GatewayCaches
  guard: OperationGuard
  rateLimiter: RateLimiter
  maxBatch: number
  maxBodyBytes?: number
  uploadMaxBytes?: number
  callerKey?: CallerKey
  trustProxy: boolean
  graphiql: boolean
  corsOrigins?: readonly string[]
  storage: Storage
  signingSecret: string
  readiness: ReturnType<typeof subgraphReadiness>
  /** Whether the supergraph is loaded (false once the gateway stops). */
  supergraphLoaded(): boolean
}

/**
 * The gateway's HTTP side: /graphql (GraphQL over HTTP, GraphiQL), /uploads and /files/* on the API port,
 * /ready and /metrics on the admin listener, CORS per route.
 */
export async function startGatewayServer(options: GatewayServerOptions): Promise<HttpService> {
  const { logger, guard, rateLimiter, maxBatch, trustProxy, storage, authenticator } = options
  const { apollo, apiSchema } = options.apollo
  const { cache, apqStore } = options.caches
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
    checkBatch: async (operations) => {
      const schema = apiSchema()
      return schema
        ? guard.checkBatchCost(schema, operations, async (hash) =>
            apqStore?.get(`${APOLLO_APQ_PREFIX}${hash}`),
          )
        : undefined
    },
    wantsPage: wantsGraphiQL,
    ...(options.graphiql ? { page: graphiqlHandler('/graphql') } : {}),
    serviceSecret: options.signingSecret,
  })
  const cors = options.corsOrigins?.length ? { origins: new Set(options.corsOrigins) } : undefined
  const checkSubgraphs = options.readiness.check
  return startHttpService({
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
        const ok = options.supergraphLoaded()
        sendJson(res, ok ? 200 : 503, {
          status: ok ? 'ready' : 'unavailable',
          checks: { supergraph: ok },
          subgraphs,
        })
      },
    },
  })
}
