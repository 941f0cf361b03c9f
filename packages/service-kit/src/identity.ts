import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Who is calling, as the gateway established it (token or API key) and signed it for the subgraphs.
 * Permissions are `resource:action` strings from the documented model (docs/requirements.md#permissions:
 * roles → permissions, plus the user's own `permissions` JSONB); `resource:manage` grants every action on
 * the resource. There is no wildcard: only `superuser` stands for everything.
 */
export interface Caller {
  kind: 'anonymous' | 'user' | 'partner' | 'service'
  userId: string | null
  apiKeyId: string | null
  permissions: readonly string[]
  superuser: boolean
}

export const ANONYMOUS: Caller = {
  kind: 'anonymous',
  userId: null,
  apiKeyId: null,
  permissions: [],
  superuser: false,
}
/** The services themselves (audit relay, questions to another domain). */
export const SERVICE: Caller = {
  kind: 'service',
  userId: null,
  apiKeyId: null,
  permissions: [],
  superuser: true,
}

export const CALLER_HEADER = 'x-pm-caller'
export const SIGNATURE_HEADER = 'x-pm-signature'
/** A signed identity older than this is refused: a signature is good for one request, sent at once. */
export const MAX_IDENTITY_AGE_MS = 15_000
/** How far ahead of the verifier's clock a signer's clock may be. */
export const MAX_CLOCK_SKEW_MS = 2_000

export function hasPermission(caller: Caller, permission: string): boolean {
  if (caller.superuser) return true
  const [resource] = permission.split(':')
  return caller.permissions.includes(permission) || caller.permissions.includes(`${resource}:manage`)
}

/**
 * What a signature is bound to besides the caller and the time: the subgraph it is sent to (its domain
 * name) and the request's payload (the POST body as sent, or the query string of a GET). A signature
 * taken from one request is worth nothing for another body or another subgraph.
 */
export interface SignedRequest {
  target: string
  payload: string | Buffer
}

function mac(value: string, request: SignedRequest, secret: string): string {
  const digest = createHash('sha256').update(request.payload).digest('base64url')
  return createHmac('sha256', secret).update(`${value}\n${request.target}\n${digest}`).digest('base64url')
}

/** The x-pm-caller value: the caller and when it was signed (base64url JSON). */
export function encodeCaller(caller: Caller, now = Date.now()): string {
  return Buffer.from(JSON.stringify({ caller, iat: now })).toString('base64url')
}

/** The x-pm-signature of an encoded caller for one request. */
export function callerSignature(value: string, secret: string, request: SignedRequest): string {
  return mac(value, request, secret)
}

/** The two headers sent with one request to one subgraph, signed for that request alone. */
export function signCaller(
  caller: Caller,
  secret: string,
  request: SignedRequest,
  now = Date.now(),
): Record<string, string> {
  const value = encodeCaller(caller, now)
  return { [CALLER_HEADER]: value, [SIGNATURE_HEADER]: mac(value, request, secret) }
}

/** When an encoded caller was signed, if it parses: lets a verifier refuse a stale one before reading a body. */
export function callerSignedAt(value: string | undefined): number | null {
  if (!value) return null
  try {
    const { iat } = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { iat?: unknown }
    return typeof iat === 'number' ? iat : null
  } catch {
    return null
  }
}

/** Within the replay window: not older than MAX_IDENTITY_AGE_MS, not ahead by more than the skew allowance. */
export function freshSignature(iat: number, now = Date.now()): boolean {
  return now - iat <= MAX_IDENTITY_AGE_MS && iat - now <= MAX_CLOCK_SKEW_MS
}

/**
 * The caller when the headers carry a valid, fresh signature for this request (target and payload);
 * null otherwise (forged, stale, missing, or taken from another request).
 */
export function verifyCaller(
  value: string | undefined,
  signature: string | undefined,
  secret: string,
  request: SignedRequest,
  now = Date.now(),
): Caller | null {
  if (!value || !signature) return null
  const expected = Buffer.from(mac(value, request, secret))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null
  try {
    const { caller, iat } = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as {
      caller: Caller
      iat: number
    }
    if (typeof iat !== 'number' || !freshSignature(iat, now)) return null
    return caller
  } catch {
    return null
  }
}

/** Gateway and services sign caller identities with it; every subgraph verifies with it. */
export const SIGNING_SECRET_ENV = 'GATEWAY_SIGNING_SECRET'
/** Core signs access tokens with it; the gateway verifies them with it. */
export const TOKEN_SECRET_ENV = 'AUTH_TOKEN_SECRET'
export const MIN_SECRET_LENGTH = 32

export class SecretConfigError extends Error {
  override name = 'SecretConfigError'
}

/**
 * A shared secret from the environment, or an error that names the variable and says what to do. Always
 * required: `pnpm start` (everything in one process) generates development values when they are unset.
 */
export function requireSecret(
  name: typeof SIGNING_SECRET_ENV | typeof TOKEN_SECRET_ENV,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const value = env[name]?.trim()
  const production = env.NODE_ENV?.trim() === 'production'
  const shared =
    name === SIGNING_SECRET_ENV
      ? 'the same value on the gateway and every subgraph'
      : 'the same value on the gateway and the core subgraph'
  if (!value) {
    throw new SecretConfigError(
      production
        ? `${name} is not set: it is required in production. Set it to a random string of at least ${MIN_SECRET_LENGTH} characters (${shared}), e.g. from \`openssl rand -base64 48\``
        : `${name} is not set: set it to a random string of at least ${MIN_SECRET_LENGTH} characters (${shared}), or run everything with \`pnpm start\`, which generates development secrets`,
    )
  }
  if (value.length < MIN_SECRET_LENGTH) {
    throw new SecretConfigError(
      `${name} is too short (${value.length} characters): use a random string of at least ${MIN_SECRET_LENGTH}`,
    )
  }
  return value
}
