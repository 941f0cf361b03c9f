/**
 * Sign-in, sessions and partner keys (core's part of issue 5), end to end through the gateway, plus the
 * internal authenticateApiKey asked of core directly as the gateway does (signed as SERVICE).
 */
import { randomUUID } from 'node:crypto'
import {
  type Caller,
  hashPassword,
  hashPasswordWithSalt,
  SCRYPT_PARAMS,
  SERVICE,
  sha256Hex,
  signAccessToken,
  signCaller,
  verifyAccessToken,
  verifyPassword,
} from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { postGraphQL } from '@pm/testing/subgraph'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ADMIN_PERMISSIONS } from '../../subgraphs/core/src/auth/permissions'
import {
  MAX_FAILURES,
  MAX_FAILURES_PER_ACCOUNT,
  MAX_FAILURES_PER_ADDRESS,
} from '../../subgraphs/core/src/auth/throttle'

// verifyPassword as the kit exports it, wrapped in a spy that calls the real one: the sign-in test counts
// the scrypt checks an unknown email costs (the same as a wrong password's, whatever the machine's load).
vi.mock('../../packages/service-kit/src/passwords', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../packages/service-kit/src/passwords')>()
  return { ...real, verifyPassword: vi.fn(real.verifyPassword) }
})

let stack: TestStack<'core'>
const db = () => stack.subgraphs.core.database.db

const PASSWORD = 'Correct-Horse-42'
const WRONG = 'email or password is wrong'
const AUTH_FIELDS =
  'accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt permissions superuser user { id email lastLogin }'
const LOGIN = `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { ${AUTH_FIELDS} } }`
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { ${AUTH_FIELDS} } }`
const LOGOUT = 'mutation($t: String!) { logout(refreshToken: $t) }'
const ME = '{ me { id email } }'
const KEY_FIELDS =
  'id userId name keyPrefix scopes allowedOperations rateLimitPerMinute isActive lastUsedAt expiresAt revokedAt createdAt user { id }'
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { ${KEY_FIELDS} } } }`
const REVOKE_KEY = `mutation($id: UUID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`
const AUTHENTICATE = `query($key: String!) { authenticateApiKey(key: $key) {
  id apiKeyId userId name keyPrefix permissions allowedOperations rateLimitPerMinute expiresAt } }`

/** Anonymous, from the file's own client address (the throttle tests use theirs). */
const ANON = { authorization: '', 'x-forwarded-for': '198.51.100.1' }
let lastAddress = 10
/** Anonymous, from a client address no other test uses. */
const fromNewAddress = () => ({ authorization: '', 'x-forwarded-for': `198.51.100.${lastAddress++}` })
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

let editorRoleId: number

interface UserSpec {
  email?: string
  password?: string
  role?: string
  isActive?: boolean
  isAdmin?: boolean
  isSuperuser?: boolean
  permissions?: unknown
  hash?: string
}

async function createUser(spec: UserSpec = {}) {
  const email = spec.email ?? `u-${randomUUID().slice(0, 8)}@example.com`
  const row = await db()
    .insertInto('users')
    .values({
      email,
      hashed_password: spec.hash ?? (await hashPassword(spec.password ?? PASSWORD)),
      role: spec.role ?? 'test-editor',
      is_active: spec.isActive ?? true,
      is_admin: spec.isAdmin ?? false,
      is_superuser: spec.isSuperuser ?? false,
      permissions: JSON.stringify(spec.permissions ?? {}),
    })
    .returning(['id', 'email'])
    .executeTakeFirstOrThrow()
  return row
}

function errorOf(res: { errors?: { message: string; extensions?: Record<string, unknown> }[] }) {
  expect(res.errors, 'an error was expected').toBeDefined()
  const { code, field, reason } = res.errors![0]!.extensions ?? {}
  return {
    code,
    message: res.errors![0]!.message,
    ...(field ? { field } : {}),
    ...(reason ? { reason } : {}),
  }
}

async function login(email: string, password = PASSWORD) {
  const res = await stack.request(LOGIN, { email, password }, ANON)
  expect(res.errors).toBeUndefined()
  return res.data.login
}

/** core's /graphql asked directly, signed as the gateway signs (default: SERVICE). */
function askCore(query: string, variables: Record<string, unknown>, caller: Caller = SERVICE) {
  return postGraphQL(stack.subgraphs.core.server.graphqlUrl, query, variables, (body) =>
    signCaller(caller, stack.secrets.signing, { target: 'core', payload: body }),
  )
}

beforeAll(async () => {
  // trustProxy: each test says which client address it signs in from (X-Forwarded-For).
  stack = await startTestStack({ only: ['core'], gateway: { trustProxy: true } })
  const role = await db()
    .insertInto('roles')
    .values({ name: 'test-editor' })
    .returning('id')
    .executeTakeFirstOrThrow()
  editorRoleId = role.id
  await db().insertInto('roles').values({ name: 'nobody' }).execute()
  // The permissions the migrations seeded.
  const permissions = await db()
    .selectFrom('permissions')
    .select(['id', 'name'])
    .where('name', 'in', ['product:read', 'product:update', 'product:delete', 'brand:read', 'media:read'])
    .execute()
  await db()
    .insertInto('role_permissions')
    .values(
      permissions
        .filter((p) => ['product:read', 'product:update', 'brand:read'].includes(p.name))
        .map((p) => ({ role_id: editorRoleId, permission_id: p.id })),
    )
    .execute()
})
afterAll(() => stack?.stop())

describe('login', () => {
  it('signs in: a verifiable token carrying the role’s and the user’s permissions, last_login set', async () => {
    const user = await createUser({
      email: 'alice@example.com',
      permissions: { 'media:read': true, 'brand:read': false, scopes: ['x'] },
    })
    const before = Date.now()
    const res = await stack.request(LOGIN, { email: '  Alice@Example.COM ', password: PASSWORD }, ANON)
    expect(res.errors).toBeUndefined()
    const payload = res.data.login
    expect(payload.user).toMatchObject({ id: user.id, email: 'alice@example.com' })
    expect(Date.parse(payload.user.lastLogin)).toBeGreaterThanOrEqual(before - 2000)
    expect(payload.permissions).toEqual(['brand:read', 'media:read', 'product:read', 'product:update'])
    expect(payload.superuser).toBe(false)

    const claims = verifyAccessToken(payload.accessToken, stack.secrets.token)
    expect(claims).toMatchObject({ sub: user.id, perms: payload.permissions, su: false })
    expect(claims!.exp - claims!.iat).toBe(900)
    expect(Date.parse(payload.accessTokenExpiresAt)).toBe(claims!.exp * 1000)
    expect(verifyAccessToken(payload.accessToken, 'another-secret-of-at-least-32-characters!!')).toBeNull()
    const thirtyDays = 30 * 24 * 3600 * 1000
    expect(Date.parse(payload.refreshTokenExpiresAt) - before).toBeGreaterThan(thirtyDays - 60_000)

    // The refresh token is stored only as its SHA-256, in the session the access token names.
    expect(payload.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const stored = await db()
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute()
    expect(stored).toHaveLength(1)
    expect(stored[0]).toMatchObject({ token_hash: sha256Hex(payload.refreshToken), family_id: claims!.sid })
    expect(JSON.stringify(stored)).not.toContain(payload.refreshToken)

    // The token works at the gateway: me is the user; anonymous me is null.
    expect((await stack.request(ME, {}, bearer(payload.accessToken))).data.me).toEqual({
      id: user.id,
      email: 'alice@example.com',
    })
    expect((await stack.request(ME, {}, ANON)).data).toEqual({ me: null })

    // One audit entry for the sign-in, in core's outbox (no analytics in this stack).
    const audit = await db()
      .selectFrom('audit_outbox')
      .selectAll()
      .where('action', '=', 'login')
      .where('entity_id', '=', user.id)
      .execute()
    expect(audit).toHaveLength(1)
    expect(audit[0]!.user_id).toBe(user.id)
  })

  it('gives administrators the management permissions and superusers the su claim', async () => {
    const admin = await createUser({ role: 'nobody', isAdmin: true, permissions: ['product:read', 'junk'] })
    const a = await login(admin.email)
    expect(a.permissions).toEqual([...ADMIN_PERMISSIONS, 'product:read'].sort())
    expect(a.superuser).toBe(false)
    const root = await createUser({ role: 'nobody', isSuperuser: true })
    const r = await login(root.email)
    expect(r).toMatchObject({ permissions: [], superuser: true })
    expect(verifyAccessToken(r.accessToken, stack.secrets.token)?.su).toBe(true)
  })

  it('accepts existing hashes whatever their password (the demo users’ demo1234)', async () => {
    const demo = await createUser({ hash: hashPasswordWithSalt('demo1234', 'ab'.repeat(16)) })
    await login(demo.email, 'demo1234')
  })

  it('answers a wrong password and an unknown email the same way, after the same work', async () => {
    const user = await createUser()
    const stored = await db()
      .selectFrom('users')
      .select('hashed_password')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow()
    // Every password check of the sign-in, through the real code path (the spy calls the real scrypt check).
    const verify = vi.mocked(verifyPassword)
    const checksOf = async (email: string) => {
      verify.mockClear()
      const res = await stack.request(LOGIN, { email, password: 'not-it' }, ANON)
      const checks = verify.mock.calls.map(([password, hash], i) => ({
        password,
        hash,
        // Settled before the answer came back: the sign-in waited for the check.
        settled: verify.mock.settledResults[i],
      }))
      return { res, checks }
    }

    const wrong = await checksOf(user.email)
    const unknown = await checksOf('nobody-here@example.com')
    expect(errorOf(wrong.res)).toEqual({ code: 'UNAUTHENTICATED', message: WRONG })
    expect(errorOf(unknown.res)).toEqual(errorOf(wrong.res))
    expect(unknown.res.errors![0]).toEqual(wrong.res.errors![0])

    // A wrong password is one scrypt check against the user's hash...
    expect(wrong.checks).toEqual([
      { password: 'not-it', hash: stored.hashed_password, settled: { type: 'fulfilled', value: false } },
    ])
    // ...and an unknown email too, against a hash of no user with the same cost: scrypt's N, r and p,
    // salt and key lengths (`scrypt$N$r$p$<salt hex>$<key hex>`).
    expect(unknown.checks).toHaveLength(1)
    const [check] = unknown.checks
    expect(check).toMatchObject({ password: 'not-it', settled: { type: 'fulfilled', value: false } })
    expect(check!.hash).not.toBe(stored.hashed_password)
    const cost = (hash: string) => {
      const [scheme, n, r, p, salt, key] = hash.split('$')
      return { scheme, n, r, p, saltLength: salt?.length, keyLength: key?.length }
    }
    expect(cost(check!.hash)).toEqual(cost(stored.hashed_password))
    expect(cost(check!.hash)).toEqual({
      scheme: 'scrypt',
      n: String(SCRYPT_PARAMS.N),
      r: String(SCRYPT_PARAMS.r),
      p: String(SCRYPT_PARAMS.p),
      saltLength: 32,
      keyLength: SCRYPT_PARAMS.keyLength * 2,
    })
  })

  it('refuses a disabled account, saying so only after a correct password', async () => {
    const user = await createUser({ isActive: false })
    expect(errorOf(await stack.request(LOGIN, { email: user.email, password: 'nope' }, ANON))).toEqual({
      code: 'UNAUTHENTICATED',
      message: WRONG,
    })
    const res = await stack.request(LOGIN, { email: user.email, password: PASSWORD }, ANON)
    expect(errorOf(res).code).toBe('UNAUTHENTICATED')
    expect(res.errors![0]!.message).toMatch(/disabled/)
    expect(res.data).toBeNull()
    const row = await db()
      .selectFrom('users')
      .select('last_login')
      .where('id', '=', user.id)
      .executeTakeFirst()
    expect(row!.last_login).toBeNull()
  })

  it('refuses a malformed email naming the field', async () => {
    expect(errorOf(await stack.request(LOGIN, { email: 'not an email', password: 'x' }, ANON))).toMatchObject(
      {
        code: 'BAD_USER_INPUT',
        field: 'email',
      },
    )
  })
})

describe('login throttle', () => {
  const attempts = (email: string) =>
    db().selectFrom('login_attempts').selectAll().where('email', '=', email).execute()
  const loginFrom = (from: Record<string, string>, email: string, password: string) =>
    stack.request(LOGIN, { email, password }, from)

  it(`refuses an address after ${MAX_FAILURES} failures for an account, without checking the password`, async () => {
    const user = await createUser()
    const from = fromNewAddress()
    for (let i = 0; i < MAX_FAILURES; i++) {
      expect(errorOf(await loginFrom(from, user.email, `bad-${i}`)).message).toBe(WRONG)
    }
    // Even the right password is refused now, and the refusal is not counted as an attempt.
    const refused = await loginFrom(from, user.email, PASSWORD)
    expect(errorOf(refused)).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOO_MANY_ATTEMPTS' })
    expect(refused.errors![0]!.extensions!.scope).toBe('account')
    const retryAfter = refused.errors![0]!.extensions!.retryAfter as number
    expect(retryAfter).toBeGreaterThan(850)
    expect(retryAfter).toBeLessThanOrEqual(900)
    expect(await attempts(user.email)).toHaveLength(MAX_FAILURES)
    const row = await db()
      .selectFrom('users')
      .select('last_login')
      .where('id', '=', user.id)
      .executeTakeFirst()
    expect(row!.last_login).toBeNull()

    // The owner, from another address, is not locked out by that one.
    expect((await loginFrom(fromNewAddress(), user.email, PASSWORD)).errors).toBeUndefined()

    // 15 minutes later the window has passed.
    await db()
      .updateTable('login_attempts')
      .set({ attempted_at: sql<Date>`attempted_at - interval '15 minutes'` })
      .where('email', '=', user.email)
      .execute()
    expect((await loginFrom(from, user.email, PASSWORD)).errors).toBeUndefined()
  })

  it('lets a success clear the count', async () => {
    const user = await createUser()
    const from = fromNewAddress()
    for (let i = 0; i < MAX_FAILURES - 1; i++) await loginFrom(from, user.email, 'bad')
    expect((await loginFrom(from, user.email, PASSWORD)).errors).toBeUndefined()
    for (let i = 0; i < MAX_FAILURES - 1; i++) await loginFrom(from, user.email, 'bad')
    expect((await loginFrom(from, user.email, PASSWORD)).errors).toBeUndefined()
    const rows = await attempts(user.email)
    expect(rows.filter((r) => r.succeeded)).toHaveLength(2)
  })

  it('throttles unknown emails the same way (nothing tells which emails exist)', async () => {
    const email = `ghost-${randomUUID().slice(0, 8)}@example.com`
    const from = fromNewAddress()
    for (let i = 0; i < MAX_FAILURES; i++) await loginFrom(from, email, 'x')
    expect(errorOf(await loginFrom(from, email, 'x'))).toMatchObject({ reason: 'TOO_MANY_ATTEMPTS' })
  })

  it(`stops an address after ${MAX_FAILURES_PER_ADDRESS} failures whatever the accounts; a success there does not reset it`, async () => {
    const from = fromNewAddress()
    const own = await createUser()
    for (let i = 0; i < MAX_FAILURES_PER_ADDRESS; i++) {
      if (i === 10) expect((await loginFrom(from, own.email, PASSWORD)).errors).toBeUndefined()
      const email = `spray-${i}-${randomUUID().slice(0, 6)}@example.com`
      expect(errorOf(await loginFrom(from, email, 'Wrong-password-1')).message).toBe(WRONG)
    }
    const victim = await createUser()
    const refused = await loginFrom(from, victim.email, PASSWORD)
    expect(errorOf(refused)).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOO_MANY_ATTEMPTS' })
    expect(refused.errors![0]!.extensions!.scope).toBe('address')
    // Anyone elsewhere signs in as usual.
    expect((await loginFrom(fromNewAddress(), victim.email, PASSWORD)).errors).toBeUndefined()
  })

  it(`stops guesses at one account spread over many addresses after ${MAX_FAILURES_PER_ACCOUNT}`, async () => {
    const user = await createUser()
    const perAddress = MAX_FAILURES - 1
    for (let n = 0; n < MAX_FAILURES_PER_ACCOUNT; n += perAddress) {
      const from = fromNewAddress()
      for (let i = 0; i < Math.min(perAddress, MAX_FAILURES_PER_ACCOUNT - n); i++) {
        expect(errorOf(await loginFrom(from, user.email, `bad-${n}-${i}`)).message).toBe(WRONG)
      }
    }
    const refused = await loginFrom(fromNewAddress(), user.email, PASSWORD)
    expect(errorOf(refused)).toMatchObject({ reason: 'TOO_MANY_ATTEMPTS' })
    expect(refused.errors![0]!.extensions!.scope).toBe('account')
  })

  it('counts concurrent guesses: no more than the limit get a password check', async () => {
    const user = await createUser()
    const from = fromNewAddress()
    const results = await Promise.all(Array.from({ length: 12 }, () => loginFrom(from, user.email, 'bad')))
    const checked = results.filter((r) => r.errors![0]!.message === WRONG)
    expect(checked).toHaveLength(MAX_FAILURES)
    expect(await attempts(user.email)).toHaveLength(MAX_FAILURES)
  })

  it('records the client address with the attempts, the session and the user', async () => {
    const user = await createUser()
    const from = fromNewAddress()
    await loginFrom(from, user.email, 'bad')
    const payload = (await loginFrom(from, user.email, PASSWORD)).data.login
    const address = from['x-forwarded-for']
    expect((await attempts(user.email)).map((a) => a.ip)).toEqual([address, address])
    const session = await db()
      .selectFrom('refresh_tokens')
      .select('ip')
      .where('token_hash', '=', sha256Hex(payload.refreshToken))
      .executeTakeFirstOrThrow()
    expect(session.ip).toBe(address)
    const row = await db()
      .selectFrom('users')
      .select('last_login_ip')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow()
    expect(row.last_login_ip).toBe(address)
  })

  it("throttles changePassword's current-password check the same way, sharing the counts", async () => {
    const user = await createUser()
    const from = fromNewAddress()
    const { accessToken } = (await loginFrom(from, user.email, PASSWORD)).data.login
    const CHANGE = `mutation($id: UUID!, $c: String!, $n: String!) {
      changePassword(id: $id, currentPassword: $c, newPassword: $n) { id } }`
    const headers = { ...bearer(accessToken), 'x-forwarded-for': from['x-forwarded-for'] }
    for (let i = 0; i < MAX_FAILURES; i++) {
      const wrong = await stack.request(
        CHANGE,
        { id: user.id, c: `Wrong-${i}-pass`, n: 'Brand-New-Pass-7' },
        headers,
      )
      expect(errorOf(wrong)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'currentPassword' })
    }
    const refused = await stack.request(CHANGE, { id: user.id, c: PASSWORD, n: 'Brand-New-Pass-7' }, headers)
    expect(errorOf(refused)).toMatchObject({ code: 'FORBIDDEN', reason: 'TOO_MANY_ATTEMPTS' })
    // The same counts as sign-in: that address cannot sign in to the account either.
    expect(errorOf(await loginFrom(from, user.email, PASSWORD))).toMatchObject({
      reason: 'TOO_MANY_ATTEMPTS',
    })
    const stored = await db()
      .selectFrom('users')
      .select('hashed_password')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow()
    expect(await verifyPassword(PASSWORD, stored.hashed_password)).toBe(true)
  })
})

describe('sessions', () => {
  it('rotates refresh tokens; reusing a rotated one revokes the whole session', async () => {
    const user = await createUser()
    const first = await login(user.email)
    const sid = verifyAccessToken(first.accessToken, stack.secrets.token)!.sid

    const second = (await stack.request(REFRESH, { t: first.refreshToken }, ANON)).data.refreshSession
    expect(second.refreshToken).not.toBe(first.refreshToken)
    expect(second.user.id).toBe(user.id)
    expect(verifyAccessToken(second.accessToken, stack.secrets.token)).toMatchObject({ sub: user.id, sid })

    const third = (await stack.request(REFRESH, { t: second.refreshToken }, ANON)).data.refreshSession
    expect(third.permissions).toEqual(first.permissions)

    // The first token again: refused, and the live one (third) dies with its session.
    const reuse = await stack.request(REFRESH, { t: first.refreshToken }, ANON)
    expect(errorOf(reuse).code).toBe('UNAUTHENTICATED')
    expect(reuse.errors![0]!.message).toMatch(/already used/)
    expect(errorOf(await stack.request(REFRESH, { t: third.refreshToken }, ANON)).code).toBe(
      'UNAUTHENTICATED',
    )
    const rows = await db().selectFrom('refresh_tokens').selectAll().where('family_id', '=', sid).execute()
    expect(rows).toHaveLength(3)
    expect(rows.every((r) => r.revoked_at !== null)).toBe(true)
    expect(rows.filter((r) => r.replaced_by !== null)).toHaveLength(2)
    const audit = await db()
      .selectFrom('audit_outbox')
      .select('action')
      .where('entity_id', '=', user.id)
      .where('action', '=', 'session_reuse')
      .execute()
    expect(audit).toHaveLength(1)
  })

  it('carries role changes into the refreshed token', async () => {
    const user = await createUser()
    const first = await login(user.email)
    const del = await db()
      .selectFrom('permissions')
      .select('id')
      .where('name', '=', 'product:delete')
      .executeTakeFirstOrThrow()
    await db()
      .insertInto('role_permissions')
      .values({ role_id: editorRoleId, permission_id: del.id })
      .execute()
    try {
      const next = (await stack.request(REFRESH, { t: first.refreshToken }, ANON)).data.refreshSession
      expect(next.permissions).toContain('product:delete')
      expect(first.permissions).not.toContain('product:delete')
    } finally {
      await db()
        .deleteFrom('role_permissions')
        .where('role_id', '=', editorRoleId)
        .where('permission_id', '=', del.id)
        .execute()
    }
  })

  it('refuses expired, unknown and disabled users’ refresh tokens', async () => {
    const user = await createUser()
    const a = await login(user.email)
    await db()
      .updateTable('refresh_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('token_hash', '=', sha256Hex(a.refreshToken))
      .execute()
    expect(errorOf(await stack.request(REFRESH, { t: a.refreshToken }, ANON)).message).toMatch(/expired/)
    expect(errorOf(await stack.request(REFRESH, { t: 'made-up' }, ANON)).code).toBe('UNAUTHENTICATED')
    // Longer than any token: refused as input before core looks it up.
    expect(errorOf(await stack.request(REFRESH, { t: 'x'.repeat(10_000) }, ANON))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'refreshToken',
    })

    const b = await login(user.email)
    await db().updateTable('users').set({ is_active: false }).where('id', '=', user.id).execute()
    expect(errorOf(await stack.request(REFRESH, { t: b.refreshToken }, ANON)).message).toMatch(/disabled/)
  })

  it('logs out one session, and everywhere for the signed-in user', async () => {
    const user = await createUser()
    const a = await login(user.email)
    expect((await stack.request(LOGOUT, { t: a.refreshToken }, ANON)).data).toEqual({ logout: true })
    expect(errorOf(await stack.request(REFRESH, { t: a.refreshToken }, ANON)).code).toBe('UNAUTHENTICATED')
    expect((await stack.request(LOGOUT, { t: a.refreshToken }, ANON)).data).toEqual({ logout: false })
    expect((await stack.request(LOGOUT, { t: 'unknown' }, ANON)).data).toEqual({ logout: false })

    const b = await login(user.email)
    const c = await login(user.email)
    const everywhere = await stack.request('mutation { logoutEverywhere }', {}, bearer(c.accessToken))
    expect(everywhere.data).toEqual({ logoutEverywhere: 2 })
    for (const t of [b.refreshToken, c.refreshToken]) {
      expect(errorOf(await stack.request(REFRESH, { t }, ANON)).code).toBe('UNAUTHENTICATED')
    }
    expect(errorOf(await stack.request('mutation { logoutEverywhere }', {}, ANON)).code).toBe(
      'UNAUTHENTICATED',
    )
  })

  it('ends the sessions of a user an administrator disables or gives a new password', async () => {
    for (const change of [
      'mutation($id: UUID!) { deactivateUser(id: $id) { id } }',
      'mutation($id: UUID!) { setUserPassword(id: $id, password: "Another-Horse-43") { id } }',
    ]) {
      const user = await createUser()
      const session = await login(user.email)
      expect((await stack.request(change, { id: user.id })).errors).toBeUndefined()
      const res = await stack.request(REFRESH, { t: session.refreshToken }, ANON)
      expect(errorOf(res).code).toBe('UNAUTHENTICATED')
    }
  })

  it('has expired and forged access tokens refused by the gateway', async () => {
    const user = await createUser()
    const claims = { sub: user.id, perms: [], su: false, sid: randomUUID() }
    const expired = signAccessToken(
      { ...claims, iat: Math.floor(Date.now() / 1000) - 3600 },
      stack.secrets.token,
      900,
    )
    const forged = signAccessToken(claims, 'an-attacker-secret-of-32-characters-or-more', 900)
    for (const token of [expired, forged]) {
      const res = await stack.send(ME, {}, bearer(token))
      expect(res.status).toBe(401)
      expect(res.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED')
      expect(res.body.data ?? null).toBeNull()
    }
  })
})

/** Polls `me` with the token until the gateway refuses it (401 UNAUTHENTICATED); fails after `ms`. */
async function untilRefused(token: string, ms = 15_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const res = await stack.send(ME, {}, bearer(token))
    if (res.status === 401) {
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED')
      return res.body.errors![0]!.message
    }
    expect(res.body.errors).toBeUndefined()
    if (Date.now() > deadline) throw new Error(`the token was still accepted ${ms} ms after its revocation`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('access tokens after a revocation', () => {
  const served = async (token: string) => {
    const res = await stack.send(ME, {}, bearer(token))
    expect(res.status).toBe(200)
    return res.body.data.me.id
  }

  it('stop working after logout, for that session only', async () => {
    const user = await createUser()
    const [one, two] = [await login(user.email), await login(user.email)]
    expect(await served(one.accessToken)).toBe(user.id)
    expect(await stack.request(LOGOUT, { t: one.refreshToken }, ANON)).toEqual({ data: { logout: true } })
    expect(await untilRefused(one.accessToken)).toMatch(/revoked/)
    expect(await served(two.accessToken)).toBe(user.id)
  })

  it('stop working after logoutEverywhere, a deactivation and a new password (reset or change)', async () => {
    const everywhere = await createUser()
    const tokens = [await login(everywhere.email), await login(everywhere.email)].map((s) => s.accessToken)
    for (const token of tokens) await served(token)
    expect(
      (await stack.request('mutation { logoutEverywhere }', {}, bearer(tokens[0]!))).data.logoutEverywhere,
    ).toBe(2)
    for (const token of tokens) await untilRefused(token)

    const disabled = await createUser()
    const disabledToken = (await login(disabled.email)).accessToken
    await served(disabledToken)
    await stack.request('mutation($id: UUID!) { deactivateUser(id: $id) { id } }', { id: disabled.id })
    await untilRefused(disabledToken)

    const reset = await createUser()
    const resetToken = (await login(reset.email)).accessToken
    await served(resetToken)
    await stack.request(
      'mutation($id: UUID!, $p: String!) { setUserPassword(id: $id, password: $p) { id } }',
      {
        id: reset.id,
        p: 'Another-Password-9',
      },
    )
    await untilRefused(resetToken)

    const changed = await createUser()
    const changedToken = (await login(changed.email)).accessToken
    const change = await stack.request(
      `mutation($id: UUID!, $c: String!, $n: String!) {
        changePassword(id: $id, currentPassword: $c, newPassword: $n) { id } }`,
      { id: changed.id, c: PASSWORD, n: 'Another-Password-9' },
      bearer(changedToken),
    )
    expect(change.errors).toBeUndefined()
    await untilRefused(changedToken)
    await login(changed.email, 'Another-Password-9')
  })

  it('stop working when a reused refresh token ends the session, even behind the gateway', async () => {
    const user = await createUser()
    const first = await login(user.email)
    const second = (await stack.request(REFRESH, { t: first.refreshToken }, ANON)).data.refreshSession
    await served(second.accessToken)
    // Revoked by SQL, not through the gateway: the cached answer lasts a few seconds at most.
    await db()
      .updateTable('refresh_tokens')
      .set({ revoked_at: sql<Date>`localtimestamp` })
      .where('user_id', '=', user.id)
      .execute()
    await untilRefused(second.accessToken)
  })
})

describe('API keys', () => {
  let partner: { id: string; email: string }

  beforeAll(async () => {
    partner = await createUser({ role: 'test-editor' })
  })

  async function createKey(input: Record<string, unknown>, headers?: Record<string, string>) {
    return stack.request(CREATE_KEY, { input: { name: 'sync', userId: partner.id, ...input } }, headers)
  }

  it('creates a key shown once and stored only as its SHA-256', async () => {
    const res = await createKey({ scopes: ['product:read', 'product:read'], rateLimitPerMinute: 120 })
    expect(res.errors).toBeUndefined()
    const { key, apiKey } = res.data.createApiKey
    expect(key).toMatch(/^pm_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/)
    expect(apiKey).toMatchObject({
      userId: partner.id,
      user: { id: partner.id },
      name: 'sync',
      keyPrefix: key.slice(0, 11),
      scopes: ['product:read'],
      allowedOperations: [],
      rateLimitPerMinute: 120,
      isActive: true,
      lastUsedAt: null,
      revokedAt: null,
    })
    const row = await db()
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', apiKey.id)
      .executeTakeFirstOrThrow()
    expect(row.key_hash).toBe(sha256Hex(key))
    expect(JSON.stringify(row)).not.toContain(key.slice(12))

    const list = await stack.request(`query($u: UUID!) { apiKeys(userId: $u) { ${KEY_FIELDS} } }`, {
      u: partner.id,
    })
    expect(list.errors).toBeUndefined()
    expect(list.data.apiKeys.map((k: { id: string }) => k.id)).toContain(apiKey.id)
    expect(JSON.stringify(list.data)).not.toContain(key.slice(12))
    const audit = await db()
      .selectFrom('audit_outbox')
      .selectAll()
      .where('entity_type', '=', 'api_key')
      .where('entity_id', '=', apiKey.id)
      .execute()
    expect(audit).toHaveLength(1)
    expect(JSON.stringify(audit)).not.toContain(key.slice(12))
  })

  it('checks scopes, operations, expiry and rate, naming the field', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ scopes: [] }, 'BAD_USER_INPUT', 'input.scopes'],
      [{ scopes: ['product:read', 'nonsense'] }, 'BAD_USER_INPUT', 'input.scopes[1]'],
      [{ scopes: ['product:create'] }, 'BAD_USER_INPUT', 'input.scopes[0]'],
      [{ scopes: ['media:read'] }, 'BAD_USER_INPUT', 'input.scopes[0]'],
      [
        { scopes: ['product:read'], allowedOperations: ['abc'] },
        'BAD_USER_INPUT',
        'input.allowedOperations[0]',
      ],
      [{ scopes: ['product:read'], expiresAt: '2020-01-01T00:00:00Z' }, 'BAD_USER_INPUT', 'input.expiresAt'],
      [{ scopes: ['product:read'], rateLimitPerMinute: 0 }, 'BAD_USER_INPUT', 'input.rateLimitPerMinute'],
      [{ scopes: ['product:read'], name: 'x'.repeat(256) }, 'BAD_USER_INPUT', 'input.name'],
      [{ scopes: ['product:read'], userId: randomUUID() }, 'NOT_FOUND', 'input.userId'],
    ]
    for (const [input, code, field] of cases) {
      expect(errorOf(await createKey(input)), JSON.stringify(input)).toMatchObject({ code, field })
    }
    const before = await db().selectFrom('api_keys').select('id').execute()

    // A key manager may only hand out what they hold, and *:* takes a superuser.
    const manager = await createUser({ role: 'nobody', permissions: { 'brand:read': true } })
    const token = stack.tokenFor({ userId: manager.id, permissions: ['apikey:create', 'brand:read'] })
    expect(errorOf(await createKey({ scopes: ['product:read'] }, bearer(token)))).toMatchObject({
      code: 'FORBIDDEN',
      field: 'input.scopes[0]',
    })
    expect(errorOf(await createKey({ scopes: ['*:*'] }, bearer(token)))).toMatchObject({
      code: 'FORBIDDEN',
      field: 'input.scopes[0]',
    })
    // A key acts as its owner: one for an account holding more than the manager is refused.
    expect(errorOf(await createKey({ scopes: ['brand:read'] }, bearer(token)))).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('API key for an account holding product:read'),
    })
    expect(
      (await createKey({ scopes: ['brand:read'], userId: manager.id }, bearer(token))).errors,
    ).toBeUndefined()
    // Without apikey:create, or anonymous: refused by the schema's policy.
    const plain = stack.tokenFor({ userId: manager.id, permissions: ['brand:read'] })
    expect(errorOf(await createKey({ scopes: ['brand:read'] }, bearer(plain))).code).toBe('FORBIDDEN')
    expect(errorOf(await createKey({ scopes: ['brand:read'] }, ANON)).code).toBe('UNAUTHENTICATED')
    const after = await db().selectFrom('api_keys').select('id').execute()
    expect(after.length).toBe(before.length + 1)
  })

  it('authenticates keys for the gateway: scopes the owner holds, null when revoked, expired or disabled', async () => {
    const hash = sha256Hex('query { me { id } }')
    const made = await createKey({ scopes: ['*:*'], allowedOperations: [hash.toUpperCase()] })
    expect(made.errors).toBeUndefined()
    const { key, apiKey } = made.data.createApiKey
    expect(apiKey.allowedOperations).toEqual([hash])

    const res = await askCore(AUTHENTICATE, { key })
    expect(res.errors).toBeUndefined()
    expect(res.data.authenticateApiKey).toEqual({
      id: apiKey.id,
      apiKeyId: apiKey.id,
      userId: partner.id,
      name: 'sync',
      keyPrefix: apiKey.keyPrefix,
      // *:* = everything the (editor) owner holds.
      permissions: ['brand:read', 'product:read', 'product:update'],
      allowedOperations: [hash],
      rateLimitPerMinute: 60,
      expiresAt: null,
    })

    // Not part of the public graph, and not for users (even superusers) asking core directly.
    expect(errorOf(await stack.request(AUTHENTICATE, { key })).code).toBe('GRAPHQL_VALIDATION_FAILED')
    const superuser: Caller = {
      kind: 'user',
      userId: randomUUID(),
      apiKeyId: null,
      permissions: [],
      superuser: true,
    }
    expect(errorOf(await askCore(AUTHENTICATE, { key }, superuser)).code).toBe('FORBIDDEN')

    for (const bad of [
      '',
      'pm_nothing',
      `${key}x`,
      `pm_00000000_${'A'.repeat(43)}`,
      key.replace(/.$/, '_'),
    ]) {
      expect((await askCore(AUTHENTICATE, { key: bad })).data, bad).toEqual({ authenticateApiKey: null })
    }

    // Expired.
    await db()
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', apiKey.id)
      .execute()
    expect((await askCore(AUTHENTICATE, { key })).data).toEqual({ authenticateApiKey: null })
    await db().updateTable('api_keys').set({ expires_at: null }).where('id', '=', apiKey.id).execute()
    // Owner disabled.
    await db().updateTable('users').set({ is_active: false }).where('id', '=', partner.id).execute()
    expect((await askCore(AUTHENTICATE, { key })).data).toEqual({ authenticateApiKey: null })
    await db().updateTable('users').set({ is_active: true }).where('id', '=', partner.id).execute()
    expect((await askCore(AUTHENTICATE, { key })).data.authenticateApiKey).not.toBeNull()

    // Revoked: at once, and revoking again changes nothing.
    const revoked = await stack.request(REVOKE_KEY, { id: apiKey.id })
    expect(revoked.errors).toBeUndefined()
    expect(revoked.data.revokeApiKey).toMatchObject({ isActive: false })
    expect(revoked.data.revokeApiKey.revokedAt).not.toBeNull()
    const again = await stack.request(REVOKE_KEY, { id: apiKey.id })
    expect(again.data.revokeApiKey.revokedAt).toBe(revoked.data.revokeApiKey.revokedAt)
    expect((await askCore(AUTHENTICATE, { key })).data).toEqual({ authenticateApiKey: null })
    expect(errorOf(await stack.request(REVOKE_KEY, { id: randomUUID() })).code).toBe('NOT_FOUND')

    // Listed only with includeInactive.
    const list = async (includeInactive: boolean) =>
      (
        await stack.request(
          'query($u: UUID!, $i: Boolean) { apiKeys(userId: $u, includeInactive: $i) { id } }',
          {
            u: partner.id,
            i: includeInactive,
          },
        )
      ).data.apiKeys.map((k: { id: string }) => k.id)
    expect(await list(false)).not.toContain(apiKey.id)
    expect(await list(true)).toContain(apiKey.id)
  })

  it('keeps only the scopes the owner still holds', async () => {
    const made = await createKey({ scopes: ['product:read', 'product:update'] })
    const { key } = made.data.createApiKey
    await db().updateTable('users').set({ role: 'nobody' }).where('id', '=', partner.id).execute()
    try {
      expect((await askCore(AUTHENTICATE, { key })).data.authenticateApiKey.permissions).toEqual([])
    } finally {
      await db().updateTable('users').set({ role: 'test-editor' }).where('id', '=', partner.id).execute()
    }
  })

  it('moves last_used_at at most once a minute', async () => {
    const { key, apiKey } = (await createKey({ scopes: ['product:read'] })).data.createApiKey
    const lastUsed = async () =>
      (
        await db()
          .selectFrom('api_keys')
          .select('last_used_at')
          .where('id', '=', apiKey.id)
          .executeTakeFirstOrThrow()
      ).last_used_at
    expect(await lastUsed()).toBeNull()
    await askCore(AUTHENTICATE, { key })
    const first = await lastUsed()
    expect(first).not.toBeNull()
    await askCore(AUTHENTICATE, { key })
    expect(await lastUsed()).toEqual(first)
  })

  it('lets a partner call the gateway with its key, as its owner with the key’s permissions', async () => {
    const { key } = (await createKey({ scopes: ['product:read'] })).data.createApiKey
    // A key is not its owner in person: without user:read it sees the owner as any reference shows a user.
    const res = await stack.request('{ me { id displayName email } }', {}, { 'x-api-key': key })
    expect(res.data.me.id).toBe(partner.id)
    expect(res.data.me.email).toBeNull()
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN'])
    // The key holds no apikey permission: it cannot mint more keys.
    expect(errorOf(await createKey({ scopes: ['product:read'] }, { 'x-api-key': key })).code).toBe(
      'FORBIDDEN',
    )
  })

  it('lists one’s own keys without apikey:read', async () => {
    const token = stack.tokenFor({ userId: partner.id, permissions: [] })
    const query = 'query($u: UUID!) { apiKeys(userId: $u) { id userId } }'
    const own = await stack.request(query, { u: partner.id }, bearer(token))
    expect(own.errors).toBeUndefined()
    expect(own.data.apiKeys.length).toBeGreaterThan(0)
    expect(errorOf(await stack.request(query, { u: randomUUID() }, bearer(token))).code).toBe('FORBIDDEN')
  })
})

describe('modules', () => {
  it('answers anonymous callers: database first, then default', async () => {
    await db()
      .insertInto('app_settings')
      .values({ key: 'module.icecat', category: 'modules', value: JSON.stringify({ enabled: false }) })
      .execute()
    const res = await stack.request('{ modules { id name order enabled source } }', {}, ANON)
    expect(res.errors).toBeUndefined()
    expect(res.data.modules).toHaveLength(17)
    expect(res.data.modules.find((m: { id: string }) => m.id === 'icecat')).toEqual({
      id: 'icecat',
      name: 'Icecat Enrichment',
      order: 1,
      enabled: false,
      source: 'DATABASE',
    })
    expect(res.data.modules.find((m: { id: string }) => m.id === 'imports')).toMatchObject({
      enabled: true,
      source: 'DEFAULT',
    })
  })
})
