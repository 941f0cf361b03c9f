/**
 * What a reference to a user (ImportJob.createdBy, AuditLog.user, AppSetting.updatedBy, …) reveals, through
 * the gateway on the demo data: without user:read, only id and displayName; the account's data with
 * user:read (or to the user themself); privilege flags only with user:manage (or to the user themself).
 */
import { randomUUID } from 'node:crypto'
import { DEMO_PASSWORD, seedDemoData } from '@pm/seed'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let stack: TestStack
let jobId: string
let creator: { id: string; email: string; username: string | null; is_admin: boolean | null; role: string }

const CREATED_BY = `query($id: UUID!) { importJob(id: $id) { id createdBy {
  id displayName email username firstName lastName role isActive lastLogin isSuperuser isAdmin permissions } } }`
const ACCOUNT = ['email', 'username', 'firstName', 'lastName', 'role', 'isActive', 'lastLogin']
const PRIVILEGES = ['isSuperuser', 'isAdmin', 'permissions']

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

async function signIn(role: string) {
  const { email } = await stack.subgraphs.core.database.db
    .selectFrom('users')
    .select('email')
    .where('role', '=', role)
    .executeTakeFirstOrThrow()
  const res = await stack.request(
    'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken permissions } }',
    { e: email, p: DEMO_PASSWORD },
    { authorization: '' },
  )
  expect(res.errors).toBeUndefined()
  return res.data.login as { accessToken: string; permissions: string[] }
}

/** The createdBy a caller gets, and the fields refused to it (FORBIDDEN, by name). */
async function createdBy(headers: Record<string, string>) {
  const res = await stack.request(CREATED_BY, { id: jobId }, headers)
  const refused = (res.errors ?? []).map((e) => {
    expect(e.extensions?.code).toBe('FORBIDDEN')
    expect(e.path?.slice(0, 2)).toEqual(['importJob', 'createdBy'])
    return e.path?.at(-1)
  })
  expect(res.data.importJob.id).toBe(jobId)
  return { user: res.data.importJob.createdBy as Record<string, unknown>, refused: refused.sort() }
}

beforeAll(async () => {
  stack = await startTestStack()
  const dbs = Object.fromEntries(Object.entries(stack.subgraphs).map(([d, s]) => [d, (s as any).database.db]))
  await seedDemoData(dbs as any, { products: 40 })
  const users = await stack.subgraphs.core.database.db
    .selectFrom('users')
    .select(['id', 'email', 'username', 'is_admin', 'role'])
    .execute()
  // A job created by the administrator: neither the manager nor the importer is its creator.
  const admin = users.find((u) => u.role === 'admin')!
  const { rows } = await sql<{ id: string }>`
    SELECT id FROM import_jobs WHERE created_by = ${admin.id} ORDER BY id LIMIT 1`.execute(
    stack.subgraphs.imports.database.db,
  )
  if (rows[0]) {
    jobId = rows[0].id
  } else {
    const any = await sql<{ id: string }>`SELECT id FROM import_jobs ORDER BY id LIMIT 1`.execute(
      stack.subgraphs.imports.database.db,
    )
    jobId = any.rows[0]!.id
    await sql`UPDATE import_jobs SET created_by = ${admin.id} WHERE id = ${jobId}`.execute(
      stack.subgraphs.imports.database.db,
    )
  }
  creator = admin
}, 180_000)
afterAll(() => stack?.stop())

describe('a user reached by reference', () => {
  it('shows only id and displayName to a caller without user:read (the importer role, a bare import:read)', async () => {
    const importer = await signIn('importer')
    expect(importer.permissions).toContain('import:read')
    expect(importer.permissions.some((p) => p.startsWith('user:'))).toBe(false)
    for (const headers of [
      bearer(importer.accessToken),
      bearer(stack.tokenFor({ permissions: ['import:read'] })),
    ]) {
      const { user, refused } = await createdBy(headers)
      expect(user.id).toBe(creator.id)
      expect(user.displayName).toBe(creator.username)
      for (const field of [...ACCOUNT, ...PRIVILEGES]) expect(user[field], field).toBeNull()
      expect(refused).toEqual([...ACCOUNT, ...PRIVILEGES].sort())
    }
  })

  it('shows the account to a holder of user:read (the manager), not its privileges', async () => {
    const manager = await signIn('manager')
    expect(manager.permissions).toContain('user:read')
    expect(manager.permissions).not.toContain('user:manage')
    const { user, refused } = await createdBy(bearer(manager.accessToken))
    expect(user.email).toBe(creator.email)
    expect(user.role).toBe('admin')
    expect(user.displayName).toBe(creator.username)
    for (const field of PRIVILEGES) expect(user[field], field).toBeNull()
    expect(refused).toEqual([...PRIVILEGES].sort())
  })

  it('shows the privileges to a holder of user:manage (an administrator) and to the user themself', async () => {
    const manage = bearer(stack.tokenFor({ permissions: ['import:read', 'user:manage'] }))
    const own = bearer(stack.tokenFor({ userId: creator.id, permissions: ['import:read'] }))
    for (const headers of [manage, own]) {
      const { user, refused } = await createdBy(headers)
      expect(refused).toEqual([])
      expect(user.email).toBe(creator.email)
      expect(user.isAdmin).toBe(creator.is_admin)
      expect(typeof user.isSuperuser).toBe('boolean')
      expect(user.permissions).not.toBeNull()
    }
    // Another user's token with the same permissions is not the user themself.
    const other = await createdBy(
      bearer(stack.tokenFor({ userId: randomUUID(), permissions: ['import:read'] })),
    )
    expect(other.user.email).toBeNull()
  })

  it('never shows the e-mail as a display name: first and last name, else the id, stand in for a missing username', async () => {
    const core = stack.subgraphs.core.database.db
    const { firstName, lastName } = await core
      .selectFrom('users')
      .select(['first_name as firstName', 'last_name as lastName'])
      .where('id', '=', creator.id)
      .executeTakeFirstOrThrow()
    expect(firstName && lastName).toBeTruthy()
    await core.updateTable('users').set({ username: null }).where('id', '=', creator.id).execute()
    try {
      const { user } = await createdBy(bearer(stack.tokenFor({ permissions: ['import:read'] })))
      expect(user.displayName).toBe(`${firstName} ${lastName}`)
      await core
        .updateTable('users')
        .set({ first_name: null, last_name: null })
        .where('id', '=', creator.id)
        .execute()
      const bare = await createdBy(bearer(stack.tokenFor({ permissions: ['import:read'] })))
      expect(bare.user.displayName).toBe(`user ${creator.id.slice(0, 8)}`)
      expect(bare.user.id).toBe(creator.id)
    } finally {
      await core
        .updateTable('users')
        .set({ username: creator.username, first_name: firstName, last_name: lastName })
        .where('id', '=', creator.id)
        .execute()
    }
  })

  it('keeps a key scoped to import:read to the same id and displayName (a key is not its owner in person)', async () => {
    const key = await stack.request(
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }',
      { input: { name: 'imports reader', userId: creator.id, scopes: ['import:read'] } },
    )
    expect(key.errors).toBeUndefined()
    const { user, refused } = await createdBy({ 'x-api-key': key.data.createApiKey.key })
    expect(user.displayName).toBe(creator.username)
    expect(refused).toEqual([...ACCOUNT, ...PRIVILEGES].sort())
  })
})
