import { randomUUID } from 'node:crypto'
import { startTestSubgraph, type TestSubgraph } from '@pm/testing/subgraph'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subgraph } from '../src/module'

let sg: TestSubgraph<'core'>
const users = Array.from({ length: 7 }, (_, i) => ({
  id: randomUUID(),
  email: `user${i}@example.com`,
  username: `user${i}`,
  hashed_password: 'x',
  role: i === 0 ? 'admin' : 'user',
  // Every user shares one created_at: pagination must still neither skip nor repeat.
  created_at: new Date('2026-01-01T00:00:00Z'),
}))

beforeAll(async () => {
  sg = await startTestSubgraph(subgraph)
  await sg.database.db.insertInto('users').values(users).execute()
  await sg.database.db
    .insertInto('notifications')
    .values(
      users.flatMap((u, i) =>
        Array.from({ length: 60 }, (_, n) => ({
          user_id: u.id,
          title: `n${n}`,
          message: 'hello',
          type: 'info',
          read: n % 2 === 0,
          created_at: new Date(Date.UTC(2026, 0, 1, 0, i, n)),
        })),
      ),
    )
    .execute()
})
afterAll(() => sg?.stop())

describe('core subgraph', () => {
  it('resolves User entities, null for a missing id', async () => {
    const missing = randomUUID()
    const res = await sg.request(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email username } } }`,
      {
        r: [
          { __typename: 'User', id: users[1]!.id },
          { __typename: 'User', id: missing },
        ],
      },
    )
    expect(res.errors).toBeUndefined()
    expect(res.data._entities).toEqual([
      { id: users[1]!.id, email: 'user1@example.com', username: 'user1' },
      null,
    ])
  })

  it('looks users up by id and email, and never exposes the password hash', async () => {
    const res = await sg.request(
      `{ a: user(id: "${users[0]!.id}") { email role } b: userByEmail(email: "user2@example.com") { id } }`,
    )
    expect(res.data).toEqual({ a: { email: 'user0@example.com', role: 'admin' }, b: { id: users[2]!.id } })
    const bad = await sg.request('{ user(id: "1") { hashedPassword } }')
    expect(bad.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED')
  })

  it('walks users two by two across ties in created_at without skipping or repeating', async () => {
    const seen: string[] = []
    let after: string | null = null
    for (let page = 0; page < 10; page++) {
      const res: any = await sg.request(
        'query($after: String) { users(first: 2, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      )
      expect(res.errors).toBeUndefined()
      expect(res.data.users.totalCount).toBe(7)
      seen.push(...res.data.users.edges.map((e: any) => e.node.id))
      if (!res.data.users.pageInfo.hasNextPage) break
      after = res.data.users.pageInfo.endCursor
    }
    expect(seen).toHaveLength(7)
    expect(new Set(seen)).toEqual(new Set(users.map((u) => u.id)))
  })

  it('rejects a forged cursor and an oversized page with BAD_USER_INPUT', async () => {
    const forged = Buffer.from(JSON.stringify(['CREATED_AT:DESC', 'not-a-date', randomUUID()])).toString(
      'base64url',
    )
    const a = await sg.request(`{ users(after: "${forged}") { totalCount } }`)
    expect(a.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    const b = await sg.request('{ users(after: "garbage") { totalCount } }')
    expect(b.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    const c = await sg.request('{ users(first: 1000) { totalCount } }')
    expect(c.errors?.[0]).toMatchObject({
      message: 'first must be between 0 and 100',
      extensions: { code: 'BAD_USER_INPUT' },
    })
  })

  it('pages notifications per user in one statement whatever the page size', async () => {
    const query = `query($n: Int) { users(first: 10) { edges { node { id notifications(unreadOnly: true, first: $n) { totalCount edges { node { title read } } } } } } }`
    const before5 = sg.queryCount()
    const five = await sg.request(query, { n: 5 })
    const used5 = sg.queryCount() - before5
    const before50 = sg.queryCount()
    const fifty = await sg.request(query, { n: 50 })
    const used50 = sg.queryCount() - before50
    expect(five.errors).toBeUndefined()
    expect(fifty.errors).toBeUndefined()
    const edges5 = five.data.users.edges
    expect(edges5).toHaveLength(7)
    for (const edge of edges5) {
      expect(edge.node.notifications.totalCount).toBe(30)
      expect(edge.node.notifications.edges).toHaveLength(5)
      expect(edge.node.notifications.edges.every((e: any) => e.node.read === false)).toBe(true)
    }
    expect(fifty.data.users.edges[0].node.notifications.edges).toHaveLength(30)
    // users page + notifications page + notifications counts (users totalCount not asked).
    expect(used5).toBe(3)
    expect(used50).toBe(used5)
  })

  it('answers a setting with its secret value to a service caller only (internalAppSetting)', async () => {
    const value = { clientId: 'app-1', clientSecret: 'core-test-secret', refreshToken: 'Atzr|core-test' }
    await sg.database.db
      .insertInto('app_settings')
      .values({
        key: 'code2asin.sp_api',
        category: 'code2asin',
        value: JSON.stringify(value),
        is_secret: true,
      })
      .execute()
    const query = `query($key: String!) { internalAppSetting(key: $key) { key value category isSecret updatedAt } }`
    const service = await sg.request(query, { key: 'code2asin.sp_api' })
    expect(service.errors).toBeUndefined()
    expect(service.data.internalAppSetting).toMatchObject({
      key: 'code2asin.sp_api',
      value,
      category: 'code2asin',
      isSecret: true,
    })
    expect((await sg.request(query, { key: 'no.such.setting' })).data).toEqual({ internalAppSetting: null })
    // A user is refused, a superuser with every permission too; the public field still masks the value.
    const superuser = {
      kind: 'user' as const,
      userId: users[0]!.id,
      apiKeyId: null,
      permissions: ['settings:manage'],
      superuser: true,
    }
    const refused = await sg.request(query, { key: 'code2asin.sp_api' }, { caller: superuser })
    expect(refused.data?.internalAppSetting ?? null).toBeNull()
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    expect(JSON.stringify(refused)).not.toContain('core-test-secret')
    const masked = await sg.request(
      `{ appSetting(key: "code2asin.sp_api") { value isSecret } }`,
      {},
      { caller: superuser },
    )
    expect(masked.data).toEqual({ appSetting: { value: '***', isSecret: true } })
  })
})
