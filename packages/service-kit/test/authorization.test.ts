import { DOMAINS } from '@pm/db'
import { type ExecutionResult, graphql, parse } from 'graphql'
import { describe, expect, it } from 'vitest'
import {
  ANONYMOUS,
  authorizationPolicies,
  buildSchema,
  type Caller,
  COMMON_SDL,
  loadTypeDefs,
  provenAsOwn,
  SERVICE,
  type SubgraphModule,
} from '../src'

const USER_ID = '00000000-0000-4000-8000-000000000001'
const OTHER_ID = '00000000-0000-4000-8000-000000000002'

function user(permissions: string[] = [], extra: Partial<Caller> = {}): Caller {
  return { kind: 'user', userId: USER_ID, apiKeyId: null, permissions, superuser: false, ...extra }
}
const partner = (permissions: string[]): Caller => ({
  kind: 'partner',
  userId: null,
  apiKeyId: '00000000-0000-4000-8000-0000000000aa',
  permissions,
  superuser: false,
})
const superuser = user([], { superuser: true })

const SDL = /* GraphQL */ `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])

type Thing @key(fields: "id") {
  id: UUID!
  name: String
  secret: String @requiresPermission(permission: "product:update")
}

type Account {
  id: UUID!
  permissions: JSON @requiresPermission(permission: "user:read", self: "id")
}

type Query {
  status: String @public
  thing(id: UUID!): Thing @requiresPermission(permission: "product:read")
  whoami: String @authenticated
  account(id: UUID!): Account @requiresPermission(permission: "user:read", self: "id")
  internal: String @requiresPermission(permission: "internal:call")
}

type SignIn {
  account: Account
}

type Mutation {
  login: String @public
  signIn(copy: Boolean): SignIn @public
  logoutEverywhere: Int @authenticated
  updateThing(id: UUID!): Thing @requiresPermission(permission: "product:update")
  upsertThings: Int @requiresPermission(permission: "product:create") @requiresPermission(permission: "product:update")
}
`

function module(sdl: string, resolvers: Record<string, unknown> = {}) {
  return {
    domain: 'catalog',
    typeDefs: parse(`${sdl}\n${COMMON_SDL}`),
    resolvers,
    createLoaders: () => ({}),
  } as unknown as SubgraphModule<'catalog', object>
}

function harness() {
  const writes: string[] = []
  const thing = (id: string) => ({ id, name: 'a thing', secret: 'the secret' })
  const schema = buildSchema(
    module(SDL, {
      Query: {
        status: () => 'up',
        whoami: () => 'you',
        thing: (_: unknown, { id }: { id: string }) => thing(id),
        account: (_: unknown, { id }: { id: string }) => ({ id, permissions: ['x:read'] }),
        internal: () => 'inside',
      },
      Mutation: {
        login: () => 'token',
        // A sign-in proves who the (still anonymous) caller is; a copy of the object is not proven.
        signIn: (_: unknown, { copy }: { copy?: boolean }) => {
          const account = provenAsOwn({ id: OTHER_ID, permissions: ['x:read'] })
          return { account: copy ? { ...account } : account }
        },
        logoutEverywhere: () => 2,
        updateThing: (_: unknown, { id }: { id: string }) => {
          writes.push(id)
          return thing(id)
        },
        upsertThings: () => 1,
      },
      Thing: { __resolveReference: ({ id }: { id: string }) => thing(id) },
    }),
  )
  const run = async (caller: Caller | undefined, source: string, variableValues?: Record<string, unknown>) =>
    (await graphql({
      schema,
      source,
      variableValues,
      contextValue: caller ? { caller } : {},
    })) as ExecutionResult<any>
  return { run, writes }
}

const codes = (result: ExecutionResult) => result.errors?.map((e) => e.extensions.code) ?? []

describe('authorization directives', () => {
  it('lets anonymous callers reach @public fields only', async () => {
    const { run, writes } = harness()
    expect((await run(ANONYMOUS, '{ status }')).data).toEqual({ status: 'up' })
    expect((await run(ANONYMOUS, 'mutation { login }')).data).toEqual({ login: 'token' })
    const read = await run(ANONYMOUS, `{ thing(id: "${USER_ID}") { id } }`)
    expect(codes(read)).toEqual(['UNAUTHENTICATED'])
    expect(read.errors?.[0]?.message).toBe('Query.thing requires a signed-in caller')
    const write = await run(ANONYMOUS, `mutation { updateThing(id: "${USER_ID}") { id } }`)
    expect(codes(write)).toEqual(['UNAUTHENTICATED'])
    expect(writes).toEqual([])
  })

  it('treats a context without a caller as anonymous', async () => {
    const { run } = harness()
    expect(codes(await run(undefined, `{ thing(id: "${USER_ID}") { id } }`))).toEqual(['UNAUTHENTICATED'])
  })

  it('needs the read permission for a guarded root read, from a person or a key alike', async () => {
    const { run } = harness()
    for (const caller of [
      user(['product:read']),
      user(['product:manage']),
      partner(['product:read']),
      SERVICE,
    ]) {
      const result = await run(caller, `{ thing(id: "${USER_ID}") { id name } }`)
      expect(result.errors).toBeUndefined()
      expect(result.data.thing).toEqual({ id: USER_ID, name: 'a thing' })
    }
    // A key scoped to another domain reads nothing here, whoever owns it.
    for (const caller of [user(), user(['export:read']), partner(['export:read'])]) {
      const result = await run(caller, `{ thing(id: "${USER_ID}") { id } }`)
      expect(codes(result)).toEqual(['FORBIDDEN'])
      expect(result.errors?.[0]?.message).toBe('Query.thing requires permission product:read')
      expect(result.data?.thing ?? null).toBeNull()
    }
  })

  it('needs only a signed-in caller for an @authenticated read', async () => {
    const { run } = harness()
    for (const caller of [user(), partner([])]) {
      expect((await run(caller, '{ whoami }')).data).toEqual({ whoami: 'you' })
    }
    expect(codes(await run(ANONYMOUS, '{ whoami }'))).toEqual(['UNAUTHENTICATED'])
  })

  it('refuses a mutation without its permission before the resolver runs', async () => {
    const { run, writes } = harness()
    for (const caller of [user(['product:read', 'product:create']), partner(['product:read'])]) {
      const result = await run(caller, `mutation { updateThing(id: "${USER_ID}") { id } }`)
      expect(codes(result)).toEqual(['FORBIDDEN'])
      expect(result.errors?.[0]?.message).toBe('Mutation.updateThing requires permission product:update')
      expect(result.errors?.[0]?.extensions.permission).toBe('product:update')
    }
    expect(writes).toEqual([])
  })

  it('grants by exact permission, <resource>:manage and superuser; no wildcard', async () => {
    const { run, writes } = harness()
    for (const caller of [
      user(['product:update']),
      user(['product:manage']),
      partner(['product:update']),
      superuser,
      SERVICE,
    ]) {
      const result = await run(caller, `mutation { updateThing(id: "${USER_ID}") { id } }`)
      expect(result.errors).toBeUndefined()
    }
    expect(writes).toHaveLength(5)
    for (const caller of [user(['*:*']), user(['product:*']), user(['*:update'])]) {
      const result = await run(caller, `mutation { updateThing(id: "${USER_ID}") { id } }`)
      expect(result.errors?.[0]?.extensions.code).toBe('FORBIDDEN')
    }
    expect(writes).toHaveLength(5)
  })

  it('demands every permission of a repeated @requiresPermission', async () => {
    const { run } = harness()
    const one = await run(user(['product:create']), 'mutation { upsertThings }')
    expect(result(one).message).toBe('Mutation.upsertThings requires permission product:update')
    expect(codes(await run(user(['product:update']), 'mutation { upsertThings }'))).toEqual(['FORBIDDEN'])
    expect((await run(user(['product:create', 'product:update']), 'mutation { upsertThings }')).data).toEqual(
      {
        upsertThings: 1,
      },
    )
  })

  it('fails only the guarded non-root field, leaving its siblings', async () => {
    const { run } = harness()
    const result = await run(user(['product:read']), `{ thing(id: "${USER_ID}") { id name secret } }`)
    expect(result.data.thing).toEqual({ id: USER_ID, name: 'a thing', secret: null })
    expect(codes(result)).toEqual(['FORBIDDEN'])
    expect(result.errors?.[0]?.path).toEqual(['thing', 'secret'])
    const allowed = await run(
      user(['product:read', 'product:update']),
      `{ thing(id: "${USER_ID}") { secret } }`,
    )
    expect(allowed.data.thing.secret).toBe('the secret')
  })

  it('lets a user act on their own id with self (argument or parent field), not on others', async () => {
    const { run } = harness()
    const own = await run(user(), `{ account(id: "${USER_ID}") { id permissions } }`)
    expect(own.errors).toBeUndefined()
    expect(own.data.account.permissions).toEqual(['x:read'])
    const upper = await run(user(), `{ account(id: "${USER_ID.toUpperCase()}") { id } }`)
    expect(upper.errors).toBeUndefined()
    const other = await run(user(), `{ account(id: "${OTHER_ID}") { id } }`)
    expect(codes(other)).toEqual(['FORBIDDEN'])
    // A partner key is not a person: self never applies to it.
    const key = await run(partner([]), `{ account(id: "${USER_ID}") { id } }`)
    expect(codes(key)).toEqual(['FORBIDDEN'])
    const admin = await run(user(['user:read']), `{ account(id: "${OTHER_ID}") { permissions } }`)
    expect(admin.data.account.permissions).toEqual(['x:read'])
  })

  it('shows a sign-in answer its own account, marked by provenAsOwn and by nothing a client can send', async () => {
    const { run } = harness()
    const proven = await run(ANONYMOUS, 'mutation { signIn { account { id permissions } } }')
    expect(proven.errors).toBeUndefined()
    expect(proven.data.signIn.account).toEqual({ id: OTHER_ID, permissions: ['x:read'] })
    const copied = await run(ANONYMOUS, 'mutation { signIn(copy: true) { account { permissions } } }')
    expect(codes(copied)).toEqual(['UNAUTHENTICATED'])
    expect(copied.data.signIn.account.permissions).toBeNull()
  })

  it('lets any signed-in caller use a self-service @authenticated mutation, not anonymous ones', async () => {
    const { run } = harness()
    expect((await run(user(), 'mutation { logoutEverywhere }')).data).toEqual({ logoutEverywhere: 2 })
    expect(codes(await run(ANONYMOUS, 'mutation { logoutEverywhere }'))).toEqual(['UNAUTHENTICATED'])
  })

  it('keeps internal:call for services, refusing even a superuser person', async () => {
    const { run } = harness()
    expect((await run(SERVICE, '{ internal }')).data).toEqual({ internal: 'inside' })
    expect(codes(await run(superuser, '{ internal }'))).toEqual(['FORBIDDEN'])
    expect(codes(await run(user(['*:*']), '{ internal }'))).toEqual(['FORBIDDEN'])
    expect(codes(await run(ANONYMOUS, '{ internal }'))).toEqual(['UNAUTHENTICATED'])
  })

  it('guards entity resolution and the SDL behind a signed-in caller', async () => {
    const { run } = harness()
    const entities = `{ _entities(representations: [{ __typename: "Thing", id: "${USER_ID}" }]) { ... on Thing { id } } }`
    expect(codes(await run(ANONYMOUS, entities))).toEqual(['UNAUTHENTICATED'])
    expect(codes(await run(ANONYMOUS, '{ _service { sdl } }'))).toEqual(['UNAUTHENTICATED'])
    expect((await run(partner(['product:read']), entities)).data._entities).toEqual([{ id: USER_ID }])
    expect((await run(SERVICE, '{ _service { sdl } }')).data._service.sdl).toContain('type Thing')
  })
})

function result(execution: ExecutionResult) {
  const [error] = execution.errors ?? []
  if (!error) throw new Error('expected an error')
  return error
}

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])'

function buildError(sdl: string): string {
  try {
    buildSchema(module(`${LINK}\n${sdl}`))
  } catch (error) {
    return (error as Error).message
  }
  throw new Error('expected the build to fail')
}

describe('authorization at build time', () => {
  const query = 'type Query { ok: String @public }'

  it('refuses a mutation that declares nobody, naming every such field', () => {
    const message = buildError(
      `${query}\ntype Mutation { a: Int, b: Int @requiresPermission(permission: "brand:create"), c: Int }`,
    )
    expect(message).toContain('subgraph catalog:')
    expect(message).toContain('Mutation.a, Mutation.c')
    expect(message).not.toContain('Mutation.b')
  })

  it('refuses a query field that declares nobody, as it does a mutation', () => {
    const message = buildError(
      'type Query { ok: String @public, a: Int, b: Int @requiresPermission(permission: "brand:read"), c: Int @authenticated, d: Int }',
    )
    expect(message).toContain('every query and mutation declares who may call it')
    expect(message).toContain('Query.a, Query.d')
    expect(message).not.toContain('Query.b')
    expect(message).not.toContain('Query.c')
    expect(message).not.toContain('_entities')
  })

  it('knows the private-money and supplier-contact permissions', () => {
    expect(() =>
      buildSchema(
        module(
          `${LINK}\ntype Query { a: Int @requiresPermission(permission: "cost:read"), b: Int @requiresPermission(permission: "supplier_contact:read") }`,
        ),
      ),
    ).not.toThrow()
  })

  it('refuses permissions outside the vocabulary (a typo would lock the field)', () => {
    expect(
      buildError(`${query}\ntype Mutation { a: Int @requiresPermission(permission: "prodcut:update") }`),
    ).toContain('Mutation.a: @requiresPermission(permission: "prodcut:update") is not in the vocabulary')
    expect(
      buildError(`${query}\ntype Mutation { a: Int @requiresPermission(permission: "product:write") }`),
    ).toContain('not in the vocabulary')
    expect(
      buildError(`${query}\ntype Mutation { a: Int @requiresPermission(permission: "product") }`),
    ).toContain('not in the vocabulary')
  })

  it("lets a subgraph use federation's own @requires beside @requiresPermission", () => {
    const schema = buildSchema(
      module(`extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external", "@requires"])
type Query { ok: String @public }
type Thing @key(fields: "id") {
  id: UUID!
  weight: Int @external
  shipping: Int @requires(fields: "weight") @requiresPermission(permission: "product:read")
}`),
    )
    const policy = authorizationPolicies(schema).get('Thing.shipping')
    expect(policy?.requirements).toEqual([{ permission: 'product:read' }])
  })

  it('refuses contradictions and misplaced directives', () => {
    expect(
      buildError('type Query { a: Int @public @requiresPermission(permission: "brand:read") }'),
    ).toContain('Query.a: @public contradicts @requiresPermission and @authenticated')
    expect(
      buildError('type Query { a: Int @authenticated @requiresPermission(permission: "brand:read") }'),
    ).toContain('drop @authenticated')
    expect(buildError(`${query}\ntype Thing { a: Int @authenticated }`)).toContain(
      'only apply to Query and Mutation',
    )
    expect(buildError(`${query}\ntype Thing { a: Int @public }`)).toContain(
      'Thing.a: @public and @authenticated only apply to Query and Mutation fields',
    )
    expect(
      buildError(
        'type Query { a(id: ID): Int @requiresPermission(permission: "user:read", self: "userId") }',
      ),
    ).toContain('names neither an argument nor a field')
  })
})

describe('the seven subgraph schemas', () => {
  const policies = new Map(
    DOMAINS.map((domain) => {
      const typeDefs = loadTypeDefs(
        new URL(`../../../subgraphs/${domain}/src/schema.graphql`, import.meta.url),
      )
      const schema = buildSchema({ domain, typeDefs, resolvers: {}, createLoaders: () => ({}) })
      return [domain, { schema, policies: authorizationPolicies(schema) }] as const
    }),
  )

  it('build, and every query and mutation declares a permission, @public or @authenticated', () => {
    for (const [domain, { schema, policies: byField }] of policies) {
      for (const field of Object.keys(schema.getMutationType()?.getFields() ?? {})) {
        expect(byField.get(`Mutation.${field}`)?.declared, `${domain}: Mutation.${field}`).toBe(true)
      }
      for (const field of Object.keys(schema.getQueryType()?.getFields() ?? {})) {
        if (field === '_entities' || field === '_service') continue
        expect(byField.get(`Query.${field}`)?.declared, `${domain}: Query.${field}`).toBe(true)
      }
    }
  })

  it('keep anonymous callers to the public fields', () => {
    const publicFields = [...policies.values()].flatMap(({ schema }) =>
      Object.values({ ...schema.getQueryType()?.getFields(), ...schema.getMutationType()?.getFields() })
        .filter((field) => field.astNode?.directives?.some((d) => d.name.value === 'public'))
        .map((field) => field.name),
    )
    // Sign-in, module status, and me (null when anonymous).
    for (const name of publicFields) {
      expect(['login', 'refreshSession', 'logout', 'modules', 'me']).toContain(name)
    }
  })

  it('put the sensitive reads and writes behind their permissions', () => {
    const requirement = (domain: (typeof DOMAINS)[number], coordinate: string) =>
      policies
        .get(domain)
        ?.policies.get(coordinate)
        ?.requirements.map((r) => r.permission)
    expect(requirement('catalog', 'Mutation.updateProduct')).toEqual(['product:update'])
    expect(requirement('catalog', 'Mutation.upsertProducts')).toEqual(['product:create', 'product:update'])
    expect(requirement('core', 'Query.users')).toEqual(['user:read'])
    expect(requirement('core', 'Query.appSettings')).toEqual(['settings:read'])
    expect(requirement('core', 'User.permissions')).toEqual(['user:manage'])
    expect(requirement('core', 'User.email')).toEqual(['user:read'])
    expect(requirement('catalog', 'Query.products')).toEqual(['product:read'])
    expect(requirement('catalog', 'ProductPrice.cost')).toEqual(['cost:read'])
    expect(requirement('catalog', 'Supplier.contactEmail')).toEqual(['supplier_contact:read'])
    expect(requirement('imports', 'Query.importJobs')).toEqual(['import:read'])
    expect(requirement('media', 'DeleteMediaFilePayload.product')).toEqual(['product:read'])
    expect(requirement('imports', 'Query.importConfigs')).toEqual(['import:read'])
    expect(requirement('imports', 'ImportConfig.connectionConfig')).toEqual(['import:update'])
    expect(requirement('exports', 'ExportPlatform.config')).toEqual(['export:update'])
    expect(requirement('analytics', 'Query.auditLogs')).toEqual(['audit:read'])
    expect(requirement('analytics', 'Mutation.recordAuditEntries')).toEqual(['internal:call'])
    expect(policies.get('catalog')?.policies.get('Query.products')?.authenticated).toBe(true)
    expect(policies.get('catalog')?.policies.get('Query._entities')?.authenticated).toBe(true)
  })
})
