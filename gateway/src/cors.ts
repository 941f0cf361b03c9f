import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Route } from '@pm/service-kit'

/**
 * Cross-origin requests from browsers (CORS), for the origins the operator lists (GATEWAY_CORS_ORIGINS);
 * with none listed, no CORS header is ever sent and browsers keep other origins' pages out, as by default.
 *
 * Credentials: the API authenticates with the Authorization header (bearer token) or X-API-Key, never with
 * cookies, so a page calls it with `fetch(url, { headers: { authorization } })` and no `credentials`; the
 * gateway never answers Access-Control-Allow-Credentials, and a page asking for cookies is refused by the
 * browser. An origin is compared exactly (scheme, host and port), never by pattern.
 */
export interface CorsPolicy {
  origins: ReadonlySet<string>
}

/** Headers a page may send: content type, the two credentials, Apollo's CSRF/preflight headers, tracing. */
const ALLOWED_HEADERS = [
  'content-type',
  'accept',
  'authorization',
  'x-api-key',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'x-request-id',
  'traceparent',
].join(', ')
/** Answer headers a page may read besides the simple ones. */
const EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'etag', 'www-authenticate'].join(', ')
const MAX_AGE_SECONDS = '600'

/** An origin as browsers send it: scheme://host[:port], nothing after. */
export function parseOrigin(value: string): string | null {
  try {
    const url = new URL(value)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
    if (url.origin !== value.replace(/\/$/, '')) return null
    return url.origin
  } catch {
    return null
  }
}

/**
 * The route with CORS applied: a preflight (OPTIONS with Access-Control-Request-Method) from a listed origin
 * is answered 204 with what it may send; from any other origin 403 without CORS headers. An actual request
 * from a listed origin gets Access-Control-Allow-Origin; every answer varies by Origin.
 */
export function withCors(route: Route, policy: CorsPolicy | undefined, methods: readonly string[]): Route {
  if (!policy || policy.origins.size === 0) return route
  const allowMethods = [...methods, 'OPTIONS'].join(', ')
  return (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const origin = req.headers.origin
    const allowed = typeof origin === 'string' && policy.origins.has(origin)
    res.setHeader('vary', 'Origin')
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      if (!allowed) {
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' })
        res.end('This origin may not call the API from a browser (see GATEWAY_CORS_ORIGINS)')
        return
      }
      res.writeHead(204, {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': allowMethods,
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': MAX_AGE_SECONDS,
      })
      res.end()
      return
    }
    if (allowed) {
      res.setHeader('access-control-allow-origin', origin)
      res.setHeader('access-control-expose-headers', EXPOSED_HEADERS)
    }
    return route(req, res, url)
  }
}
