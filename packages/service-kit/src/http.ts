import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server'
import { inRequest, METRICS_CONTENT_TYPE, metricsEnabled, metricsText } from '@pm/telemetry'
import type { Logger } from './logger'

export const MAX_BODY_BYTES = 1_048_576

/** Past the limit, the rest of a body is read and dropped up to this much, so the client gets to read the 413. */
const DRAIN_BYTES = 8 * 1_048_576

export type Body =
  | { kind: 'complete'; text: string }
  | { kind: 'tooLarge'; drained: boolean }
  | { kind: 'aborted' }

/** Reads a request body up to `limit` bytes; beyond it, drains (bounded) so the refusal can be read. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Body> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    if (declared > limit + DRAIN_BYTES) return resolve({ kind: 'tooLarge', drained: false })
    const chunks: Buffer[] = []
    let size = 0
    let ended = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (ended) return
      if (size > limit + DRAIN_BYTES) {
        ended = true
        resolve({ kind: 'tooLarge', drained: false })
      } else if (size > limit) chunks.length = 0
      else chunks.push(chunk)
    })
    req.on('end', () => {
      ended = true
      resolve(
        size > limit
          ? { kind: 'tooLarge', drained: true }
          : { kind: 'complete', text: Buffer.concat(chunks).toString('utf8') },
      )
    })
    req.on('close', () => {
      if (!ended) resolve({ kind: 'aborted' })
    })
    req.on('error', reject)
  })
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const payload = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
  res.end(payload)
}

/** A GraphQL-shaped error answer sent without Apollo (body limits, refused identities). */
export function sendGraphQLError(
  res: ServerResponse,
  status: number,
  message: string,
  code: string,
  headers: Record<string, string> = {},
) {
  sendJson(res, status, { errors: [{ message, extensions: { code } }] }, headers)
}

const graphqlError = sendGraphQLError

const requestIds = new WeakMap<IncomingMessage, string>()

/** The request's id: the caller's x-request-id when well-formed, else a new one; the same for the whole request. */
export function requestId(req: IncomingMessage): string {
  let id = requestIds.get(req)
  if (id === undefined) {
    const given = req.headers['x-request-id']
    id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID()
    requestIds.set(req, id)
  }
  return id
}

/** Runs an already-read request through Apollo Server and streams its answer back. */
export async function executeApollo<C extends BaseContext>(
  apollo: ApolloServer<C>,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: unknown,
  context: () => Promise<C>,
) {
  const headers = new HeaderMap()
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value)
  }
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
    context,
  })
  for (const [key, value] of response.headers) res.setHeader(key, value)
  res.statusCode = response.status ?? 200
  if (response.body.kind === 'complete') {
    res.end(response.body.string)
    return
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk)
  res.end()
}

/** Why a request is refused before Apollo sees it. */
export interface Refusal {
  status: number
  message: string
  code: string
}

export interface ApolloHandlerOptions {
  maxBodyBytes?: number
  /**
   * Decides on the request once its payload is read (the POST body as received, or the GET query string),
   * before anything of it is parsed: a Refusal is sent as is.
   */
  admit?: (req: IncomingMessage, url: URL, payload: string) => Refusal | undefined
}

/** Hands a node:http request to Apollo Server (POST and GET), streaming its answer back. */
export function apolloHandler<C extends BaseContext>(
  apollo: ApolloServer<C>,
  context: (req: IncomingMessage) => Promise<C>,
  options: ApolloHandlerOptions = {},
) {
  const limit = options.maxBodyBytes ?? MAX_BODY_BYTES
  return async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    let body: unknown
    if (req.method !== 'POST') {
      const refusal = options.admit?.(req, url, url.search)
      if (refusal) return graphqlError(res, refusal.status, refusal.message, refusal.code)
    }
    if (req.method === 'POST') {
      const read = await readBody(req, limit)
      if (read.kind === 'aborted') return
      if (read.kind === 'tooLarge') {
        if (!read.drained) res.on('finish', () => req.socket.destroy())
        return sendJson(
          res,
          413,
          {
            errors: [
              { message: `request body exceeds ${limit} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } },
            ],
          },
          { connection: 'close' },
        )
      }
      const refusal = options.admit?.(req, url, read.text)
      if (refusal) return graphqlError(res, refusal.status, refusal.message, refusal.code)
      if (!(req.headers['content-type'] ?? '').includes('application/json')) {
        return graphqlError(res, 415, 'send the operation as application/json', 'BAD_REQUEST')
      }
      try {
        body = read.text ? JSON.parse(read.text) : {}
      } catch {
        return graphqlError(res, 400, 'the request body is not valid JSON', 'BAD_REQUEST')
      }
    }
    await executeApollo(apollo, req, res, url, body, () => context(req))
  }
}

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void

export interface HttpService {
  server: Server
  port: number
  url: string
  /** The operational listener (/health, /ready, /metrics …): loopback unless configured otherwise. */
  adminServer: Server
  adminPort: number
  adminUrl: string
  /** Stops accepting, lets in-flight requests finish (bounded), then closes what is left. */
  stop(): Promise<void>
}

export interface HttpServiceOptions {
  name: string
  host: string
  port: number
  logger: Logger
  /** What callers reach on the service's port, by exact path or `/prefix/*` for every path under `/prefix/`; /health (liveness) is added to it. */
  routes: Record<string, Route>
  /** Operational endpoints (/ready, /metrics): served on the admin listener only, with /health. */
  adminRoutes?: Record<string, Route>
  /** Where the admin listener binds (default 127.0.0.1, port 0: any free one). */
  admin?: AdminListener
  /** Milliseconds the server waits for in-flight requests on stop. */
  drainMs?: number
  /**
   * Continue the trace named by a request's `traceparent` (a service called by the gateway); otherwise
   * each request starts its own trace (the public edge).
   */
  continueTrace?: boolean
}

export interface AdminListener {
  host: string
  port: number
}

/** Liveness: the process answers. On the API port (load balancers) and on the admin listener. */
export const healthRoute: Route = (_req, res) => sendJson(res, 200, { status: 'ok' })

/** /ready (dependencies answer), for the admin listener. */
export function readinessRoutes(ready: () => Promise<Record<string, boolean>>): Record<string, Route> {
  return {
    '/ready': async (_req, res) => {
      const checks = await ready().catch(() => ({ ready: false }))
      const ok = Object.values(checks).every(Boolean)
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable', checks })
    },
  }
}

/**
 * `/metrics` in Prometheus' text format: the process's metrics (@pm/telemetry), then `extra` (figures kept
 * elsewhere, such as the gateway's cache). With METRICS_ENABLED=false only `extra` is answered.
 */
export function metricsRoute(extra?: () => string): Route {
  return async (_req, res) => {
    const text = metricsEnabled() ? await metricsText(extra?.() ?? '') : (extra?.() ?? '')
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE })
    res.end(text)
  }
}

/** A route registered as `/prefix/*` serves every path under `/prefix/`. */
function prefixRoute(
  routes: Record<string, Route>,
  pathname: string,
): { path: string; route: Route } | undefined {
  for (const [path, route] of Object.entries(routes)) {
    if (path.endsWith('/*') && pathname.startsWith(path.slice(0, -1))) return { path, route }
  }
  return undefined
}

/** How the API listener runs each request: as one request scope (ids on every log line, a trace span). */
interface RequestScoping {
  service: string
  continueTrace: boolean
}

function listener(
  name: string,
  routes: Record<string, Route>,
  logger: Logger,
  scoping?: RequestScoping,
): Server {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const exact = routes[url.pathname]
    const found = exact ? { path: url.pathname, route: exact } : prefixRoute(routes, url.pathname)
    const handle = async () => {
      try {
        if (!found) return sendJson(res, 404, { error: `no route ${url.pathname.slice(0, 200)}` })
        await found.route(req, res, url)
      } catch (error) {
        logger.error('request failed', { listener: name, path: url.pathname, error })
        if (!res.headersSent) graphqlError(res, 500, 'Internal server error', 'INTERNAL_SERVER_ERROR')
        else res.end()
      }
    }
    // Liveness probes are not requests anyone follows: no scope, no span.
    if (!scoping || !found || found.route === healthRoute) return handle()
    await inRequest(
      {
        service: scoping.service,
        requestId: requestId(req),
        name: `${req.method ?? 'GET'} ${found.path}`,
        headers: req.headers,
        continueTrace: scoping.continueTrace,
      },
      handle,
    )
  })
  // Longer than the gateway's idle socket timeout, so the gateway never reuses a socket we closed.
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  return server
}

async function listen(server: Server, port: number, host: string): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = (server.address() as AddressInfo).port
  return { port: bound, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}` }
}

function closeGracefully(server: Server, drainMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve()
    const force = setTimeout(() => server.closeAllConnections(), drainMs)
    force.unref()
    server.close(() => {
      clearTimeout(force)
      resolve()
    })
    server.closeIdleConnections()
  })
}

/**
 * The service's listener (its routes and /health) and its admin listener (/health and the operational
 * routes: readiness, metrics), bound to loopback by default so that they are not part of the public API.
 */
export async function startHttpService(options: HttpServiceOptions): Promise<HttpService> {
  const { logger } = options
  const server = listener('api', { ...options.routes, '/health': healthRoute }, logger, {
    service: options.name,
    continueTrace: options.continueTrace ?? false,
  })
  const adminServer = listener('admin', { ...options.adminRoutes, '/health': healthRoute }, logger)
  const admin = options.admin ?? { host: '127.0.0.1', port: 0 }
  const api = await listen(server, options.port, options.host)
  let adminBound: { port: number; url: string }
  try {
    adminBound = await listen(adminServer, admin.port, admin.host)
  } catch (error) {
    await closeGracefully(server, 0)
    throw error
  }
  let stopping: Promise<void> | undefined
  return {
    server,
    port: api.port,
    url: api.url,
    adminServer,
    adminPort: adminBound.port,
    adminUrl: adminBound.url,
    stop() {
      const drainMs = options.drainMs ?? 10_000
      stopping ??= Promise.all([
        closeGracefully(server, drainMs),
        closeGracefully(adminServer, drainMs),
      ]).then(() => {})
      return stopping
    },
  }
}

export interface AdminOnlyService {
  server: Server
  url: string
  stop(): Promise<void>
}

/**
 * An admin listener alone (/health and the given operational routes), for processes without an API port:
 * `pm worker`'s /metrics and /ready.
 */
export async function startAdminListener(options: {
  name: string
  admin: AdminListener
  routes: Record<string, Route>
  logger: Logger
}): Promise<AdminOnlyService> {
  const server = listener('admin', { ...options.routes, '/health': healthRoute }, options.logger)
  const bound = await listen(server, options.admin.port, options.admin.host)
  let stopping: Promise<void> | undefined
  return {
    server,
    url: bound.url,
    stop() {
      stopping ??= closeGracefully(server, 2_000)
      return stopping
    },
  }
}

/** SIGINT/SIGTERM run `shutdown` once; a second signal exits at once. */
export function onShutdownSignal(shutdown: (signal: string) => Promise<void>, logger: Logger) {
  let called = false
  const handler = (signal: NodeJS.Signals) => {
    if (called) process.exit(1)
    called = true
    logger.info('shutting down', { signal })
    shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error })
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}
