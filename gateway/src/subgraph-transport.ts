/**
 * How the gateway reaches its subgraphs: one bounded keep-alive pool per subgraph, every request signed with
 * the caller's identity and timed, transport failures turned into SERVICE_UNAVAILABLE errors.
 */
import { type GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway'
import { type Domain, isDomain } from '@pm/db'
import {
  ANONYMOUS,
  CALLER_HEADER,
  CHANGED_ENTITIES_EXTENSION,
  CLIENT_ADDRESS_HEADER,
  CLIENT_USER_AGENT_HEADER,
  callerSignature,
  ErrorCode,
  encodeCaller,
  type Logger,
  SIGNATURE_HEADER,
} from '@pm/service-kit'
import { metricsEnabled, outgoing, subgraphFetchDuration } from '@pm/telemetry'
import { GraphQLError, Kind } from 'graphql'
import { Agent, type Dispatcher, fetch as undiciFetch, request as undiciRequest } from 'undici'
import type { GatewayContext } from './context'
import type { SubgraphFetchCache } from './fetch-cache'

export type Fetcher = NonNullable<ConstructorParameters<typeof RemoteGraphQLDataSource>[0]>['fetcher'] & {}

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

export function isTimeout(error: unknown): boolean {
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
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
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
      let response: Awaited<ReturnType<SubgraphDataSource['send']>> | undefined
      try {
        response = await this.send(options)
        return response
      } finally {
        // Before the mutation's answer goes back: no later read, here or in another gateway, sees the old data.
        // (Whatever this gateway's TTLs: another one sharing the cache may keep what this one does not.)
        await this.invalidateAfter(cache, response)
      }
    }
    if (!cache.cacheable(this.serviceName)) return this.send(options)
    return cache.read(this.serviceName, options.request, options.context?.caller ?? ANONYMOUS, (variables) =>
      this.send({ ...options, request: { ...options.request, ...(variables ? { variables } : {}) } }),
    )
  }

  /**
   * After a mutation: each domain it changed is invalidated whole, unless the subgraph declared exactly which
   * entities changed there (CHANGED_ENTITIES_EXTENSION, only believed from an answer without errors). The
   * subgraph's own domain always counts as changed; a media write also tells catalog about the product's images
   * (its completeness), so catalog's does too.
   */
  private async invalidateAfter(
    cache: SubgraphFetchCache,
    response: Awaited<ReturnType<SubgraphDataSource['send']>> | undefined,
  ) {
    const extensions = response?.extensions as Record<string, unknown> | undefined
    const declared = extensions?.[CHANGED_ENTITIES_EXTENSION] as Record<string, unknown> | undefined
    if (declared) delete extensions![CHANGED_ENTITIES_EXTENSION]
    const trusted = response && !response.errors?.length && declared ? declared : {}
    const domains = new Set<Domain>([this.serviceName])
    if (this.serviceName === 'media') domains.add('catalog')
    for (const domain of Object.keys(trusted)) if (isDomain(domain)) domains.add(domain)
    for (const domain of domains) {
      const tags = trusted[domain]
      if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) await cache.invalidate(domain)
      // An empty list: the subgraph says nothing of this domain changed.
      else if (tags.length > 0) await cache.invalidateEntities(domain, tags as string[])
    }
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

export interface SubgraphTransportOptions {
  /** Per subgraph request, connection to last byte of the answer. */
  timeoutMs: number
  /** Upper bound of open keep-alive sockets to each subgraph. */
  maxSocketsPerSubgraph: number
  /** Signs the caller identity sent with every subgraph request. */
  signingSecret: string
}

export interface SubgraphTransport {
  /** The subgraph's connection pool (for the gateway's own requests: readiness, core's answers). */
  agentFor(domain: Domain): Agent
  /** A plain fetch over the subgraph's pool, bounded by the timeout. */
  fetcherFor(domain: Domain): Fetcher
  /** The fetcher of the subgraph's data source: signed, timed and traced. */
  subgraphFetcherFor(domain: Domain): Fetcher
  close(): Promise<void>
}

export function createSubgraphTransport(options: SubgraphTransportOptions): SubgraphTransport {
  const { signingSecret } = options
  const subgraphTimeoutMs = options.timeoutMs
  const maxSocketsPerSubgraph = options.maxSocketsPerSubgraph
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

  return {
    agentFor,
    fetcherFor,
    subgraphFetcherFor,
    close: async () => {
      await Promise.all([...agents.values()].map((agent) => agent.close()))
    },
  }
}
