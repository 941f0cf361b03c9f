import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Access tokens: compact JWTs signed with HMAC-SHA256 (HS256 only), node:crypto only. Core signs them at
 * login and refresh with AUTH_TOKEN_SECRET; the gateway verifies them with the same secret.
 */
export interface AccessTokenClaims {
  /** The user's id. */
  sub: string
  /** The user's permissions (`resource:action`), computed at login/refresh. */
  perms: string[]
  /** users.is_superuser */
  su: boolean
  /** The refresh session (family) the token was issued for. */
  sid: string
  /** Issued at, seconds since the epoch. */
  iat: number
  /** Expires at, seconds since the epoch. */
  exp: number
  /** Not before, seconds since the epoch (optional). */
  nbf?: number
}

/** What the caller provides; iat and exp are set by signAccessToken. */
export type AccessTokenInput = Omit<AccessTokenClaims, 'iat' | 'exp' | 'nbf'>

/** Clock skew tolerated between the signer and the verifier, in seconds. */
export const TOKEN_LEEWAY_SECONDS = 30

// The one header this module issues and accepts: anything else (alg none, RS256, kid tricks) is refused.
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')
const BASE64URL = /^[A-Za-z0-9_-]+$/
// A token larger than this is not one of ours (permission lists are short); refused before any parsing.
const MAX_TOKEN_LENGTH = 16_384

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function sign(input: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(input).digest()
}

/** A signed access token valid for ttlSeconds from now. */
export function signAccessToken(
  claims: AccessTokenInput & { iat?: number },
  secret: string,
  ttlSeconds: number,
  now = Date.now(),
): string {
  if (!secret) throw new Error('signAccessToken: the secret is empty')
  const iat = claims.iat ?? Math.floor(now / 1000)
  const payload = encode({ ...claims, iat, exp: iat + ttlSeconds })
  const input = `${HEADER}.${payload}`
  return `${input}.${sign(input, secret).toString('base64url')}`
}

function parseJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)

/**
 * The claims of a token signed with `secret` that is valid now (± TOKEN_LEEWAY_SECONDS), else null:
 * malformed, another algorithm, a bad signature, expired, not yet valid, or claims of the wrong shape.
 */
export function verifyAccessToken(token: string, secret: string, now = Date.now()): AccessTokenClaims | null {
  if (!secret || typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null
  const parts = token.split('.')
  if (parts.length !== 3) return null
  const [header, payload, signature] = parts as [string, string, string]
  if (!BASE64URL.test(header) || !BASE64URL.test(payload) || !BASE64URL.test(signature)) return null
  const head = parseJson(header)
  if (!isObject(head) || head.alg !== 'HS256' || (head.typ !== undefined && head.typ !== 'JWT')) return null
  if (head.crit !== undefined) return null
  const expected = sign(`${header}.${payload}`, secret)
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
  const claims = parseJson(payload)
  if (!isObject(claims)) return null
  const { sub, perms, su, sid, iat, exp, nbf } = claims
  if (typeof sub !== 'string' || typeof sid !== 'string' || typeof su !== 'boolean') return null
  if (!Array.isArray(perms) || !perms.every((p) => typeof p === 'string')) return null
  if (!isTime(iat) || !isTime(exp) || (nbf !== undefined && !isTime(nbf))) return null
  const seconds = now / 1000
  if (exp <= seconds - TOKEN_LEEWAY_SECONDS) return null
  if (iat > seconds + TOKEN_LEEWAY_SECONDS) return null
  if (nbf !== undefined && nbf > seconds + TOKEN_LEEWAY_SECONDS) return null
  return { sub, perms: perms as string[], su, sid, iat, exp, ...(nbf !== undefined ? { nbf } : {}) }
}

/** An opaque refresh token: 32 random bytes, base64url (43 characters). Stored only as its SHA-256. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url')
}

/** Lower-case hex SHA-256 of a string (refresh tokens, API keys, persisted-operation hashes). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}
