import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Permissions declared in the subgraph schemas (@public / @requiresPermission, packages/service-kit/src/authorization.ts),
// end to end: real sign-in, tokens, partner keys, through the gateway to the subgraph that enforces them.

let stack: TestStack
let productId: string
let readerRoleId: number
let updatePermissionId: number

const PASSWORD = 'Correct-Horse-42'
const ANONYMOUS = { authorization: '' }
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

const UPDATE_PRODUCT = `mutation($id: UUID!, $title: String!) {
  updateProduct(id: $id, input: { title: $title }) { id title }
}`
const PRODUCT = 'query($id: UUID!) { product(id: $id) { id title } }'
const PRODUCTS = '{ products(first: 5) { totalCount edges { node { id title } } } }'

async function ok(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) {
  const res = await stack.request(query, variables, headers)
  expect(res.errors).toBeUndefined()
  return res.data
}

const codeOf = (res: { errors?: readonly { extensions?: Record<string, unknown> }[] }) =>
  res.errors?.[0]?.extensions?.code

async function titleInDb() {
  const row = await stack.subgraphs.catalog.database.db
    .selectFrom('products')
    .select('title')
    .where('id', '=', productId)
    .executeTakeFirstOrThrow()
  return row.title
}

async function productUpdatesAudited() {
  await stack.subgraphs.catalog.server.auditRelay.flush()
  const rows = await stack.subgraphs.analytics.database.db
    .selectFrom('audit_logs')
    .select('action')
    .where('entity_type', '=', 'product')
    .where('entity_id', '=', productId)
    .where('action', '=', 'update')
    .execute()
  return rows.length
}

/** A real account with the given role, signed in through core's login. */
async function signIn(email: string) {
  const { login } = await ok(
    'mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken permissions superuser } }',
    { email, password: PASSWORD },
    ANONYMOUS,
  )
  return login as { accessToken: string; permissions: string[]; superuser: boolean }
}

beforeAll(async () => {
  stack = await startTestStack()
  const { createProduct } = await ok('mutation { createProduct(input: { title: "Perceuse" }) { id } }')
  productId = createProduct.id
  // The permission vocabulary is seeded by the migrations.
  const perms = await ok(`{ permissions(resource: "product") { id name } }`)
  const idOf = (name: string) => perms.permissions.find((p: { name: string }) => p.name === name).id
  updatePermissionId = idOf('product:update')
  const { createRole } = await ok('mutation { createRole(input: { name: "catalog-reader" }) { id } }')
  readerRoleId = createRole.id
  await ok('mutation($r: Int!, $p: Int!) { grantPermission(roleId: $r, permissionId: $p) { id } }', {
    r: readerRoleId,
    p: idOf('product:read'),
  })
  for (const email of ['reader@example.com', 'owner@example.com']) {
    await ok('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { email, password: PASSWORD, role: 'catalog-reader' },
    })
  }
})
afterAll(() => stack?.stop())

describe('a role without product:update', () => {
  it('cannot update a product (FORBIDDEN, nothing written); granted the permission, the same user can', async () => {
    const reader = await signIn('reader@example.com')
    expect(reader.permissions).toEqual(['product:read'])
    // Reading is allowed…
    expect((await ok(PRODUCT, { id: productId }, bearer(reader.accessToken))).product.title).toBe('Perceuse')
    // …writing is not, and the resolver never ran.
    const refused = await stack.request(
      UPDATE_PRODUCT,
      { id: productId, title: 'Hacked' },
      bearer(reader.accessToken),
    )
    expect(codeOf(refused)).toBe('FORBIDDEN')
    expect(refused.errors?.[0]?.message).toContain('requires permission product:update')
    expect(refused.data?.updateProduct ?? null).toBeNull()
    expect(await titleInDb()).toBe('Perceuse')
    expect(await productUpdatesAudited()).toBe(0)

    await ok('mutation($r: Int!, $p: Int!) { grantPermission(roleId: $r, permissionId: $p) { id } }', {
      r: readerRoleId,
      p: updatePermissionId,
    })
    // Permissions are computed at sign-in: the next session carries the new grant.
    const editor = await signIn('reader@example.com')
    expect(editor.permissions.sort()).toEqual(['product:read', 'product:update'])
    const updated = await ok(
      UPDATE_PRODUCT,
      { id: productId, title: 'Perceuse 18V' },
      bearer(editor.accessToken),
    )
    expect(updated.updateProduct.title).toBe('Perceuse 18V')
    expect(await productUpdatesAudited()).toBe(1)

    await ok('mutation($r: Int!, $p: Int!) { revokePermission(roleId: $r, permissionId: $p) { id } }', {
      r: readerRoleId,
      p: updatePermissionId,
    })
  })

  it('is granted by <resource>:manage and refused for a neighbouring permission', async () => {
    const manager = stack.tokenFor({ permissions: ['product:manage'] })
    const res = await ok(UPDATE_PRODUCT, { id: productId, title: 'Perceuse 18V Pro' }, bearer(manager))
    expect(res.updateProduct.title).toBe('Perceuse 18V Pro')
    const other = stack.tokenFor({ permissions: ['product:create', 'brand:update'] })
    expect(codeOf(await stack.request(UPDATE_PRODUCT, { id: productId, title: 'x' }, bearer(other)))).toBe(
      'FORBIDDEN',
    )
  })

  it('does not stop a superuser', async () => {
    const su = stack.tokenFor({ superuser: true })
    const res = await ok(UPDATE_PRODUCT, { id: productId, title: 'Perceuse 18V' }, bearer(su))
    expect(res.updateProduct.title).toBe('Perceuse 18V')
  })
})

describe('anonymous callers', () => {
  it('get UNAUTHENTICATED on the catalog and on every mutation', async () => {
    const read = await stack.request(PRODUCTS, undefined, ANONYMOUS)
    expect(codeOf(read)).toBe('UNAUTHENTICATED')
    expect(read.data?.products ?? null).toBeNull()
    const write = await stack.request(UPDATE_PRODUCT, { id: productId, title: 'Anon' }, ANONYMOUS)
    expect(codeOf(write)).toBe('UNAUTHENTICATED')
    expect(await titleInDb()).toBe('Perceuse 18V')
  })

  it('reach the public fields: modules, login, me (null)', async () => {
    const { modules } = await ok('{ modules { id enabled source } }', undefined, ANONYMOUS)
    expect(modules).toHaveLength(17)
    expect((await ok('{ me { id } }', undefined, ANONYMOUS)).me).toBeNull()
    const wrong = await stack.request(
      'mutation { login(email: "reader@example.com", password: "not-the-password") { accessToken } }',
      undefined,
      ANONYMOUS,
    )
    // Refused for the credentials, not for being anonymous.
    expect(wrong.errors?.[0]?.message).not.toContain('requires a signed-in caller')
    expect((await signIn('reader@example.com')).accessToken).toBeTruthy()
  })
})

describe('sensitive reads and fields', () => {
  it('need their permission, or the caller’s own id where self applies', async () => {
    const plain = stack.tokenFor({ permissions: ['product:read'] })
    for (const query of [
      '{ users(first: 1) { totalCount } }',
      '{ appSettings { key } }',
      '{ auditLogs(first: 1) { totalCount } }',
      '{ importConfigs(first: 1) { totalCount } }',
    ]) {
      const res = await stack.request(query, undefined, bearer(plain))
      expect(codeOf(res), query).toBe('FORBIDDEN')
    }
    const reader = await signIn('reader@example.com')
    const me = await ok('{ me { id email permissions } }', undefined, bearer(reader.accessToken))
    expect(me.me.email).toBe('reader@example.com')
    const owner = await ok('{ users(filter: { search: "owner@" }) { edges { node { id } } } }')
    const ownerId = owner.users.edges[0].node.id
    const other = await stack.request(
      'query($id: UUID!) { user(id: $id) { id } }',
      { id: ownerId },
      bearer(reader.accessToken),
    )
    expect(codeOf(other)).toBe('FORBIDDEN')
    const own = await ok(
      'query($id: UUID!) { user(id: $id) { id } }',
      { id: me.me.id },
      bearer(reader.accessToken),
    )
    expect(own.user.id).toBe(me.me.id)
  })
})

describe('a guarded field below the root', () => {
  it('fails that field for a reader without import:update; an import manager sees it (secrets masked)', async () => {
    const config = await stack.subgraphs.imports.database.db
      .insertInto('import_configs')
      .values({
        supplier_code: 'ACME',
        import_type: 'csv',
        config_name: 'Nightly SFTP',
        connection_config: JSON.stringify({
          type: 'sftp',
          host: 'files.acme.test',
          password: 'hunter2-hunter2',
        }),
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    const query = 'query($id: UUID!) { importConfig(id: $id) { configName connectionConfig } }'
    const reader = stack.tokenFor({ permissions: ['import:read'] })
    const refused = await stack.request(query, { id: config.id }, bearer(reader))
    expect(codeOf(refused)).toBe('FORBIDDEN')
    expect(refused.errors?.[0]?.message).toContain(
      'ImportConfig.connectionConfig requires permission import:update',
    )
    expect(refused.errors?.[0]?.path).toEqual(['importConfig', 'connectionConfig'])
    // The same reader may see the rest of it.
    const named = await ok(
      'query($id: UUID!) { importConfig(id: $id) { configName } }',
      { id: config.id },
      bearer(reader),
    )
    expect(named.importConfig.configName).toBe('Nightly SFTP')
    const manager = stack.tokenFor({ permissions: ['import:manage'] })
    const seen = await ok(query, { id: config.id }, bearer(manager))
    expect(seen.importConfig.connectionConfig).toMatchObject({ host: 'files.acme.test', password: '***' })
  })
})

describe('a partner key scoped product:read', () => {
  it('reads products but cannot change them', async () => {
    const owner = await ok('{ users(filter: { search: "owner@" }) { edges { node { id } } } }')
    const { createApiKey } = await ok(
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { scopes } } }',
      { input: { name: 'Boutique sync', userId: owner.users.edges[0].node.id, scopes: ['product:read'] } },
    )
    const partner = { 'x-api-key': createApiKey.key as string }
    const read = await ok(PRODUCT, { id: productId }, partner)
    expect(read.product.title).toBe('Perceuse 18V')
    const write = await stack.request(UPDATE_PRODUCT, { id: productId, title: 'Partner' }, partner)
    expect(codeOf(write)).toBe('FORBIDDEN')
    const create = await stack.request(
      'mutation { createProduct(input: { title: "Partner" }) { id } }',
      {},
      partner,
    )
    expect(codeOf(create)).toBe('FORBIDDEN')
    expect(await titleInDb()).toBe('Perceuse 18V')
  })
})
