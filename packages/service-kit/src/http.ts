import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server'
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

export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID()
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

/** Hands a node:http request to Apollo Server (POST and GET), streaming its answer back. */
export function apolloHandler<C extends BaseContext>(
  apollo: ApolloServer<C>,
  context: (req: IncomingMessage) => Promise<C>,
  options: { maxBodyBytes?: number } = {},
) {
  const limit = options.maxBodyBytes ?? MAX_BODY_BYTES
  return async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    let body: unknown
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
  /** Stops accepting, lets in-flight requests finish (bounded), then closes what is left. */
  stop(): Promise<void>
}

export interface HttpServiceOptions {
  name: string
  host: string
  port: number
  logger: Logger
  /** By exact path, or `/prefix/*` for every path under `/prefix/`. */
  routes: Record<string, Route>
  /** Milliseconds the server waits for in-flight requests on stop. */
  drainMs?: number
}

/** The health endpoints every service exposes: /health (alive) and /ready (dependencies answer). */
export function healthRoutes(ready: () => Promise<Record<string, boolean>>): Record<string, Route> {
  return {
    '/health': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/ready': async (_req, res) => {
      const checks = await ready().catch(() => ({ ready: false }))
      const ok = Object.values(checks).every(Boolean)
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable', checks })
    },
  }
}

/** A route registered as `/prefix/*` serves every path under `/prefix/`. */
function prefixRoute(routes: Record<string, Route>, pathname: string): Route | undefined {
  for (const [path, route] of Object.entries(routes)) {
    if (path.endsWith('/*') && pathname.startsWith(path.slice(0, -1))) return route
  }
  return undefined
}

export async function startHttpService(options: HttpServiceOptions): Promise<HttpService> {
  const { logger } = options
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const route = options.routes[url.pathname] ?? prefixRoute(options.routes, url.pathname)
    try {
      if (!route) return sendJson(res, 404, { error: `no route ${url.pathname}` })
      await route(req, res, url)
    } catch (error) {
      logger.error('request failed', { path: url.pathname, error })
      if (!res.headersSent) graphqlError(res, 500, 'Internal server error', 'INTERNAL_SERVER_ERROR')
      else res.end()
    }
  })
  // Longer than the gateway's idle socket timeout, so the gateway never reuses a socket we closed.
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`
  let stopping: Promise<void> | undefined
  return {
    server,
    port,
    url,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), options.drainMs ?? 10_000)
        force.unref()
        server.close(() => {
          clearTimeout(force)
          resolve()
        })
        server.closeIdleConnections()
      })
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
