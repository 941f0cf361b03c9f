import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Who is calling, as the gateway established it (token or API key) and signed it for the subgraphs.
 * Permissions are `resource:action` strings from seed 000's model (roles → permissions, plus the user's
 * own `permissions` JSONB); `resource:manage` grants every action on the resource. There is no wildcard:
 * only `superuser` stands for everything.
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
/** A signed identity older than this is refused (replay window). */
export const MAX_IDENTITY_AGE_MS = 60_000

export function hasPermission(caller: Caller, permission: string): boolean {
  if (caller.superuser) return true
  const [resource] = permission.split(':')
  return caller.permissions.includes(permission) || caller.permissions.includes(`${resource}:manage`)
}

function mac(value: string, secret: string): string {
  return createHmac('sha256', secret).update(value).digest('base64url')
}

/** The two headers the gateway sends with each subgraph request. */
export function signCaller(caller: Caller, secret: string, now = Date.now()): Record<string, string> {
  const value = Buffer.from(JSON.stringify({ caller, iat: now })).toString('base64url')
  return { [CALLER_HEADER]: value, [SIGNATURE_HEADER]: mac(value, secret) }
}

/** The caller when the headers carry a valid, fresh signature; null otherwise (forged, stale, missing). */
export function verifyCaller(
  value: string | undefined,
  signature: string | undefined,
  secret: string,
  now = Date.now(),
): Caller | null {
  if (!value || !signature) return null
  const expected = Buffer.from(mac(value, secret))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null
  try {
    const { caller, iat } = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as {
      caller: Caller
      iat: number
    }
    if (typeof iat !== 'number' || now - iat > MAX_IDENTITY_AGE_MS || iat - now > 5_000) return null
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
