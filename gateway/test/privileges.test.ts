/**
 * Nobody gives or reaches what it does not hold: roles, grants, admin and superuser flags, the permissions
 * catalogue, API key scopes, and the e-mails, passwords and active state of accounts holding more.
 */
import { randomUUID } from 'node:crypto'
import { hashPassword, verifyPassword } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let stack: TestStack<'core' | 'analytics'>
let targetId: string
const db = () => stack.subgraphs.core.database.db

const UPDATE = `mutation($id: UUID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id isAdmin isSuperuser role email } }`
/** What a holder of user:update and user:read (not user:manage) may read back: no privilege flags. */
const UPDATE_PROFILE = `mutation($id: UUID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id firstName role email } }`
const RESET = `mutation($id: UUID!, $p: String!) { setUserPassword(id: $id, password: $p) { id } }`
const DEACTIVATE = `mutation($id: UUID!) { deactivateUser(id: $id) { id } }`
const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id role } }`
const CREATE_PERMISSION = `mutation($input: CreatePermissionInput!) { createPermission(input: $input) { id name } }`
const GRANT = `mutation($r: Int!, $p: Int!) { grantPermission(roleId: $r, permissionId: $p) { id permissions { name } } }`
const REVOKE = `mutation($r: Int!, $p: Int!) { revokePermission(roleId: $r, permissionId: $p) { id } }`
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`

/** A caller holding these permissions (a user row exists for it when `userId` is given). */
function as(permissions: string[], superuser = false, userId: string = randomUUID()) {
  return { authorization: `Bearer ${stack.tokenFor({ userId, permissions, superuser })}` }
}

async function insertUser(values: {
  role?: string
  isAdmin?: boolean
  isSuperuser?: boolean
  permissions?: Record<string, boolean>
}) {
  const row = await db()
    .insertInto('users')
    .values({
      email: `p-${randomUUID().slice(0, 8)}@example.com`,
      hashed_password: await hashPassword('Original-Pass-1'),
      role: values.role ?? 'user',
      is_admin: values.isAdmin ?? false,
      is_superuser: values.isSuperuser ?? false,
      permissions: JSON.stringify(values.permissions ?? {}),
    })
    .returning(['id', 'email', 'hashed_password'])
    .executeTakeFirstOrThrow()
  return row
}

const permissionId = async (name: string) =>
  (await db().selectFrom('permissions').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id
const roleId = async (name: string) =>
  (await db().selectFrom('roles').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id

function codeOf(res: { errors?: { extensions?: Record<string, unknown> }[] }) {
  return res.errors?.[0]?.extensions?.code
}

beforeAll(async () => {
  stack = await startTestStack({ only: ['core', 'analytics'] })
  const created = await stack.request(
    `mutation { createUser(input: { email: "target@example.com", password: "Longenough-1", role: "viewer" }) { id } }`,
  )
  expect(created.errors).toBeUndefined()
  targetId = created.data.createUser.id
})
afterAll(() => stack?.stop())

/** What the viewer role holds (seeded by the migrations). */
const VIEWER = ['brand:read', 'category:read', 'media:read', 'product:read', 'supplier:read']

describe('privileges are granted only by those who hold them', () => {
  it('user:update edits a profile but not privileges', async () => {
    const editor = as(['user:update', 'user:read'])
    const profile = await stack.request(UPDATE_PROFILE, { id: targetId, input: { firstName: 'Ada' } }, editor)
    expect(profile.errors).toBeUndefined()
    for (const input of [
      { isSuperuser: true },
      { isAdmin: true },
      { role: 'user' },
      { permissions: { 'product:update': true } },
    ]) {
      const res = await stack.request(UPDATE, { id: targetId, input }, editor)
      expect(codeOf(res), JSON.stringify(input)).toBe('FORBIDDEN')
    }
    const after = await db()
      .selectFrom('users')
      .select(['is_admin', 'is_superuser', 'permissions', 'role'])
      .where('id', '=', targetId)
      .executeTakeFirstOrThrow()
    expect(after).toEqual({ is_admin: false, is_superuser: false, permissions: {}, role: 'viewer' })
  })

  it('user:manage grants only what the caller holds; only a superuser makes a superuser', async () => {
    const manager = as(['user:update', 'user:manage', ...VIEWER])
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
    const unknown = await stack.request(
      UPDATE,
      { id: targetId, input: { permissions: { '*:*': true } } },
      manager,
    )
    expect(unknown.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.permissions',
    })
    const su = await stack.request(UPDATE, { id: targetId, input: { isSuperuser: true } }, manager)
    expect(su.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'input.isSuperuser' })
    const bySuperuser = await stack.request(
      UPDATE,
      { id: targetId, input: { isSuperuser: true } },
      as([], true),
    )
    expect(bySuperuser.data.updateUser.isSuperuser).toBe(true)
    await stack.request(UPDATE, { id: targetId, input: { isSuperuser: false } }, as([], true))
  })

  it('a user:manage holder cannot make itself admin, by role or by flag', async () => {
    const self = await insertUser({ role: 'viewer' })
    const caller = as(['user:update', 'user:manage', ...VIEWER], false, self.id)
    for (const input of [{ role: 'admin' }, { role: 'manager' }, { isAdmin: true }]) {
      const res = await stack.request(UPDATE, { id: self.id, input }, caller)
      expect(codeOf(res), JSON.stringify(input)).toBe('FORBIDDEN')
    }
    const created = await stack.request(
      CREATE_USER,
      {
        input: {
          email: `new-${randomUUID().slice(0, 6)}@example.com`,
          password: 'Longenough-1',
          role: 'admin',
        },
      },
      as(['user:create', 'user:manage', ...VIEWER]),
    )
    expect(codeOf(created)).toBe('FORBIDDEN')
    const row = await db()
      .selectFrom('users')
      .select(['role', 'is_admin'])
      .where('id', '=', self.id)
      .executeTakeFirstOrThrow()
    expect(row).toEqual({ role: 'viewer', is_admin: false })
    // Positive: a role whose permissions the caller all holds may be given.
    const other = await insertUser({ role: 'user' })
    const moved = await stack.request(UPDATE, { id: other.id, input: { role: 'viewer' } }, caller)
    expect(moved.errors).toBeUndefined()
    expect(moved.data.updateUser.role).toBe('viewer')
  })

  it('a user:update holder cannot reset the password, change the e-mail or deactivate a superuser or an admin', async () => {
    const superuser = await insertUser({ isSuperuser: true })
    const admin = await insertUser({ role: 'viewer', isAdmin: true })
    const caller = as(['user:update', 'user:read', ...VIEWER])
    for (const target of [superuser, admin]) {
      expect(codeOf(await stack.request(RESET, { id: target.id, p: 'Attacker-Pass-1' }, caller))).toBe(
        'FORBIDDEN',
      )
      const email = await stack.request(
        UPDATE,
        { id: target.id, input: { email: `taken-${randomUUID().slice(0, 6)}@example.com` } },
        caller,
      )
      expect(codeOf(email)).toBe('FORBIDDEN')
      expect(codeOf(await stack.request(DEACTIVATE, { id: target.id }, caller))).toBe('FORBIDDEN')
      const row = await db()
        .selectFrom('users')
        .select(['email', 'hashed_password', 'is_active'])
        .where('id', '=', target.id)
        .executeTakeFirstOrThrow()
      expect(row).toEqual({ email: target.email, hashed_password: target.hashed_password, is_active: true })
    }
    // Not even a profile field of a superuser.
    expect(
      codeOf(await stack.request(UPDATE, { id: superuser.id, input: { firstName: 'Eve' } }, caller)),
    ).toBe('FORBIDDEN')
    // Positive: an account holding nothing more than the caller; a superuser reaches a superuser.
    const plain = await insertUser({ role: 'viewer' })
    expect(
      (await stack.request(RESET, { id: plain.id, p: 'Helpdesk-Pass-1' }, caller)).errors,
    ).toBeUndefined()
    const renamed = await stack.request(
      UPDATE_PROFILE,
      { id: plain.id, input: { email: `renamed-${randomUUID().slice(0, 6)}@example.com` } },
      caller,
    )
    expect(renamed.errors).toBeUndefined()
    expect(
      (await stack.request(RESET, { id: superuser.id, p: 'Root-Pass-123' }, as([], true))).errors,
    ).toBeUndefined()
    const stored = await db()
      .selectFrom('users')
      .select('hashed_password')
      .where('id', '=', superuser.id)
      .executeTakeFirstOrThrow()
    expect(await verifyPassword('Root-Pass-123', stored.hashed_password)).toBe(true)
  })

  it('a role:manage holder cannot create *:* nor grant itself a permission it lacks', async () => {
    const caller = as(['role:manage', 'user:read', ...VIEWER])
    for (const input of [
      { resource: '*', action: '*' },
      { name: '*:*', resource: 'product', action: 'read' },
      { resource: 'everything', action: 'read' },
      { resource: 'product', action: 'import' },
    ]) {
      const res = await stack.request(CREATE_PERMISSION, { input }, caller)
      expect(codeOf(res), JSON.stringify(input)).toBe('BAD_USER_INPUT')
    }
    expect(await db().selectFrom('permissions').select('id').where('name', 'like', '%*%').execute()).toEqual(
      [],
    )

    const viewer = await roleId('viewer')
    const denied = await stack.request(GRANT, { r: viewer, p: await permissionId('product:delete') }, caller)
    expect(denied.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'product:delete' })
    const taken = await stack.request(
      REVOKE,
      { r: await roleId('admin'), p: await permissionId('user:delete') },
      caller,
    )
    expect(codeOf(taken)).toBe('FORBIDDEN')
    // Positive: a permission the caller holds; a deleted one of the vocabulary can be made again.
    const granted = await stack.request(GRANT, { r: viewer, p: await permissionId('user:read') }, caller)
    expect(granted.errors).toBeUndefined()
    expect(granted.data.grantPermission.permissions.map((p: { name: string }) => p.name)).toContain(
      'user:read',
    )
    await stack.request(REVOKE, { r: viewer, p: await permissionId('user:read') }, caller)
    const id = await permissionId('audit:delete')
    expect(
      (await stack.request(`mutation($id: Int!) { deletePermission(id: $id) { id } }`, { id })).errors,
    ).toBeUndefined()
    const remade = await stack.request(CREATE_PERMISSION, { input: { resource: 'audit', action: 'delete' } })
    expect(remade.data.createPermission.name).toBe('audit:delete')
  })

  it('an apikey:create holder cannot make a key for an account holding more, nor a *:* key', async () => {
    const superuser = await insertUser({ isSuperuser: true })
    const caller = as(['apikey:create', ...VIEWER])
    const forRoot = await stack.request(
      CREATE_KEY,
      { input: { name: 'k', userId: superuser.id, scopes: ['product:read'] } },
      caller,
    )
    expect(codeOf(forRoot)).toBe('FORBIDDEN')
    const viewerOwner = await insertUser({ role: 'viewer' })
    const all = await stack.request(
      CREATE_KEY,
      { input: { name: 'k', userId: viewerOwner.id, scopes: ['*:*'] } },
      caller,
    )
    expect(codeOf(all)).toBe('FORBIDDEN')
    const ok = await stack.request(
      CREATE_KEY,
      { input: { name: 'k', userId: viewerOwner.id, scopes: ['product:read'] } },
      caller,
    )
    expect(ok.errors).toBeUndefined()
  })
})
