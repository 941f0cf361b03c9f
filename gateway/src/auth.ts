import type { IncomingMessage } from 'node:http'
import type { ApolloServerPlugin, BaseContext } from '@apollo/server'
import type { TwoLevelCache } from '@pm/cache'
import {
  type AccessTokenClaims,
  ANONYMOUS,
  type Caller,
  ErrorCode,
  type Logger,
  sha256Hex,
  verifyAccessToken,
} from '@pm/service-kit'
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql'
import { CoreOutage, queryCore } from './core-client'

/**
 * Who a request is, as the gateway establishes it before anything else runs:
 * - `Authorization: Bearer <access token>`: a JWT core signed (AUTH_TOKEN_SECRET) → a user caller with the
 *   token's permissions. A token that does not verify (forged, expired, another algorithm) is refused with
 *   401 UNAUTHENTICATED, never downgraded to anonymous: a client must learn its token is dead. So is a
 *   token whose session ended or whose user was disabled (see SessionChecks): core's answer is reused for
 *   at most SESSION_CHECK_TTL_MS, and a revoking mutation through any gateway drops every gateway's
 *   answers at once (through Redis when REDIS_URL is set).
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

/** How long core's answer that a session stands is reused: a revocation reaches every gateway within it. */
export const SESSION_CHECK_TTL_MS = 5_000
/** The cache namespace of the answers; bumped by every revoking mutation (see revocationsPlugin). */
const SESSIONS_NAMESPACE = 'sessions'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const ACCESS_TOKEN_STATE_QUERY = /* GraphQL */ `
  query AccessTokenState($userId: UUID!, $sessionId: UUID!) {
    accessTokenState(userId: $userId, sessionId: $sessionId) {
      revoked
      known
    }
  }
`

export interface SessionChecksOptions {
  /** The core subgraph's /graphql URL (accessTokenState is not in the public graph). */
  coreUrl: string
  signingSecret: string
  /** Answers, shared through Redis with the other gateways when it has a client; bumps reach them all. */
  cache: TwoLevelCache
  logger: Logger
  fetch?: typeof fetch
  /** How long an answer that may still change is reused (default and maximum SESSION_CHECK_TTL_MS). */
  ttlMs?: number
  timeoutMs?: number
  /** How long core is left alone after it failed to answer (default CORE_RETRY_MS). */
  retryMs?: number
}

/**
 * Whether an access token was revoked: its session ended (logout, logoutEverywhere, a new password, a
 * reused refresh token) or its user was disabled, as core's accessTokenState says. An answer that may
 * still change is reused for ttlMs; one that cannot (revoked, or neither the user nor the session exists)
 * for the rest of the token's life. While core cannot answer, a token is judged by its signature and the
 * answers still cached (a revoked session stays refused): core's outage must not take the rest of the
 * graph down with it, nor slow it: after a failed question core is not asked again for retryMs.
 */
export class SessionChecks {
  private readonly options: SessionChecksOptions
  private readonly ttlMs: number
  private readonly inFlight = new Map<string, Promise<boolean>>()
  private readonly outage: CoreOutage

  constructor(options: SessionChecksOptions) {
    this.options = options
    this.ttlMs = Math.min(options.ttlMs ?? SESSION_CHECK_TTL_MS, SESSION_CHECK_TTL_MS)
    this.outage = new CoreOutage(
      options.logger,
      'access-token check failed: core did not answer; trusting signatures',
      options.retryMs,
    )
  }

  async revoked(claims: AccessTokenClaims): Promise<boolean> {
    const key = `${claims.sub.toLowerCase()}:${claims.sid.toLowerCase()}`
    const { generation, values } = await this.options.cache.getMany(SESSIONS_NAMESPACE, [key])
    if (values[0] !== undefined) return values[0] === 'revoked'
    if (this.outage.ongoing) return false
    const flight = `${generation}:${key}`
    let pending = this.inFlight.get(flight)
    if (!pending) {
      pending = this.ask(claims, key, generation).finally(() => this.inFlight.delete(flight))
      this.inFlight.set(flight, pending)
    }
    return pending
  }

  /** After a revoking mutation: no gateway reuses an answer given before it. */
  forget(): Promise<void> {
    return this.options.cache.bump([SESSIONS_NAMESPACE])
  }

  private async ask(claims: AccessTokenClaims, key: string, generation: number): Promise<boolean> {
    let state: { revoked: boolean; known: boolean }
    try {
      state = await this.askCore(claims)
    } catch (error) {
      this.outage.failed(error)
      return false
    }
    const untilExpiry = Math.max(1_000, claims.exp * 1000 - Date.now())
    const ttlMs = state.revoked || !state.known ? untilExpiry : this.ttlMs
    await this.options.cache.setMany(
      SESSIONS_NAMESPACE,
      generation,
      [{ key, value: state.revoked ? 'revoked' : 'standing' }],
      ttlMs / 1000,
    )
    return state.revoked
  }

  private async askCore(claims: AccessTokenClaims): Promise<{ revoked: boolean; known: boolean }> {
    const answer = await queryCore<{ accessTokenState: { revoked: boolean; known: boolean } }>(
      this.options,
      ACCESS_TOKEN_STATE_QUERY,
      { userId: claims.sub, sessionId: claims.sid },
      5_000,
    )
    const state = answer.data?.accessTokenState
    if (!answer.ok || answer.errors?.length || typeof state?.revoked !== 'boolean') {
      throw new Error(`core answered ${answer.status}: ${answer.errors?.[0]?.message ?? 'no data'}`)
    }
    return state
  }
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
  /** Refuses tokens whose session ended; absent when the graph has no core subgraph to ask. */
  sessions?: SessionChecks
  /** How long core is not asked about keys after it failed to answer (default CORE_RETRY_MS). */
  retryMs?: number
}

/** Thrown by Authenticator.lookup while core's outage lasts: refused at once, without asking core again. */
const CORE_UNAVAILABLE = new Error('core did not answer a moment ago')

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
  private readonly outage: CoreOutage

  constructor(options: AuthenticatorOptions) {
    this.options = options
    this.cacheMs = Math.min(options.apiKeyCacheMs ?? API_KEY_CACHE_MS, API_KEY_CACHE_MS)
    this.outage = new CoreOutage(options.logger, 'API key check failed: core did not answer', options.retryMs)
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
    if (authorization) return await this.bearer(authorization)
    if (apiKey) return this.apiKey(apiKey)
    return { ok: true, caller: ANONYMOUS, rateKey: `ip:${this.options.clientAddress(req)}` }
  }

  private async bearer(authorization: string): Promise<Outcome> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization)
    if (!match) return refused('The Authorization header must be "Bearer <access token>"')
    const claims = verifyAccessToken(match[1]!, this.options.tokenSecret)
    if (!claims || !UUID.test(claims.sub) || !UUID.test(claims.sid)) {
      return refused('The access token is invalid or expired: sign in again or refresh it')
    }
    if (await this.options.sessions?.revoked(claims)) {
      return refused(
        'The access token was revoked (signed out, new password or account disabled): sign in again',
      )
    }
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
      if (error !== CORE_UNAVAILABLE) this.outage.failed(error)
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

  /** Forgets every answer core gave about sessions, in every gateway: after a revoking mutation. */
  async forgetSessions() {
    await this.options.sessions?.forget()
  }

  /**
   * Core's answer for a key: from the cache when younger than 30 s, else one question per key at a time (none
   * while core's outage lasts: CORE_UNAVAILABLE).
   */
  private async lookup(key: string): Promise<ApiKeyGrant | null> {
    const hash = sha256Hex(key)
    const now = Date.now()
    const cached = this.cache.get(hash)
    if (cached && cached.until > now) return cached.grant
    if (this.outage.ongoing) throw CORE_UNAVAILABLE
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
    const answer = await queryCore<{ authenticateApiKey: ApiKeyGrant | null }>(
      this.options,
      API_KEY_QUERY,
      { key },
      5_000,
    )
    if (!answer.ok || answer.errors?.length || !answer.data) {
      throw new Error(`core answered ${answer.status}: ${answer.errors?.[0]?.message ?? 'no data'}`)
    }
    return answer.data.authenticateApiKey
  }
}

/** What the gateway's context carries of the authentication. */
export interface AuthContext extends BaseContext {
  caller: Caller
  allowedOperations?: ReadonlySet<string>
}

export const PERSISTED_ONLY_MESSAGE = 'this API key may only run its persisted operations'

/** Mutations after which core's answers about API keys may be stale. */
const REVOKING_KEYS = new Set(['revokeApiKey', 'deactivateUser'])
/** Mutations after which core's answers about sessions may be stale (see SessionChecks). */
const REVOKING_SESSIONS = new Set([
  'logout',
  'logoutEverywhere',
  'deactivateUser',
  'setUserPassword',
  'changePassword',
])

/** The root fields an operation selects, through its fragments. */
export function rootFieldNames(document: DocumentNode, operation: OperationDefinitionNode): Set<string> {
  const fragments = new Map<string, FragmentDefinitionNode>()
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition)
  const names = new Set<string>()
  const seen = new Set<string>()
  const walk = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value)
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet)
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value)
        const fragment = fragments.get(selection.name.value)
        if (fragment) walk(fragment.selectionSet)
      }
    }
  }
  walk(operation.selectionSet)
  return names
}

/**
 * - An API key limited to persisted operations runs only documents whose SHA-256 (the APQ hash, which
 *   Apollo computes from the text as sent, or takes from extensions.persistedQuery once it has checked it
 *   against the text) is in its list → else 403 FORBIDDEN before planning.
 * - A mutation that revokes keys (revokeApiKey, deactivateUser) through this gateway empties its API-key
 *   cache: the revocation applies here at once (other gateway instances: within API_KEY_CACHE_MS).
 * - One that ends sessions (logout, logoutEverywhere, deactivateUser, setUserPassword, changePassword)
 *   drops every gateway's session answers before its response goes back.
 */
export function apiKeyPlugin<C extends AuthContext>(authenticator: Authenticator): ApolloServerPlugin<C> {
  return {
    async requestDidStart({ contextValue }) {
      const allowed = contextValue.allowedOperations
      let revokesKeys = false
      let revokesSessions = false
      return {
        async didResolveOperation({ queryHash, operation, document }) {
          if (allowed && !allowed.has(queryHash)) {
            throw new GraphQLError(PERSISTED_ONLY_MESSAGE, {
              extensions: { code: ErrorCode.FORBIDDEN, http: { status: 403 } },
            })
          }
          if (operation?.operation !== 'mutation') return
          const fields = rootFieldNames(document, operation)
          revokesKeys = [...fields].some((f) => REVOKING_KEYS.has(f))
          revokesSessions = [...fields].some((f) => REVOKING_SESSIONS.has(f))
        },
        async willSendResponse() {
          if (revokesKeys) authenticator.forgetApiKeys()
          if (revokesSessions) await authenticator.forgetSessions()
        },
      }
    },
  }
}
