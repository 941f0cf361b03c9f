import { randomUUID } from 'node:crypto'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let stack: TestStack
let targetId: string

const UPDATE = `mutation($id: UUID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id isAdmin isSuperuser role } }`
/** What a holder of user:update and user:read (not user:manage) may read back: no privilege flags. */
const UPDATE_PROFILE = `mutation($id: UUID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id firstName role } }`

function as(permissions: string[], superuser = false) {
  return { authorization: `Bearer ${stack.tokenFor({ userId: randomUUID(), permissions, superuser })}` }
}

beforeAll(async () => {
  stack = await startTestStack()
  await stack.request(`mutation { createRole(input: { name: "user" }) { id } }`)
  const created = await stack.request(
    `mutation { createUser(input: { email: "target@example.com", password: "Longenough-1" }) { id } }`,
  )
  expect(created.errors).toBeUndefined()
  targetId = created.data.createUser.id
})
afterAll(() => stack?.stop())

describe('privileges are granted only by those who hold them', () => {
  it('user:update edits a profile but not privileges', async () => {
    const editor = as(['user:update', 'user:read'])
    const profile = await stack.request(UPDATE_PROFILE, { id: targetId, input: { firstName: 'Ada' } }, editor)
    expect(profile.errors).toBeUndefined()
    expect(profile.data.updateUser.firstName).toBe('Ada')
    for (const input of [
      { isSuperuser: true },
      { isAdmin: true },
      { permissions: { 'product:update': true } },
    ]) {
      const res = await stack.request(UPDATE_PROFILE, { id: targetId, input }, editor)
      expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
      expect(res.errors?.[0]?.path).toEqual(['updateUser'])
    }
    const after = await stack.subgraphs.core.database.db
      .selectFrom('users')
      .select(['is_admin', 'is_superuser', 'permissions'])
      .where('id', '=', targetId)
      .executeTakeFirstOrThrow()
    expect(after).toEqual({ is_admin: false, is_superuser: false, permissions: {} })
  })

  it('user:manage grants only what the caller holds; only a superuser makes a superuser', async () => {
    const manager = as(['user:update', 'user:manage', 'product:read'])
    const held = await stack.request(
      UPDATE,
      { id: targetId, input: { permissions: { 'product:read': true } } },
      manager,
    )
    expect(held.errors).toBeUndefined()
    const notHeld = await stack.request(
      UPDATE,
      { id: targetId, input: { permissions: { 'product:delete': true } } },
      manager,
    )
    expect(notHeld.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'product:delete' })
    const su = await stack.request(UPDATE, { id: targetId, input: { isSuperuser: true } }, manager)
    expect(su.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'input.isSuperuser' })
    const bySuperuser = await stack.request(
      UPDATE,
      { id: targetId, input: { isSuperuser: true } },
      as([], true),
    )
    expect(bySuperuser.data.updateUser.isSuperuser).toBe(true)
  })
})
