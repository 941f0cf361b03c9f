import { createHash, createHmac, randomUUID } from 'node:crypto'
import { DOMAINS, type Domain } from '@pm/db'
import { ANONYMOUS, type Caller, createLogger, hashPassword, SERVICE, signCaller } from '@pm/service-kit'
import { type PrivateRedis, startPrivateRedis } from '@pm/testing/redis'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sendGraphQL } from '@pm/testing/subgraph'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY_CACHE_MS, PERSISTED_ONLY_MESSAGE } from '../src/auth'
import { GatewayConfigError, loadGatewayEnvironment } from '../src/environment'
import { type RunningGateway, startGateway } from '../src/gateway'

let stack: TestStack
const gateways: RunningGateway[] = []
/** A superuser in db_core: owns the API keys (createApiKey checks the owner holds the scopes). */
const owner = {
  id: randomUUID(),
  email: 'partner-owner@example.com',
  hashed_password: 'x',
  is_superuser: true,
}
const member = { id: randomUUID(), email: 'member@example.com', hashed_password: 'x' }

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
const PRODUCTS = '{ products(first: 1) { totalCount } }'
const ME = '{ me { id email } }'

beforeAll(async () => {
  // Short API-key cache: the test of a key revoked elsewhere waits it out.
  stack = await startTestStack({ gateway: { apiKeyCacheMs: 1_000 } })
  const { db } = stack.subgraphs.core.database
  await db.insertInto('users').values([owner, member]).execute()
})
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()))
  await stack?.stop()
})

/** One error with this code and HTTP status, no data, nothing of the server's insides. */
function expectRefused(
  res: { status: number; body: { data?: unknown; errors?: { message: string; extensions?: any }[] } },
  status: number,
  code: string,
) {
  expect(res.status, JSON.stringify(res.body)).toBe(status)
  expect(res.body.data ?? undefined).toBeUndefined()
  expect(res.body.errors).toHaveLength(1)
  expect(res.body.errors![0]!.extensions?.code).toBe(code)
  expect(JSON.stringify(res.body)).not.toMatch(/stacktrace|\bat .+\.(ts|js):\d+/)
  return res.body.errors![0]!
}

describe('a subgraph reached directly', () => {
  /** Headers signed for the body sendGraphQL sends, to `target`, at `now`, with `secret`. */
  const signed =
    (caller: Caller, target: string, options: { secret?: string; now?: number; payload?: string } = {}) =>
    (body: string) =>
      signCaller(
        caller,
        options.secret ?? stack.secrets.signing,
        { target, payload: options.payload ?? body },
        options.now,
      )

  it.each(DOMAINS)(
    '%s: answers only a signature made for this request, this subgraph, within 15 s; /health stays open',
    async (domain: Domain) => {
      const { server } = stack.subgraphs[domain]
      const query = '{ __typename }'
      const other = DOMAINS.find((d) => d !== domain)!
      const cases: Record<string, Record<string, string> | ((body: string) => Record<string, string>)> = {
        unsigned: {},
        forged: signed(SERVICE, domain, { secret: 'not-the-secret-but-long-enough-to-look-real' }),
        stale: signed(SERVICE, domain, { now: Date.now() - 20_000 }),
        'from the future': signed(SERVICE, domain, { now: Date.now() + 60_000 }),
        // A signed anonymous identity with the caller part swapped for a superuser's.
        tampered: (body) => ({
          ...signed(ANONYMOUS, domain)(body),
          'x-pm-caller': signed(SERVICE, domain)(body)['x-pm-caller']!,
        }),
        'signature only': (body) => ({ 'x-pm-signature': signed(SERVICE, domain)(body)['x-pm-signature']! }),
        // Taken from another request: another body, or the same body sent to another subgraph.
        'another body': signed(SERVICE, domain, {
          payload: JSON.stringify({ query: '{ _service { sdl } }' }),
        }),
        'another subgraph': signed(SERVICE, other),
      }
      for (const [name, headers] of Object.entries(cases)) {
        const res = await sendGraphQL(server.graphqlUrl, query, undefined, headers)
        const error = expectRefused(res, 401, 'UNAUTHENTICATED')
        expect(error.message, name).toMatch(/signed by the gateway/)
      }
      // A GET is refused the same way, also with a signature made for a POST body.
      const search = `?query=${encodeURIComponent(query)}`
      const get = (headers: Record<string, string>) =>
        fetch(`${server.graphqlUrl}${search}`, {
          headers: { 'apollo-require-preflight': 'true', ...headers },
        })
      expect((await get({})).status).toBe(401)
      expect((await get(signed(SERVICE, domain)(JSON.stringify({ query })))).status).toBe(401)
      expect((await get(signed(SERVICE, domain)(search))).status).toBe(200)
      // The same request, signed now for it with the shared secret, is answered.
      const ok = await sendGraphQL(server.graphqlUrl, query, undefined, signed(SERVICE, domain))
      expect(ok.status).toBe(200)
      expect(ok.body).toEqual({ data: { __typename: 'Query' } })
      expect((await fetch(`${server.url}/health`)).status).toBe(200)
      expect((await fetch(`${server.adminUrl}/ready`)).status).toBe(200)
    },
  )

  it('an audit entry still reaches analytics: the relay signs as SERVICE', async () => {
    const res = await stack.request(
      `mutation($input: CreateNotificationInput!) { createNotification(input: $input) { id } }`,
      { input: { userId: member.id, title: 'Signed relay', message: 'm' } },
    )
    expect(res.errors).toBeUndefined()
    const id = res.data.createNotification.id
    await stack.subgraphs.core.server.auditRelay.flush()
    expect(await stack.subgraphs.core.server.auditRelay.pending()).toBe(0)
    const rows = await stack.subgraphs.analytics.database.db
      .selectFrom('audit_logs')
      .select(['user_id', 'entity_id'])
      .where('entity_id', '=', id)
      .execute()
    // The entry carries the user the gateway authenticated (the stack's superuser token).
    expect(rows).toEqual([{ user_id: stack.superuserId, entity_id: id }])
  })
})

describe('bearer tokens at the gateway', () => {
  it('a valid token: the subgraphs see the user (me), with its permissions', async () => {
    const res = await stack.request(
      ME,
      {},
      { authorization: `Bearer ${stack.tokenFor({ userId: member.id })}` },
    )
    expect(res).toEqual({ data: { me: { id: member.id, email: member.email } } })
  })

  it('refuses expired, forged, alg none, malformed and non-Bearer credentials with 401, never as anonymous', async () => {
    const valid = stack.tokenFor({ userId: member.id, superuser: true })
    const [header, payload] = valid.split('.') as [string, string]
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const hs256 = (input: string, secret: string) =>
      createHmac('sha256', secret).update(input).digest('base64url')
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
    const now = Math.floor(Date.now() / 1000)
    const elevated = b64({ ...claims, su: true, perms: ['*:*'] })
    const credentials: Record<string, string> = {
      expired: `Bearer ${stack.tokenFor({ userId: member.id, superuser: true, ttlSeconds: -120 })}`,
      'expired, re-signed with another secret': `Bearer ${header}.${b64({ ...claims, iat: now - 3600, exp: now - 1800 })}.${hs256(`${header}.x`, 'x'.repeat(40))}`,
      'forged (another secret)': `Bearer ${header}.${payload}.${hs256(`${header}.${payload}`, 'a-different-secret-of-enough-length-000')}`,
      'alg none': `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${elevated}.`,
      'alg none, signature kept': `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${payload}.${valid.split('.')[2]}`,
      'claims changed after signing': `Bearer ${header}.${elevated}.${valid.split('.')[2]}`,
      malformed: 'Bearer not-a-jwt',
      'empty bearer': 'Bearer ',
      basic: `Basic ${Buffer.from('admin:admin').toString('base64')}`,
    }
    for (const [name, authorization] of Object.entries(credentials)) {
      const res = await stack.send(PRODUCTS, {}, { authorization })
      const error = expectRefused(res, 401, 'UNAUTHENTICATED')
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="graphql"')
      expect(error.message, name).toMatch(/token|Authorization/)
    }
    // Anonymous (no header) is another matter: public fields answer.
    const anonymous = await stack.send('{ modules { id } }', {}, { authorization: '' })
    expect(anonymous.status).toBe(200)
    expect(anonymous.body.data.modules.length).toBe(17)
  })

  it('anonymous: public fields answer, the rest is refused by the subgraph; forwarded identity headers are refused', async () => {
    const anonymous = { authorization: '' }
    expect(await stack.request(ME, {}, anonymous)).toEqual({ data: { me: null } })
    // Identity headers a client sends are never forwarded: a caller signed for a subgraph (not the gateway, the
    // only target a gateway accepts from the platform's own services) is refused outright.
    const res = await stack.send(
      '{ users(first: 1) { totalCount } }',
      {},
      {
        ...anonymous,
        ...signCaller(SERVICE, stack.secrets.signing, {
          target: 'core',
          payload: JSON.stringify({ query: '{ users(first: 1) { totalCount } }', variables: {} }),
        }),
      },
    )
    expect(res.status).toBe(401)
    expect(res.body.data ?? null).toBeNull()
    // Without such headers, the anonymous caller reaches core and is refused there.
    const plain = await stack.send('{ users(first: 1) { totalCount } }', {}, anonymous)
    expect(plain.status).toBe(200)
    expect(plain.body.errors).toEqual([
      expect.objectContaining({
        path: ['users'],
        extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }),
      }),
    ])
  })

  it('a user without the permission is refused by the subgraph; with it, served', async () => {
    const without = await stack.request(
      PRODUCTS.replace('products', 'users'),
      {},
      {
        authorization: `Bearer ${stack.tokenFor({ userId: member.id, permissions: ['product:read'] })}`,
      },
    )
    expect(without.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    const withIt = await stack.request(
      PRODUCTS.replace('products', 'users'),
      {},
      {
        authorization: `Bearer ${stack.tokenFor({ userId: member.id, permissions: ['user:read'] })}`,
      },
    )
    expect(withIt.errors).toBeUndefined()
    expect(withIt.data.users.totalCount).toBeGreaterThanOrEqual(2)
  })
})

describe('partner API keys', () => {
  const CREATE = `mutation($input: CreateApiKeyInput!) {
    createApiKey(input: $input) { key apiKey { id keyPrefix scopes allowedOperations rateLimitPerMinute } }
  }`
  async function createKey(input: Record<string, unknown> = {}) {
    const res = await stack.request(CREATE, {
      input: { name: `key ${randomUUID()}`, userId: owner.id, scopes: ['product:read'], ...input },
    })
    expect(res.errors).toBeUndefined()
    return res.data.createApiKey as { key: string; apiKey: { id: string } }
  }
  const withKey = (key: string) => ({ 'x-api-key': key })

  it('a valid key: the caller is a partner with the key’s scopes; its owner is `me`', async () => {
    const { key } = await createKey()
    const res = await stack.send(`{ products(first: 1) { totalCount } me { id } }`, {}, withKey(key))
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ data: { products: { totalCount: 0 }, me: { id: owner.id } } })
    // Beyond its scopes: refused by the subgraph.
    const users = await stack.request('{ users(first: 1) { totalCount } }', {}, withKey(key))
    expect(users.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
  })

  it('unknown, malformed, revoked and expired keys → 401 UNAUTHENTICATED', async () => {
    const revoked = await createKey()
    const revoke = await stack.request('mutation($id: UUID!) { revokeApiKey(id: $id) { revokedAt } }', {
      id: revoked.apiKey.id,
    })
    expect(revoke.errors).toBeUndefined()
    const expired = await createKey()
    await stack.subgraphs.core.database.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 60_000) })
      .where('id', '=', expired.apiKey.id)
      .execute()
    const keys: Record<string, string> = {
      revoked: revoked.key,
      expired: expired.key,
      unknown: `${revoked.key.slice(0, 12)}${'A'.repeat(revoked.key.length - 12)}`,
      malformed: 'pm_nope',
    }
    for (const [name, key] of Object.entries(keys)) {
      const error = expectRefused(await stack.send(PRODUCTS, {}, withKey(key)), 401, 'UNAUTHENTICATED')
      expect(error.message, name).toMatch(/API key is invalid, expired or revoked/)
    }
    // Both a token and a key: ambiguous, refused.
    const both = await stack.send(
      PRODUCTS,
      {},
      { ...withKey(revoked.key), authorization: `Bearer ${stack.tokenFor()}` },
    )
    expectRefused(both, 401, 'UNAUTHENTICATED')
  })

  it('a key revoked after use stops working: at once through this gateway, within the cache time elsewhere', async () => {
    expect(API_KEY_CACHE_MS).toBe(30_000)
    const first = await createKey()
    expect((await stack.send(PRODUCTS, {}, withKey(first.key))).status).toBe(200)
    await stack.request('mutation($id: UUID!) { revokeApiKey(id: $id) { id } }', { id: first.apiKey.id })
    expectRefused(await stack.send(PRODUCTS, {}, withKey(first.key)), 401, 'UNAUTHENTICATED')

    // Revoked behind the gateway's back (SQL): the cached answer lasts at most apiKeyCacheMs (1 s here).
    const second = await createKey()
    expect((await stack.send(PRODUCTS, {}, withKey(second.key))).status).toBe(200)
    await stack.subgraphs.core.database.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date(), is_active: false })
      .where('id', '=', second.apiKey.id)
      .execute()
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    expectRefused(await stack.send(PRODUCTS, {}, withKey(second.key)), 401, 'UNAUTHENTICATED')
  })

  it('a key limited to persisted operations runs those only, by text or by APQ hash', async () => {
    const allowed = `query Allowed { products(first: 2) { totalCount } }`
    const other = `query Other { products(first: 3) { totalCount } }`
    const { key } = await createKey({ allowedOperations: [sha256(allowed)] })

    const ok = await stack.send(allowed, {}, withKey(key))
    expect(ok.status).toBe(200)
    expect(ok.body).toEqual({ data: { products: { totalCount: 0 } } })
    const refused = expectRefused(await stack.send(other, {}, withKey(key)), 403, 'FORBIDDEN')
    expect(refused.message).toBe(PERSISTED_ONLY_MESSAGE)

    // Automatic persisted queries: the hash of the document actually executed is what counts.
    const apq = (query: string | undefined, hash: string) =>
      fetch(stack.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...withKey(key) },
        body: JSON.stringify({
          ...(query ? { query } : {}),
          extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
        }),
      }).then(async (r) => ({ status: r.status, body: await r.json() }))
    expect((await apq(allowed, sha256(allowed))).status).toBe(200)
    const byHash = await apq(undefined, sha256(allowed))
    expect(byHash).toEqual({ status: 200, body: { data: { products: { totalCount: 0 } } } })
    // Another document under the allowed hash: Apollo refuses the mismatch before anything runs.
    const mismatch = await apq(other, sha256(allowed))
    expect(mismatch.status).toBe(400)
    expect(mismatch.body.data).toBeUndefined()
    expect(mismatch.body.errors).toEqual([
      { message: 'provided sha does not match query', extensions: { code: 'BAD_REQUEST' } },
    ])
    // Registered by someone else, then asked for by hash: still not this key's.
    expect((await stack.send(other, {}, {})).status).toBe(200)
    const registered = await fetch(stack.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${stack.tokenFor({ superuser: true })}`,
      },
      body: JSON.stringify({
        query: other,
        extensions: { persistedQuery: { version: 1, sha256Hash: sha256(other) } },
      }),
    })
    expect(registered.status).toBe(200)
    expectRefused(await apq(undefined, sha256(other)), 403, 'FORBIDDEN')

    // A key with no list runs anything its scopes allow.
    const open = await createKey()
    expect((await stack.send(other, {}, withKey(open.key))).status).toBe(200)
  })
})

describe('two gateways sharing Redis', () => {
  let redis: PrivateRedis
  const pair: RunningGateway[] = []
  const cacheName = `test-${randomUUID()}`

  beforeAll(async () => {
    redis = await startPrivateRedis()
    for (let i = 0; i < 2; i++) {
      const gateway = await startGateway({
        port: 0,
        host: '127.0.0.1',
        subgraphUrls: Object.fromEntries(
          Object.entries(stack.subgraphs).map(([d, sg]) => [d, sg.server.graphqlUrl]),
        ) as Record<Domain, string>,
        logger: createLogger({ service: `auth-redis-${i}` }, 'error'),
        signingSecret: stack.secrets.signing,
        tokenSecret: stack.secrets.token,
        redisUrl: redis.url,
        cache: { name: cacheName },
      })
      pair.push(gateway)
      gateways.push(gateway)
    }
  })
  afterAll(async () => {
    await Promise.all(pair.map((g) => g.stop()))
    await redis?.stop()
  })

  it('a logout through one gateway has the other refuse the session’s access token', async () => {
    const [a, b] = pair as [RunningGateway, RunningGateway]
    const { db } = stack.subgraphs.core.database
    const email = `two-gateways-${randomUUID().slice(0, 8)}@example.com`
    await db
      .insertInto('users')
      .values({ email, hashed_password: await hashPassword('Two-Gateways-1') })
      .execute()
    const signedIn = await sendGraphQL(
      a.graphqlUrl,
      'mutation($e: String!) { login(email: $e, password: "Two-Gateways-1") { accessToken refreshToken } }',
      { e: email },
    )
    const { accessToken, refreshToken } = signedIn.body.data.login
    const bearer = { authorization: `Bearer ${accessToken}` }
    // Both gateways have the session's answer (standing) cached.
    for (const gateway of pair)
      expect((await sendGraphQL(gateway.graphqlUrl, ME, {}, bearer)).status).toBe(200)

    const out = await sendGraphQL(a.graphqlUrl, 'mutation($t: String!) { logout(refreshToken: $t) }', {
      t: refreshToken,
    })
    expect(out.body.data).toEqual({ logout: true })
    expectRefused(await sendGraphQL(a.graphqlUrl, ME, {}, bearer), 401, 'UNAUTHENTICATED')
    // The logout moved the sessions' generation in Redis: b drops its answer when it hears of it.
    const deadline = Date.now() + 15_000
    for (;;) {
      const res = await sendGraphQL(b.graphqlUrl, ME, {}, bearer)
      if (res.status === 401) {
        expectRefused(res, 401, 'UNAUTHENTICATED')
        break
      }
      expect(res.status).toBe(200)
      if (Date.now() > deadline) throw new Error('gateway b still accepts the token 15 s after the logout')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })
})

describe('the rate limit counts the authenticated caller', () => {
  const query = '{ __typename }'
  let gateway: RunningGateway

  beforeAll(async () => {
    gateway = await startGateway({
      port: 0,
      host: '127.0.0.1',
      subgraphUrls: Object.fromEntries(
        Object.entries(stack.subgraphs).map(([d, sg]) => [d, sg.server.graphqlUrl]),
      ) as Record<Domain, string>,
      logger: createLogger({ service: 'auth-rate-test' }, 'error'),
      signingSecret: stack.secrets.signing,
      tokenSecret: stack.secrets.token,
      rateLimitPerMinute: 2,
    })
    gateways.push(gateway)
  })

  /** Rate-limit windows are wall-clock minutes: keep a test's few requests inside one. */
  async function awayFromMinuteEdge() {
    const left = 60_000 - (Date.now() % 60_000)
    if (left < 5_000) await new Promise((resolve) => setTimeout(resolve, left + 50))
  }

  it('one counter per user, per API key (with the key’s own limit), and per address for anonymous callers', async () => {
    const post = (headers: Record<string, string>) =>
      sendGraphQL(gateway.graphqlUrl, query, undefined, headers)
    const alice = { authorization: `Bearer ${stack.tokenFor({ userId: randomUUID() })}` }
    const bob = { authorization: `Bearer ${stack.tokenFor({ userId: randomUUID() })}` }
    const created = await stack.request(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`,
      { input: { name: 'fast partner', userId: owner.id, scopes: ['product:read'], rateLimitPerMinute: 4 } },
    )
    expect(created.errors).toBeUndefined()
    const partner = { 'x-api-key': created.data.createApiKey.key }
    await awayFromMinuteEdge()
    for (let i = 0; i < 2; i++) expect((await post(alice)).status).toBe(200)
    const refused = await post(alice)
    expectRefused(refused, 429, 'RATE_LIMITED')
    expect(refused.headers.get('ratelimit-limit')).toBe('2')
    // Same address, another user: a counter of its own; anonymous callers count against the address.
    expect((await post(bob)).status).toBe(200)
    expect((await post({})).status).toBe(200)
    expect((await post({})).status).toBe(200)
    expectRefused(await post({}), 429, 'RATE_LIMITED')
    // The key's own limit (4) instead of the gateway's (2).
    for (let i = 0; i < 4; i++) {
      const res = await post(partner)
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit-limit')).toBe('4')
    }
    expectRefused(await post(partner), 429, 'RATE_LIMITED')
  })
})

describe('secrets', () => {
  const base = { SUBGRAPH_CORE_URL: 'http://core:4001/graphql' }
  const good = 'x'.repeat(32)

  it('the gateway refuses to start without either secret, naming the variable', async () => {
    for (const [missing, env] of [
      ['GATEWAY_SIGNING_SECRET', { ...base, AUTH_TOKEN_SECRET: good }],
      ['AUTH_TOKEN_SECRET', { ...base, GATEWAY_SIGNING_SECRET: good }],
    ] as const) {
      for (const mode of ['development', 'production']) {
        const run = () => loadGatewayEnvironment({ ...env, NODE_ENV: mode })
        expect(run).toThrow(GatewayConfigError)
        expect(run).toThrow(new RegExp(`^${missing} is not set`))
        if (mode === 'production') expect(run).toThrow(/required in production/)
        else expect(run).toThrow(/pnpm start/)
      }
    }
    expect(() =>
      loadGatewayEnvironment({ ...base, GATEWAY_SIGNING_SECRET: 'short', AUTH_TOKEN_SECRET: good }),
    ).toThrow(/GATEWAY_SIGNING_SECRET is too short/)
    const env = loadGatewayEnvironment({
      ...base,
      GATEWAY_SIGNING_SECRET: good,
      AUTH_TOKEN_SECRET: `${good}y`,
    })
    expect(env).toMatchObject({ signingSecret: good, tokenSecret: `${good}y` })
    await expect(
      startGateway({
        port: 0,
        host: '127.0.0.1',
        subgraphUrls: loadGatewayEnvironment({
          ...base,
          GATEWAY_SIGNING_SECRET: good,
          AUTH_TOKEN_SECRET: good,
        }).subgraphUrls,
        logger: createLogger({ service: 'no-secret' }, 'error'),
        signingSecret: '',
        tokenSecret: good,
      }),
    ).rejects.toThrow(/GATEWAY_SIGNING_SECRET/)
  })
})
