import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server'
import type { Logger } from './logger'

export const MAX_BODY_BYTES = 1_048_576

export class BodyTooLargeError extends Error {}

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        reject(new BodyTooLargeError(`request body exceeds ${limit} bytes`))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
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

function graphqlError(res: ServerResponse, status: number, message: string, code: string) {
  sendJson(res, status, { errors: [{ message, extensions: { code } }] })
}

export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID()
}

/** Hands a node:http request to Apollo Server (POST and GET), streaming its answer back. */
export function apolloHandler<C extends BaseContext>(
  apollo: ApolloServer<C>,
  context: (req: IncomingMessage) => Promise<C>,
  options: { maxBodyBytes?: number } = {},
) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    let body: unknown
    if (req.method === 'POST') {
      let text: string
      try {
        text = await readBody(req, options.maxBodyBytes ?? MAX_BODY_BYTES)
      } catch (error) {
        if (error instanceof BodyTooLargeError) return graphqlError(res, 413, error.message, 'BAD_REQUEST')
        throw error
      }
      const type = req.headers['content-type'] ?? ''
      if (!type.includes('application/json')) {
        return graphqlError(res, 415, 'send the operation as application/json', 'BAD_REQUEST')
      }
      try {
        body = text ? JSON.parse(text) : {}
      } catch {
        return graphqlError(res, 400, 'the request body is not valid JSON', 'BAD_REQUEST')
      }
    }
    const headers = new HeaderMap()
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value)
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () => context(req),
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

export async function startHttpService(options: HttpServiceOptions): Promise<HttpService> {
  const { logger } = options
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const route = options.routes[url.pathname]
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
