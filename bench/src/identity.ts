import { randomBytes, randomUUID } from 'node:crypto'
import type { GatewayPlugin } from '@graphql-hive/gateway'
import type { Domain } from '@pm/db'
import {
  ANONYMOUS,
  type Caller,
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

/**
 * What Q1–Q4 need: the catalogue with prices (costs included), media, ASIN matches and metrics (Q1, Q2),
 * import jobs with their supplier and creator's name and e-mail (Q3), product creation and updates (Q4).
 */
export const BENCH_NEEDS = [
  'product:read',
  'supplier:read',
  'brand:read',
  'category:read',
  'cost:read',
  'media:read',
  'code2asin:read',
  'analytics:read',
  'import:read',
  'user:read',
  'product:create',
  'product:update',
]

/**
 * An access token for an active user of the data set whose role holds BENCH_NEEDS, carrying that role's
 * permissions as login would give them (a day long: no refresh in the middle of a run). Not a superuser:
 * every permission check runs as for a normal user.
 */
export async function benchAccessToken(urls: DomainUrls, tokenSecret: string): Promise<string> {
  const user = await withClient(urls.core, async (c) => {
    const { rows } = await c.query<{ id: string; permissions: string[] }>(
      `SELECT u.id::text AS id, array_agg(DISTINCT p.name::text ORDER BY p.name::text) AS permissions
       FROM users u JOIN roles r ON r.name = u.role
       JOIN role_permissions rp ON rp.role_id = r.id JOIN permissions p ON p.id = rp.permission_id
       WHERE u.is_active IS NOT FALSE AND u.is_superuser IS NOT TRUE AND r.is_active IS NOT FALSE
       GROUP BY u.id, u.created_at HAVING array_agg(p.name::text) @> $1::text[]
       ORDER BY u.created_at, u.id LIMIT 1`,
      [BENCH_NEEDS],
    )
    return rows[0]
  })
  if (!user) {
    throw new Error(
      `the bench data set has no active user whose role holds what Q1–Q4 need (${BENCH_NEEDS.join(', ')})`,
    )
  }
  return signAccessToken(
    { sub: user.id, perms: user.permissions, su: false, sid: randomUUID() },
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
