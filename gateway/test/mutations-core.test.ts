import { randomUUID } from 'node:crypto'
import { MODULE_IDS, verifyPassword } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MODULES } from '../../packages/seed/src/fixtures'

let stack: TestStack<'core' | 'analytics'>

const USER_FIELDS = 'id email username firstName lastName role isActive isVerified isAdmin isSuperuser'
const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { ${USER_FIELDS} } }`
const UPDATE_USER = `mutation($id: UUID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { ${USER_FIELDS} } }`
const CREATE_ROLE = `mutation($input: CreateRoleInput!) { createRole(input: $input) { id name description isActive permissions { id name } } }`
const SET_SETTING = `mutation($input: SetAppSettingInput!) { setAppSetting(input: $input) { id key value category description isSecret } }`
const PASSWORD = 'Correct-Horse-42'

const db = () => stack.subgraphs.core.database.db

/** The error's code and field, for `toEqual`. */
function errorOf(res: { errors?: { extensions?: Record<string, unknown> }[] }) {
  expect(res.errors, 'an error was expected').toBeDefined()
  const { code, field } = res.errors![0]!.extensions ?? {}
  return field === undefined ? { code } : { code, field }
}

async function createUser(input: Record<string, unknown>) {
  const res = await stack.request(CREATE_USER, { input: { password: PASSWORD, ...input } })
  expect(res.errors).toBeUndefined()
  return res.data.createUser
}

async function storedHash(id: string) {
  const row = await db()
    .selectFrom('users')
    .select('hashed_password')
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
  return row.hashed_password
}

async function auditLogs(entityType: string, entityId: string) {
  await stack.subgraphs.core.server.auditRelay.flush()
  const res = await stack.request(
    `query($f: AuditLogFilter) { auditLogs(filter: $f, first: 50) { edges { node { action entityType entityId changes } } } }`,
    { f: { entityType, entityId } },
  )
  expect(res.errors).toBeUndefined()
  return res.data.auditLogs.edges.map((e: any) => e.node)
}

beforeAll(async () => {
  stack = await startTestStack({ only: ['core', 'analytics'] })
  // user, editor and the other roles are seeded by the migrations.
  await stack.request(CREATE_ROLE, { input: { name: 'retired', isActive: false } })
})
afterAll(() => stack?.stop())

describe('users', () => {
  it('creates a user with a normalised email and a scrypt hash that is never returned', async () => {
    const user = await createUser({
      email: '  Jane.Doe@Example.COM ',
      username: 'jdoe',
      firstName: ' Jane ',
      lastName: 'Doe',
    })
    expect(user).toMatchObject({
      email: 'jane.doe@example.com',
      username: 'jdoe',
      firstName: 'Jane',
      role: 'user',
      isActive: true,
      isVerified: false,
      isAdmin: false,
      isSuperuser: false,
    })
    const hash = await storedHash(user.id)
    expect(hash).toMatch(/^scrypt\$/)
    expect(hash).not.toContain(PASSWORD)
    expect(await verifyPassword(PASSWORD, hash)).toBe(true)
    expect(await verifyPassword('Wrong-Horse-42', hash)).toBe(false)

    const lookup = await stack.request('query($e: EmailAddress!) { userByEmail(email: $e) { id } }', {
      e: 'JANE.DOE@example.com',
    })
    expect(lookup.data.userByEmail).toEqual({ id: user.id })
  })

  it('exposes no password field: introspection shows none and hashedPassword fails validation', async () => {
    const res = await stack.request('{ __type(name: "User") { fields { name } } }')
    const names: string[] = res.data.__type.fields.map((f: any) => f.name)
    expect(names).toContain('email')
    expect(names.filter((n) => /password|hash/i.test(n))).toEqual([])
    const bad = await stack.request('{ users(first: 1) { edges { node { hashedPassword } } } }')
    expect(errorOf(bad)).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' })
    const input = await stack.request('{ __type(name: "CreateUserInput") { inputFields { name } } }')
    expect(input.data.__type.inputFields.map((f: any) => f.name)).toContain('password')
  })

  it('refuses bad input naming the field, before anything is written', async () => {
    const before = await db().selectFrom('users').select('id').execute()
    const cases: [Record<string, unknown>, string][] = [
      [{ email: 'not-an-email' }, 'input.email'],
      [{ email: 'a@b' }, 'input.email'],
      [{ email: `${'x'.repeat(250)}@example.com` }, 'input.email'],
      [{ email: 'p1@example.com', password: 'Short-1' }, 'input.password'],
      [{ email: 'p2@example.com', password: 'alllowercaseletters' }, 'input.password'],
      [{ email: 'p3@example.com', password: `Aa1${'x'.repeat(130)}` }, 'input.password'],
      [{ email: 'u1@example.com', username: 'no spaces' }, 'input.username'],
      [{ email: 'u2@example.com', username: 'ab' }, 'input.username'],
      [{ email: 'n1@example.com', firstName: 'x'.repeat(101) }, 'input.firstName'],
      [{ email: 'n2@example.com', lastName: '' }, 'input.lastName'],
      [{ email: 'r1@example.com', role: 'Bad Role!' }, 'input.role'],
      [{ email: 'r2@example.com', role: 'retired' }, 'input.role'],
      [{ email: 'j1@example.com', permissions: { big: 'x'.repeat(20_000) } }, 'input.permissions'],
    ]
    for (const [input, field] of cases) {
      const res = await stack.request(CREATE_USER, { input: { password: PASSWORD, ...input } })
      expect(errorOf(res), JSON.stringify(input).slice(0, 80)).toEqual({ code: 'BAD_USER_INPUT', field })
    }
    const unknownRole = await stack.request(CREATE_USER, {
      input: { email: 'r3@example.com', password: PASSWORD, role: 'wizard' },
    })
    expect(errorOf(unknownRole)).toEqual({ code: 'NOT_FOUND', field: 'input.role' })
    expect(await db().selectFrom('users').select('id').execute()).toHaveLength(before.length)
  })

  it('refuses a duplicate email (whatever its case) and a duplicate username with CONFLICT', async () => {
    await createUser({ email: 'taken@example.com', username: 'taken' })
    const email = await stack.request(CREATE_USER, {
      input: { email: 'TAKEN@example.com', password: PASSWORD },
    })
    expect(errorOf(email)).toEqual({ code: 'CONFLICT', field: 'input.email' })
    const username = await stack.request(CREATE_USER, {
      input: { email: 'other@example.com', username: 'taken', password: PASSWORD },
    })
    expect(errorOf(username)).toEqual({ code: 'CONFLICT', field: 'input.username' })
    expect(
      await db().selectFrom('users').select('id').where('email', '=', 'other@example.com').execute(),
    ).toEqual([])

    // Concurrent creations of one email: one wins, the others get CONFLICT (the check or the unique index).
    const racers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        stack.request(CREATE_USER, {
          input: { email: 'race@example.com', username: `racer${i}`, password: PASSWORD },
        }),
      ),
    )
    expect(racers.filter((r) => !r.errors)).toHaveLength(1)
    for (const r of racers.filter((r) => r.errors)) {
      expect(errorOf(r)).toEqual({ code: 'CONFLICT', field: 'input.email' })
    }
  })

  it('updates only the fields given; null clears; conflicts and missing users are refused', async () => {
    const user = await createUser({
      email: 'upd@example.com',
      username: 'upd',
      firstName: 'Up',
      lastName: 'Date',
    })
    const hash = await storedHash(user.id)
    const res = await stack.request(UPDATE_USER, {
      id: user.id,
      input: { firstName: 'Upd', lastName: null, role: 'EDITOR', isVerified: true },
    })
    expect(res.errors).toBeUndefined()
    expect(res.data.updateUser).toMatchObject({
      email: 'upd@example.com',
      username: 'upd',
      firstName: 'Upd',
      lastName: null,
      role: 'editor',
      isVerified: true,
    })
    expect(await storedHash(user.id)).toBe(hash)

    const empty = await stack.request(UPDATE_USER, { id: user.id, input: {} })
    expect(errorOf(empty).code).toBe('BAD_USER_INPUT')
    const nullEmail = await stack.request(UPDATE_USER, { id: user.id, input: { email: null } })
    expect(errorOf(nullEmail)).toEqual({ code: 'BAD_USER_INPUT', field: 'input.email' })
    const nullFlag = await stack.request(UPDATE_USER, { id: user.id, input: { isAdmin: null } })
    expect(errorOf(nullFlag)).toEqual({ code: 'BAD_USER_INPUT', field: 'input.isAdmin' })
    const conflict = await stack.request(UPDATE_USER, {
      id: user.id,
      input: { email: 'Jane.Doe@example.com' },
    })
    expect(errorOf(conflict)).toEqual({ code: 'CONFLICT', field: 'input.email' })
    const same = await stack.request(UPDATE_USER, { id: user.id, input: { email: 'UPD@example.com' } })
    expect(same.data.updateUser.email).toBe('upd@example.com')
    const missing = await stack.request(UPDATE_USER, { id: randomUUID(), input: { firstName: 'x' } })
    expect(errorOf(missing)).toEqual({ code: 'NOT_FOUND', field: 'id' })
    const badRole = await stack.request(UPDATE_USER, { id: user.id, input: { role: 'wizard' } })
    expect(errorOf(badRole)).toEqual({ code: 'NOT_FOUND', field: 'input.role' })

    const logs = await auditLogs('user', user.id)
    // The same email in another case changed nothing: one update entry only.
    const updates = logs.filter((l: any) => l.action === 'update')
    expect(updates).toHaveLength(1)
    const update = updates[0]
    expect(update.changes.before).toMatchObject({ firstName: 'Up', lastName: 'Date', role: 'user' })
    expect(update.changes.after).toMatchObject({ firstName: 'Upd', lastName: null, role: 'editor' })
  })

  it('changes a password with the current one, resets it without, and never audits the hash', async () => {
    const user = await createUser({ email: 'pw@example.com' })
    const change = `mutation($id: UUID!, $c: String!, $n: String!) { changePassword(id: $id, currentPassword: $c, newPassword: $n) { id } }`
    const wrong = await stack.request(change, { id: user.id, c: 'Not-The-Password-1', n: 'Brand-New-Pass-7' })
    expect(errorOf(wrong)).toEqual({ code: 'BAD_USER_INPUT', field: 'currentPassword' })
    const weak = await stack.request(change, { id: user.id, c: PASSWORD, n: 'weak' })
    expect(errorOf(weak)).toEqual({ code: 'BAD_USER_INPUT', field: 'newPassword' })
    const same = await stack.request(change, { id: user.id, c: PASSWORD, n: PASSWORD })
    expect(errorOf(same)).toEqual({ code: 'BAD_USER_INPUT', field: 'newPassword' })
    const missing = await stack.request(change, { id: randomUUID(), c: PASSWORD, n: 'Brand-New-Pass-7' })
    expect(errorOf(missing)).toEqual({ code: 'NOT_FOUND', field: 'id' })

    const ok = await stack.request(change, { id: user.id, c: PASSWORD, n: 'Brand-New-Pass-7' })
    expect(ok).toEqual({ data: { changePassword: { id: user.id } } })
    expect(await verifyPassword('Brand-New-Pass-7', await storedHash(user.id))).toBe(true)

    const reset = `mutation($id: UUID!, $p: String!) { setUserPassword(id: $id, password: $p) { id email } }`
    expect(errorOf(await stack.request(reset, { id: user.id, p: '1234567890' }))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'password',
    })
    const done = await stack.request(reset, { id: user.id, p: 'Admin reset 2026' })
    expect(done.errors).toBeUndefined()
    expect(await verifyPassword('Admin reset 2026', await storedHash(user.id))).toBe(true)

    const logs = await auditLogs('user', user.id)
    expect(logs.map((l: any) => l.action).sort()).toEqual(['create', 'password_change', 'password_reset'])
    const text = JSON.stringify(logs)
    expect(text).not.toMatch(/scrypt|Brand-New|Admin reset|Correct-Horse/)
  })

  it('deactivates and reactivates, idempotently, auditing each change once', async () => {
    const user = await createUser({ email: 'act@example.com' })
    const deactivate = 'mutation($id: UUID!) { deactivateUser(id: $id) { id isActive } }'
    const reactivate = 'mutation($id: UUID!) { reactivateUser(id: $id) { id isActive } }'
    expect((await stack.request(deactivate, { id: user.id })).data.deactivateUser.isActive).toBe(false)
    expect((await stack.request(deactivate, { id: user.id })).data.deactivateUser.isActive).toBe(false)
    const filtered = await stack.request('{ users(filter: { isActive: false }) { edges { node { id } } } }')
    expect(filtered.data.users.edges.map((e: any) => e.node.id)).toContain(user.id)
    expect((await stack.request(reactivate, { id: user.id })).data.reactivateUser.isActive).toBe(true)
    expect(errorOf(await stack.request(deactivate, { id: randomUUID() }))).toEqual({
      code: 'NOT_FOUND',
      field: 'id',
    })
    const actions = (await auditLogs('user', user.id)).map((l: any) => l.action).sort()
    expect(actions).toEqual(['create', 'deactivate', 'reactivate'])
  })

  it('lands a create entry in analytics with the user as it was created, without the hash', async () => {
    const user = await createUser({ email: 'audited@example.com', username: 'audited' })
    const [entry] = await auditLogs('user', user.id)
    expect(entry).toMatchObject({ action: 'create', entityType: 'user', entityId: user.id })
    expect(entry.changes.after).toMatchObject({ email: 'audited@example.com', username: 'audited' })
    expect(JSON.stringify(entry.changes)).not.toMatch(/password|scrypt/i)
    expect(await stack.subgraphs.core.server.auditRelay.pending()).toBe(0)
  })
})

describe('roles and permissions', () => {
  const GRANT = `mutation($r: Int!, $p: Int!) { grantPermission(roleId: $r, permissionId: $p) { id permissions { id name } } }`
  const REVOKE = `mutation($r: Int!, $p: Int!) { revokePermission(roleId: $r, permissionId: $p) { id permissions { id name } } }`
  const CREATE_PERMISSION = `mutation($input: CreatePermissionInput!) { createPermission(input: $input) { id name resource action } }`

  it('creates roles with validated, unique names', async () => {
    const res = await stack.request(CREATE_ROLE, {
      input: { name: ' Auditor ', description: 'Reads the audit log' },
    })
    expect(res.data.createRole).toMatchObject({ name: 'auditor', isActive: true, permissions: [] })
    expect(errorOf(await stack.request(CREATE_ROLE, { input: { name: 'AUDITOR' } }))).toEqual({
      code: 'CONFLICT',
      field: 'input.name',
    })
    expect(errorOf(await stack.request(CREATE_ROLE, { input: { name: 'x'.repeat(51) } }))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.name',
    })
    expect(
      errorOf(await stack.request(CREATE_ROLE, { input: { name: 'ok', description: 'd'.repeat(1001) } })),
    ).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.description',
    })
  })

  it('creates (again) and deletes permissions of the vocabulary; grants and revokes are idempotent', async () => {
    // Seeded by the migrations: creating it again is a conflict until it is deleted.
    const seeded = await stack.request('{ permissions(resource: "product") { id name } }')
    const existing = seeded.data.permissions.find((p: { name: string }) => p.name === 'product:create')
    expect(
      errorOf(await stack.request(CREATE_PERMISSION, { input: { resource: 'product', action: 'create' } })),
    ).toEqual({
      code: 'CONFLICT',
      field: 'input.name',
    })
    await stack.request('mutation($id: Int!) { deletePermission(id: $id) { id } }', { id: existing.id })
    const perm = await stack.request(CREATE_PERMISSION, { input: { resource: 'Product', action: 'CREATE' } })
    expect(perm.data.createPermission).toMatchObject({
      name: 'product:create',
      resource: 'product',
      action: 'create',
    })
    const permissionId = perm.data.createPermission.id
    expect(
      errorOf(await stack.request(CREATE_PERMISSION, { input: { resource: 'product', action: 'fly' } })),
    ).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.action',
    })
    // Only actions some field requires: `execute` was one no field does.
    const execute = await stack.request(CREATE_PERMISSION, {
      input: { resource: 'import', action: 'execute' },
    })
    expect(errorOf(execute)).toEqual({ code: 'BAD_USER_INPUT', field: 'input.action' })
    expect(execute.errors?.[0]?.message).toBe(
      'input.action must be one of create, read, update, delete, manage',
    )
    expect(
      errorOf(
        await stack.request(CREATE_PERMISSION, { input: { resource: 'x'.repeat(101), action: 'read' } }),
      ),
    ).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.resource',
    })
    // Names are always <resource>:<action>.
    expect(
      errorOf(
        await stack.request(CREATE_PERMISSION, {
          input: { name: 'imports.run', resource: 'import', action: 'update' },
        }),
      ),
    ).toEqual({ code: 'BAD_USER_INPUT', field: 'input.name' })

    const role = (await stack.request(CREATE_ROLE, { input: { name: 'granted' } })).data.createRole
    const first = await stack.request(GRANT, { r: role.id, p: permissionId })
    const second = await stack.request(GRANT, { r: role.id, p: permissionId })
    expect(first.data.grantPermission.permissions).toEqual([{ id: permissionId, name: 'product:create' }])
    expect(second).toEqual(first)
    expect(errorOf(await stack.request(GRANT, { r: role.id, p: 99_999 }))).toEqual({
      code: 'NOT_FOUND',
      field: 'permissionId',
    })
    expect(errorOf(await stack.request(GRANT, { r: 99_999, p: permissionId }))).toEqual({
      code: 'NOT_FOUND',
      field: 'roleId',
    })
    await stack.subgraphs.core.server.auditRelay.flush()
    expect((await auditLogs('role', String(role.id))).filter((l: any) => l.action === 'grant')).toHaveLength(
      1,
    )

    expect(
      (await stack.request(REVOKE, { r: role.id, p: permissionId })).data.revokePermission.permissions,
    ).toEqual([])
    expect((await stack.request(REVOKE, { r: role.id, p: permissionId })).errors).toBeUndefined()

    await stack.request(GRANT, { r: role.id, p: permissionId })
    const deleted = await stack.request('mutation($id: Int!) { deletePermission(id: $id) { id name } }', {
      id: permissionId,
    })
    expect(deleted.data.deletePermission).toEqual({ id: permissionId, name: 'product:create' })
    const roles = await stack.request('query($id: Int!) { role(id: $id) { permissions { id } } }', {
      id: role.id,
    })
    expect(roles.data.role.permissions).toEqual([])
    expect(errorOf(await stack.request('mutation { deletePermission(id: 99999) { id } }'))).toEqual({
      code: 'NOT_FOUND',
      field: 'id',
    })
  })

  it('renames a role on its users, and refuses to delete it while users have it', async () => {
    const role = (await stack.request(CREATE_ROLE, { input: { name: 'temp' } })).data.createRole
    const user = await createUser({ email: 'temp@example.com', role: 'temp' })
    const update = `mutation($id: Int!, $input: UpdateRoleInput!) { updateRole(id: $id, input: $input) { id name description isActive } }`
    const renamed = await stack.request(update, {
      id: role.id,
      input: { name: 'interim', description: 'for now' },
    })
    expect(renamed.data.updateRole).toMatchObject({ name: 'interim', description: 'for now' })
    const holder = await stack.request('query($id: UUID!) { user(id: $id) { role } }', { id: user.id })
    expect(holder.data.user.role).toBe('interim')
    expect(errorOf(await stack.request(update, { id: role.id, input: { name: 'editor' } }))).toEqual({
      code: 'CONFLICT',
      field: 'input.name',
    })
    expect(errorOf(await stack.request(update, { id: role.id, input: {} })).code).toBe('BAD_USER_INPUT')
    expect(errorOf(await stack.request(update, { id: 99_999, input: { description: 'x' } }))).toEqual({
      code: 'NOT_FOUND',
      field: 'id',
    })

    const remove = 'mutation($id: Int!) { deleteRole(id: $id) { id name permissions { name } } }'
    expect(errorOf(await stack.request(remove, { id: role.id }))).toEqual({ code: 'CONFLICT', field: 'id' })
    await stack.request(UPDATE_USER, { id: user.id, input: { role: 'user' } })
    const permission = await stack.request('{ permissions(resource: "media") { id name } }')
    const mediaRead = permission.data.permissions.find((p: { name: string }) => p.name === 'media:read')
    await stack.request(GRANT, { r: role.id, p: mediaRead.id })
    const deleted = await stack.request(remove, { id: role.id })
    expect(deleted.data.deleteRole).toEqual({
      id: role.id,
      name: 'interim',
      permissions: [{ name: 'media:read' }],
    })
    const grants = await db()
      .selectFrom('role_permissions')
      .selectAll()
      .where('role_id', '=', role.id)
      .execute()
    expect(grants).toEqual([])
    expect(
      (await stack.request('query($id: Int!) { role(id: $id) { id } }', { id: role.id })).data.role,
    ).toBeNull()
    expect(errorOf(await stack.request(remove, { id: role.id }))).toEqual({ code: 'NOT_FOUND', field: 'id' })
  })
})

describe('notifications', () => {
  it('deletes a notification, NOT_FOUND the second time', async () => {
    const user = await createUser({ email: 'notified@example.com' })
    const created = await stack.request(
      'mutation($input: CreateNotificationInput!) { createNotification(input: $input) { id } }',
      { input: { userId: user.id, title: 'Hello', message: 'World' } },
    )
    const id = created.data.createNotification.id
    const remove = 'mutation($id: UUID!) { deleteNotification(id: $id) { id title } }'
    expect((await stack.request(remove, { id })).data.deleteNotification).toEqual({ id, title: 'Hello' })
    expect(errorOf(await stack.request(remove, { id }))).toEqual({ code: 'NOT_FOUND', field: 'id' })
    const actions = (await auditLogs('notification', id)).map((l: any) => l.action).sort()
    expect(actions).toEqual(['create', 'delete'])
  })
})

describe('app settings', () => {
  it('knows the same 17 modules as the seed', () => {
    expect([...MODULE_IDS].sort()).toEqual(MODULES.map(([id]) => id).sort())
  })

  it('upserts module switches of the right shape, and refuses others naming the field', async () => {
    const on = await stack.request(SET_SETTING, {
      input: { key: 'module.icecat', category: 'modules', value: { enabled: true }, description: 'Icecat' },
    })
    expect(on.data.setAppSetting).toMatchObject({
      key: 'module.icecat',
      value: { enabled: true },
      isSecret: false,
    })
    const off = await stack.request(SET_SETTING, {
      input: { key: 'module.icecat', category: 'modules', value: { enabled: false } },
    })
    expect(off.data.setAppSetting).toMatchObject({ id: on.data.setAppSetting.id, value: { enabled: false } })
    // description omitted: kept.
    expect(off.data.setAppSetting.description).toBe('Icecat')
    const rows = await db()
      .selectFrom('app_settings')
      .selectAll()
      .where('key', '=', 'module.icecat')
      .execute()
    expect(rows).toHaveLength(1)

    const cases: [Record<string, unknown>, string][] = [
      [{ key: 'module.icecat', category: 'modules', value: { enabled: 'yes' } }, 'input.value'],
      [{ key: 'module.icecat', category: 'modules', value: { enabled: true, since: 1 } }, 'input.value'],
      [{ key: 'module.icecat', category: 'modules', value: true }, 'input.value'],
      [{ key: 'module.teleport', category: 'modules', value: { enabled: true } }, 'input.key'],
      [{ key: 'icecat', category: 'modules', value: { enabled: true } }, 'input.key'],
      [{ key: 'module.icecat', category: 'general', value: { enabled: true } }, 'input.category'],
      [{ key: 'Bad Key', category: 'general', value: 1 }, 'input.key'],
      [{ key: 'k'.repeat(256), category: 'general', value: 1 }, 'input.key'],
      [{ key: 'ok', category: 'Not OK', value: 1 }, 'input.category'],
      [{ key: 'ok', category: 'general', value: 'x'.repeat(70_000) }, 'input.value'],
      [
        { key: 'module.amazon', category: 'modules', value: { enabled: true }, isSecret: true },
        'input.isSecret',
      ],
    ]
    for (const [input, field] of cases) {
      const res = await stack.request(SET_SETTING, { input })
      expect(errorOf(res), JSON.stringify(input).slice(0, 80)).toEqual({ code: 'BAD_USER_INPUT', field })
    }
    const listed = await stack.request('{ appSettings(category: "modules") { key value } }')
    expect(listed.data.appSettings).toEqual([{ key: 'module.icecat', value: { enabled: false } }])
  })

  it('masks secret values in every read and in the audit trail', async () => {
    const res = await stack.request(SET_SETTING, {
      input: { key: 'icecat.api_token', category: 'integrations', value: 's3cr3t-token', isSecret: true },
    })
    expect(res.data.setAppSetting).toMatchObject({ value: '***', isSecret: true })
    await stack.request(SET_SETTING, {
      input: { key: 'icecat.api_token', category: 'integrations', value: 'n3w-s3cr3t' },
    })
    const read = await stack.request(
      '{ one: appSetting(key: "icecat.api_token") { value isSecret updatedBy { id } } all: appSettings { key value } }',
    )
    expect(read.data.one).toEqual({ value: '***', isSecret: true, updatedBy: null })
    expect(read.data.all.find((s: any) => s.key === 'icecat.api_token').value).toBe('***')
    const stored = await db()
      .selectFrom('app_settings')
      .select('value')
      .where('key', '=', 'icecat.api_token')
      .executeTakeFirstOrThrow()
    expect(stored.value).toBe('n3w-s3cr3t')

    const logs = await auditLogs('app_setting', 'icecat.api_token')
    expect(logs.map((l: any) => l.action).sort()).toEqual(['create', 'update'])
    expect(logs.find((l: any) => l.action === 'update').changes.secretValueChanged).toBe(true)
    expect(JSON.stringify(logs)).not.toMatch(/s3cr3t/)
  })

  it('changes nothing on an identical upsert, deletes, and answers null / NOT_FOUND when missing', async () => {
    const input = { key: 'catalog.default_currency', category: 'general', value: 'EUR' }
    const first = await stack.request(SET_SETTING, { input })
    const again = await stack.request(SET_SETTING, { input })
    expect(again.data.setAppSetting).toEqual(first.data.setAppSetting)
    expect((await auditLogs('app_setting', input.key)).map((l: any) => l.action)).toEqual(['create'])

    const remove = 'mutation($k: String!) { deleteAppSetting(key: $k) { key value } }'
    expect((await stack.request(remove, { k: input.key })).data.deleteAppSetting).toEqual({
      key: input.key,
      value: 'EUR',
    })
    expect(errorOf(await stack.request(remove, { k: input.key }))).toEqual({
      code: 'NOT_FOUND',
      field: 'key',
    })
    expect(
      (await stack.request('{ appSetting(key: "catalog.default_currency") { id } }')).data.appSetting,
    ).toBeNull()
  })
})
