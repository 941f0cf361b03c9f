import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ApolloServer, BaseContext } from '@apollo/server'
import {
  CALLER_HEADER,
  callerSignedAt,
  executeApollo,
  freshSignature,
  GATEWAY_TARGET,
  type Route,
  readBody,
  requestId,
  SERVICE,
  SIGNATURE_HEADER,
  sendJson,
  verifyCaller,
} from '@pm/service-kit'
import type { GraphQLError } from 'graphql'
import type { Authenticated, Authentication } from './auth'
import { LimitCode, type OperationGuard, type RequestedOperation } from './limits'
import type { CallerKey, RateDecision, RateLimiter } from './rate-limit'

export interface GraphQLRouteOptions<C extends BaseContext> {
  apollo: ApolloServer<C>
  /** Who the request is (bearer token, API key or anonymous), or why it is refused. */
  authenticate: (req: IncomingMessage) => Promise<Authentication>
  context: (req: IncomingMessage, auth: Authenticated) => Promise<C>
  guard: OperationGuard
  maxBodyBytes: number
  /** Operations a JSON array body may hold; 0 refuses batches. */
  maxBatch: number
  /** Absent: no rate limit. Its perMinute applies to users and anonymous callers (0: none); API keys have theirs. */
  rateLimiter?: RateLimiter
  /** Overrides the authenticated caller as the rate-limit key (tests). */
  caller?: CallerKey
  /**
   * The operations of one batched request, checked together before any runs (their summed cost): a
   * refusal is answered for the whole batch.
   */
  checkBatch?: (operations: readonly RequestedOperation[]) => Promise<GraphQLError | undefined>
  /** A browser asking for a page (GraphiQL); `page` absent answers it 404. */
  wantsPage: (req: IncomingMessage) => boolean
  page?: Route
  /**
   * GATEWAY_SIGNING_SECRET: a request carrying a SERVICE identity signed with it for the target `gateway` and
   * this very body (the platform's own workers, `queryGraph`) runs as SERVICE. Absent: such requests are refused.
   */
  serviceSecret?: string
}

type ReadBody = Awaited<ReturnType<typeof readBody>>

/**
 * A request signed as the platform's own service: POST only, no other credentials, fresh (checked before the
 * body is read), and bound to the body sent. Anything else is refused as a whole, never downgraded.
 */
async function serviceCaller(
  req: IncomingMessage,
  secret: string | undefined,
  maxBodyBytes: number,
): Promise<{ ok: true; read: ReadBody } | { ok: false; message: string }> {
  const header = (name: string) => {
    const value = req.headers[name]
    return Array.isArray(value) ? undefined : value
  }
  const refused = { ok: false as const, message: 'The signed service identity is invalid or stale' }
  if (!secret || req.method !== 'POST') return refused
  if (req.headers.authorization || req.headers['x-api-key']) {
    return { ok: false, message: 'Send either a signed service identity or user credentials, not both' }
  }
  const value = header(CALLER_HEADER)
  const iat = callerSignedAt(value)
  if (iat === null || !freshSignature(iat)) return refused
  const read = await readBody(req, maxBodyBytes)
  if (read.kind !== 'complete') return { ok: true, read }
  const caller = verifyCaller(value, header(SIGNATURE_HEADER), secret, {
    target: GATEWAY_TARGET,
    payload: read.text,
  })
  if (caller?.kind !== 'service') return refused
  return { ok: true, read }
}

function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
  extensions: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  sendJson(res, status, { errors: [{ message, extensions }] }, { 'x-request-id': requestId(req), ...headers })
}

function refuseWith(req: IncomingMessage, res: ServerResponse, error: GraphQLError, prefix = '') {
  const { http, ...extensions } = error.extensions as { http?: { status?: number } }
  refuse(req, res, http?.status ?? 400, `${prefix}${error.message}`, extensions)
}

function rateHeaders(res: ServerResponse, decision: RateDecision) {
  res.setHeader('ratelimit-limit', String(decision.limit))
  res.setHeader('ratelimit-remaining', String(decision.remaining))
  res.setHeader('ratelimit-reset', String(decision.resetSeconds))
}

function refuseRate(req: IncomingMessage, res: ServerResponse, decision: RateDecision) {
  refuse(
    req,
    res,
    429,
    `Too many requests: more than ${decision.limit} a minute from this caller; retry in ${decision.resetSeconds} s`,
    { code: LimitCode.RATE_LIMITED, limit: decision.limit, retryAfter: decision.resetSeconds },
    { 'retry-after': String(decision.resetSeconds) },
  )
}

/** A JSON query-string parameter of a GET (variables, extensions); undefined when absent or not JSON. */
function jsonParam(url: URL, name: string): unknown {
  const raw = url.searchParams.get(name)
  if (!raw) return undefined
  try {
    return JSON.parse(raw)
  } catch {
    return undefined
  }
}

/**
 * /graphql: authentication, the rate limit (per caller), the body size and batch bounds, and the operation
 * limits that need no schema, all before Apollo parses or validates anything; then Apollo Server (CSRF
 * prevention, GET rules, cost, persisted-operation keys, the modules gate).
 */
export function graphqlRoute<C extends BaseContext>(options: GraphQLRouteOptions<C>): Route {
  const { apollo, guard, rateLimiter, maxBodyBytes, maxBatch } = options
  return async (req, res, url) => {
    let preRead: ReadBody | undefined
    let auth: Authentication
    const signed = req.headers[CALLER_HEADER] !== undefined || req.headers[SIGNATURE_HEADER] !== undefined
    if (signed) {
      const service = await serviceCaller(req, options.serviceSecret, maxBodyBytes)
      if (!service.ok) {
        return refuse(req, res, 401, service.message, { code: 'UNAUTHENTICATED' })
      }
      preRead = service.read
      auth = { ok: true, caller: SERVICE, rateKey: 'service' }
    } else {
      auth = await options.authenticate(req)
    }
    const caller = options.caller ? await options.caller(req) : auth.rateKey
    // Refused credentials count too (against the client address): guessing keys costs the guesser. The
    // platform's own signed workers are not counted.
    const limit = signed ? 0 : (auth.ok && auth.rateLimitPerMinute) || rateLimiter?.perMinute || 0
    if (rateLimiter && limit > 0) {
      const decision = await rateLimiter.hit(caller, 1, limit)
      rateHeaders(res, decision)
      if (!decision.allowed) return refuseRate(req, res, decision)
    }
    if (!auth.ok) {
      // RFC 6750: a 401 names the scheme the client should use.
      const challenge = auth.status === 401 ? { 'www-authenticate': 'Bearer realm="graphql"' } : undefined
      return refuse(req, res, auth.status, auth.message, { code: auth.code }, challenge)
    }
    if (options.wantsPage(req)) {
      if (options.page) return options.page(req, res, url)
      return refuse(req, res, 404, 'No page here: send GraphQL operations as POST application/json', {
        code: 'NOT_FOUND',
      })
    }

    let body: unknown
    let operations: RequestedOperation[] = []
    const queries: Array<{ index: number; query: string }> = []
    if (req.method === 'POST') {
      const read = preRead ?? (await readBody(req, maxBodyBytes))
      if (read.kind === 'aborted') return
      if (read.kind === 'tooLarge') {
        // The connection closes after the answer: whatever the client still sends is not read.
        if (!read.drained) res.on('finish', () => req.socket.destroy())
        return refuse(
          req,
          res,
          413,
          `The request body is larger than the limit of ${maxBodyBytes} bytes: send a shorter operation, and large inputs in several requests`,
          { code: LimitCode.PAYLOAD_TOO_LARGE, limit: maxBodyBytes },
          { connection: 'close' },
        )
      }
      if (!(req.headers['content-type'] ?? '').includes('application/json')) {
        return refuse(req, res, 415, 'send the operation as application/json', { code: 'BAD_REQUEST' })
      }
      try {
        body = read.text ? JSON.parse(read.text) : {}
      } catch {
        return refuse(req, res, 400, 'the request body is not valid JSON', { code: 'BAD_REQUEST' })
      }
      operations = (Array.isArray(body) ? body : [body]) as RequestedOperation[]
      if (Array.isArray(body) && body.length > maxBatch) {
        return refuse(
          req,
          res,
          400,
          maxBatch === 0
            ? 'Batched requests are not accepted here: send one operation per request'
            : `The batch holds ${body.length} operations, more than the limit of ${maxBatch}: send fewer operations per request`,
          { code: LimitCode.BATCH_TOO_LARGE, limit: maxBatch, value: body.length },
        )
      }
      if (rateLimiter && limit > 0 && operations.length > 1) {
        // Each operation of a batch counts as one request.
        const decision = await rateLimiter.hit(caller, operations.length - 1, limit)
        rateHeaders(res, decision)
        if (!decision.allowed) return refuseRate(req, res, decision)
      }
      for (const [index, operation] of operations.entries()) {
        const query = (operation as { query?: unknown } | null)?.query
        if (typeof query === 'string') queries.push({ index, query })
      }
    } else {
      const query = url.searchParams.get('query')
      if (query) queries.push({ index: 0, query })
      operations = [{ variables: jsonParam(url, 'variables'), extensions: jsonParam(url, 'extensions') }]
    }
    const prefix = (index: number) => (Array.isArray(body) ? `Operation ${index + 1} of the batch: ` : '')
    // Before anything walks the variables (Apollo's coercion is recursive): 100,000 levels must not reach it.
    for (const [index, operation] of operations.entries()) {
      const refusal = operation && typeof operation === 'object' ? guard.checkVariables(operation) : undefined
      if (refusal) return refuseWith(req, res, refusal, prefix(index))
    }
    for (const { index, query } of queries) {
      const refusal = guard.check(query)
      if (refusal) return refuseWith(req, res, refusal, prefix(index))
    }
    if (operations.length > 1 && options.checkBatch) {
      const refusal = await options.checkBatch(operations)
      if (refusal) return refuseWith(req, res, refusal)
    }

    await executeApollo(apollo, req, res, url, body, () => options.context(req, auth))
  }
}
