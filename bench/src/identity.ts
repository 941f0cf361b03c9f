import { randomBytes, randomUUID } from 'node:crypto'
import type { GatewayPlugin } from '@graphql-hive/gateway'
import type { Domain } from '@pm/db'
import {
  ANONYMOUS,
  type Caller,
  PERMISSION_RESOURCES,
  SIGNING_SECRET_ENV,
  signAccessToken,
  signCaller,
  TOKEN_SECRET_ENV,
  verifyAccessToken,
} from '@pm/service-kit'
import { type DomainUrls, withClient } from './data'

/** Fresh secrets for one bench run, given to the gateways and every subgraph. */
export function benchSecrets(): Record<typeof SIGNING_SECRET_ENV | typeof TOKEN_SECRET_ENV, string> {
  return {
    [SIGNING_SECRET_ENV]: randomBytes(48).toString('base64url'),
    [TOKEN_SECRET_ENV]: randomBytes(48).toString('base64url'),
  }
}

/** What the bench's user may do: read everything the scenarios touch, and create/update products (Q4). */
export const BENCH_PERMISSIONS = [
  ...PERMISSION_RESOURCES.map((r) => `${r}:read`),
  'product:create',
  'product:update',
]

/**
 * An access token for an active user of the data set, signed as core would sign it at login (a day long:
 * no refresh in the middle of a run). Not a superuser: every permission check runs as for a normal user.
 */
export async function benchAccessToken(urls: DomainUrls, tokenSecret: string): Promise<string> {
  const userId = await withClient(urls.core, async (c) => {
    const { rows } = await c.query<{ id: string }>(
      `SELECT id::text AS id FROM users WHERE is_active IS NOT FALSE ORDER BY created_at, id LIMIT 1`,
    )
    return rows[0]?.id
  })
  if (!userId) throw new Error('the bench data set has no active user to sign requests for')
  return signAccessToken(
    { sub: userId, perms: BENCH_PERMISSIONS, su: false, sid: randomUUID() },
    tokenSecret,
    86_400,
  )
}

/** The caller a bearer token stands for, as our gateway establishes it. */
export function callerFromAuthorization(
  authorization: string | null | undefined,
  tokenSecret: string,
): Caller {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1]
  const claims = token ? verifyAccessToken(token, tokenSecret) : null
  if (!claims) return ANONYMOUS
  return { kind: 'user', userId: claims.sub, apiKeyId: null, permissions: claims.perms, superuser: claims.su }
}

type HeaderRecord = Record<string, string>

/**
 * Hive Gateway plugin doing what our gateway does for the subgraphs: verify the caller's token once per
 * request, and send its identity with every subgraph fetch, signed (GATEWAY_SIGNING_SECRET) for that
 * subgraph and that body. `subgraphs`: each subgraph's URL, to name the one a fetch goes to.
 */
export function signedIdentityPlugin(
  signingSecret: string,
  tokenSecret: string,
  subgraphs: Record<Domain, string>,
): GatewayPlugin {
  const callers = new WeakMap<Request, Caller>()
  const targets = new Map(Object.entries(subgraphs).map(([domain, url]) => [url, domain]))
  return {
    onFetch({ url, options, setOptions, context }) {
      const target = targets.get(url)
      if (!target) return
      const request = (context as { request?: Request } | undefined)?.request
      let caller = request ? callers.get(request) : undefined
      if (!caller) {
        caller = callerFromAuthorization(request?.headers.get('authorization'), tokenSecret)
        if (request) callers.set(request, caller)
      }
      const headers: HeaderRecord =
        options.headers instanceof Headers
          ? Object.fromEntries(options.headers.entries())
          : { ...(options.headers as HeaderRecord | undefined) }
      const payload = typeof options.body === 'string' ? options.body : ''
      setOptions({
        ...options,
        headers: { ...headers, ...signCaller(caller, signingSecret, { target, payload }) },
      })
    },
  }
}
