import { randomBytes, randomUUID } from 'node:crypto'
import {
  type Caller,
  SERVICE,
  SIGNING_SECRET_ENV,
  signAccessToken,
  signCaller,
  TOKEN_SECRET_ENV,
} from '@pm/service-kit'

export interface TestSecrets {
  /** GATEWAY_SIGNING_SECRET: the gateway and services sign caller identities, subgraphs verify. */
  signing: string
  /** AUTH_TOKEN_SECRET: access tokens (core signs, the gateway verifies). */
  token: string
}

let secrets: TestSecrets | undefined

/**
 * One random pair per test process, also written to process.env: a gateway or subgraph a test starts
 * itself (startGateway without secrets reads the environment) trusts the same identities as the stack's.
 */
export function testSecrets(): TestSecrets {
  secrets ??= {
    signing: randomBytes(32).toString('base64url'),
    token: randomBytes(32).toString('base64url'),
  }
  process.env[SIGNING_SECRET_ENV] = secrets.signing
  process.env[TOKEN_SECRET_ENV] = secrets.token
  return secrets
}

export interface TokenClaims {
  /** Default: a new random id (no such user in db_core). */
  userId?: string
  permissions?: string[]
  superuser?: boolean
  /** Default 15 minutes; negative gives an expired token. */
  ttlSeconds?: number
  /** The session (refresh family) the token belongs to. Default: a new random id (no such session). */
  sessionId?: string
}

/** An access token as core would sign it at login (signAccessToken with AUTH_TOKEN_SECRET). */
export function testToken(claims: TokenClaims = {}, secret = testSecrets().token): string {
  return signAccessToken(
    {
      sub: claims.userId ?? randomUUID(),
      perms: claims.permissions ?? [],
      su: claims.superuser ?? false,
      sid: claims.sessionId ?? randomUUID(),
    },
    secret,
    claims.ttlSeconds ?? 900,
  )
}

/**
 * The x-pm-caller / x-pm-signature headers of a caller signed now for one request: to the subgraph `target`
 * (its domain), with exactly `body` (default caller: SERVICE, a superuser).
 */
export function signedHeaders(
  target: string,
  body: string,
  caller: Caller = SERVICE,
  secret = testSecrets().signing,
): Record<string, string> {
  return signCaller(caller, secret, { target, payload: body })
}

/** signedHeaders as the headers argument of postGraphQL / sendGraphQL: signed over the body they send. */
export function signedFor(
  target: string,
  caller: Caller = SERVICE,
  secret = testSecrets().signing,
): (body: string) => Record<string, string> {
  return (body) => signedHeaders(target, body, caller, secret)
}
