import type { IncomingMessage } from 'node:http'
import type { ApolloServerPlugin, BaseContext } from '@apollo/server'
import {
  ANONYMOUS,
  type Caller,
  ErrorCode,
  type Logger,
  SERVICE,
  sha256Hex,
  signCaller,
  verifyAccessToken,
} from '@pm/service-kit'
import { GraphQLError } from 'graphql'

/**
 * Who a request is, as the gateway establishes it before anything else runs:
 * - `Authorization: Bearer <access token>`: a JWT core signed (AUTH_TOKEN_SECRET) → a user caller with the
 *   token's permissions. A token that does not verify (forged, expired, another algorithm) is refused with
 *   401 UNAUTHENTICATED, never downgraded to anonymous: a client must learn its token is dead.
 * - `X-API-Key: pm_<prefix>_<secret>`: a partner key, checked by core's internal authenticateApiKey (the
 *   gateway asks core's subgraph directly, signed as SERVICE). The answer is cached by the key's SHA-256
 *   for at most 30 s (never past the key's expiry): a revocation takes effect within 30 s.
 * - neither header → anonymous.
 * Then every subgraph request carries the caller, signed with GATEWAY_SIGNING_SECRET (see gateway.ts).
 */

/** How long core's answer about an API key (valid or not) is reused. Revocation applies within this. */
export const API_KEY_CACHE_MS = 30_000
/** Keys whose answers are kept at most; the oldest goes first. */
const API_KEY_CACHE_SIZE = 10_000
/** The shape of a key core issues; anything else is refused without asking core. */
const API_KEY_FORMAT = /^pm_[A-Za-z0-9]{4,16}_[A-Za-z0-9_-]{16,128}$/

export interface Authenticated {
  ok: true
  caller: Caller
  /** Whom the rate limit counts: user:<id>, key:<id> or ip:<address>. */
  rateKey: string
  /** An API key's own requests per minute (instead of the gateway's). */
  rateLimitPerMinute?: number
  /** An API key limited to persisted operations: the SHA-256 hex of each document it may run. */
  allowedOperations?: ReadonlySet<string>
}

export interface Refused {
  ok: false
  status: number
  code: string
  message: string
  /** The client address (ip:<address>): refusals count against it. */
  rateKey: string
}

export type Authentication = Authenticated | Refused

/** What core's authenticateApiKey (ApiKeyIdentity) answers for a valid key. */
export interface ApiKeyGrant {
  id: string
  userId: string
  permissions: string[]
  allowedOperations: string[]
  rateLimitPerMinute: number | null
  expiresAt: string | null
}

export interface AuthenticatorOptions {
  tokenSecret: string
  signingSecret: string
  /** The core subgraph's /graphql URL (authenticateApiKey is not in the public graph). */
  coreUrl: string
  /** Where the request comes from, for anonymous callers' rate-limit key. */
  clientAddress: (req: IncomingMessage) => string
  logger: Logger
  fetch?: typeof fetch
  apiKeyCacheMs?: number
  timeoutMs?: number
}

const refused = (
  message: string,
  status = 401,
  code: string = ErrorCode.UNAUTHENTICATED,
): Omit<Refused, 'rateKey'> => ({ ok: false, status, code, message })

type Outcome = Authenticated | Omit<Refused, 'rateKey'>

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  const text = Array.isArray(value) ? value.join(', ') : value
  return text?.trim() ? text.trim() : undefined
}

const API_KEY_QUERY = /* GraphQL */ `
  query AuthenticateApiKey($key: String!) {
    authenticateApiKey(key: $key) {
      id
      userId
      permissions
      allowedOperations
      rateLimitPerMinute
      expiresAt
    }
  }
`

export class Authenticator {
  private readonly options: AuthenticatorOptions
  private readonly cacheMs: number
  private readonly cache = new Map<string, { grant: ApiKeyGrant | null; until: number }>()
  private readonly inFlight = new Map<string, Promise<ApiKeyGrant | null>>()

  constructor(options: AuthenticatorOptions) {
    this.options = options
    this.cacheMs = Math.min(options.apiKeyCacheMs ?? API_KEY_CACHE_MS, API_KEY_CACHE_MS)
  }

  /** The caller of a request, or why it is refused. Never throws: core unreachable → 503. */
  async authenticate(req: IncomingMessage): Promise<Authentication> {
    const outcome = await this.identify(req)
    return outcome.ok ? outcome : { ...outcome, rateKey: `ip:${this.options.clientAddress(req)}` }
  }

  private async identify(req: IncomingMessage): Promise<Outcome> {
    const authorization = header(req, 'authorization')
    const apiKey = header(req, 'x-api-key')
    if (authorization && apiKey) return refused('Send either a bearer token or an API key, not both')
    if (authorization) return this.bearer(authorization)
    if (apiKey) return this.apiKey(apiKey)
    return { ok: true, caller: ANONYMOUS, rateKey: `ip:${this.options.clientAddress(req)}` }
  }

  private bearer(authorization: string): Outcome {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization)
    if (!match) return refused('The Authorization header must be "Bearer <access token>"')
    const claims = verifyAccessToken(match[1]!, this.options.tokenSecret)
    if (!claims) return refused('The access token is invalid or expired: sign in again or refresh it')
    return {
      ok: true,
      caller: {
        kind: 'user',
        userId: claims.sub,
        apiKeyId: null,
        permissions: claims.perms,
        superuser: claims.su,
      },
      rateKey: `user:${claims.sub}`,
    }
  }

  private async apiKey(key: string): Promise<Outcome> {
    if (!API_KEY_FORMAT.test(key)) return refused('The API key is invalid, expired or revoked')
    let grant: ApiKeyGrant | null
    try {
      grant = await this.lookup(key)
    } catch (error) {
      this.options.logger.warn('API key check failed: core did not answer', {
        error: (error as Error)?.message ?? String(error),
      })
      return refused(
        'API keys cannot be checked right now (the core service is unavailable); retry shortly',
        503,
        ErrorCode.SERVICE_UNAVAILABLE,
      )
    }
    if (!grant) return refused('The API key is invalid, expired or revoked')
    return {
      ok: true,
      caller: {
        kind: 'partner',
        userId: grant.userId,
        apiKeyId: grant.id,
        permissions: grant.permissions,
        superuser: false,
      },
      rateKey: `key:${grant.id}`,
      ...(grant.rateLimitPerMinute ? { rateLimitPerMinute: grant.rateLimitPerMinute } : {}),
      ...(grant.allowedOperations.length > 0 ? { allowedOperations: new Set(grant.allowedOperations) } : {}),
    }
  }

  /** Forgets every answer core gave about keys: after a key is revoked through this gateway. */
  forgetApiKeys() {
    this.cache.clear()
  }

  /** Core's answer for a key: from the cache when younger than 30 s, else one question per key at a time. */
  private async lookup(key: string): Promise<ApiKeyGrant | null> {
    const hash = sha256Hex(key)
    const now = Date.now()
    const cached = this.cache.get(hash)
    if (cached && cached.until > now) return cached.grant
    let pending = this.inFlight.get(hash)
    if (!pending) {
      pending = this.askCore(key).finally(() => this.inFlight.delete(hash))
      this.inFlight.set(hash, pending)
    }
    const grant = await pending
    const expiry = grant?.expiresAt ? Date.parse(grant.expiresAt) : Number.POSITIVE_INFINITY
    this.cache.delete(hash)
    this.cache.set(hash, { grant, until: Math.min(Date.now() + this.cacheMs, expiry) })
    if (this.cache.size > API_KEY_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!)
    return grant
  }

  private async askCore(key: string): Promise<ApiKeyGrant | null> {
    const payload = JSON.stringify({ query: API_KEY_QUERY, variables: { key } })
    const response = await (this.options.fetch ?? fetch)(this.options.coreUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signCaller(SERVICE, this.options.signingSecret, { target: 'core', payload }),
      },
      body: payload,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
    })
    const body = (await response.json().catch(() => ({}))) as {
      data?: { authenticateApiKey: ApiKeyGrant | null }
      errors?: { message: string }[]
    }
    if (!response.ok || body.errors?.length || !body.data) {
      throw new Error(`core answered ${response.status}: ${body.errors?.[0]?.message ?? 'no data'}`)
    }
    return body.data.authenticateApiKey
  }
}

/** What the gateway's context carries of the authentication. */
export interface AuthContext extends BaseContext {
  caller: Caller
  allowedOperations?: ReadonlySet<string>
}

export const PERSISTED_ONLY_MESSAGE = 'this API key may only run its persisted operations'

/**
 * - An API key limited to persisted operations runs only documents whose SHA-256 (the APQ hash, which
 *   Apollo computes from the text as sent, or takes from extensions.persistedQuery once it has checked it
 *   against the text) is in its list → else 403 FORBIDDEN before planning.
 * - A revokeApiKey mutation through this gateway empties its API-key cache: the revocation applies here at
 *   once (other gateway instances: within API_KEY_CACHE_MS).
 */
export function apiKeyPlugin<C extends AuthContext>(authenticator: Authenticator): ApolloServerPlugin<C> {
  return {
    async requestDidStart({ contextValue }) {
      const allowed = contextValue.allowedOperations
      let revokes = false
      return {
        async didResolveOperation({ queryHash, operation, source }) {
          if (allowed && !allowed.has(queryHash)) {
            throw new GraphQLError(PERSISTED_ONLY_MESSAGE, {
              extensions: { code: ErrorCode.FORBIDDEN, http: { status: 403 } },
            })
          }
          revokes = operation?.operation === 'mutation' && source.includes('revokeApiKey')
        },
        async willSendResponse() {
          if (revokes) authenticator.forgetApiKeys()
        },
      }
    },
  }
}
