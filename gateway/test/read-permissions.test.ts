/**
 * Who may read what, over the whole composed schema: for every Query root field and every field that leads
 * into another domain's data (a field a subgraph adds to another's entity, or one that returns another
 * subgraph's entity), for every demo role, a scoped API key and an anonymous caller, the field is refused
 * (FORBIDDEN / UNAUTHENTICATED) exactly when the caller lacks the permission written below, through the
 * gateway over HTTP on the demo data. The fields are found in gateway/supergraph.graphql: one without an
 * expectation here fails the test, so a new field cannot slip through unguarded.
 */

import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { DOMAINS, type Domain } from '@pm/db'
import { DEMO_PASSWORD, seedDemoData } from '@pm/seed'
import { authorizationPolicies, buildSchema, loadTypeDefs, PERMISSION_RESOURCES } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import {
  buildASTSchema,
  type ConstDirectiveNode,
  type FieldDefinitionNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type ObjectTypeDefinitionNode,
  parse,
} from 'graphql'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * What each field demands.
 * - needs: the permission (resource:action; <resource>:manage and superusers pass too); with self, a user
 *   also passes when the argument of that name is their own id (the test gives the admin persona's id).
 * - public: anyone, anonymous included.
 * - reference: nothing of its own (a reference to a user: whoever reaches it sees id and displayName; the
 *   rest of the user is guarded on User itself, see the PII test in user-references.test.ts).
 */
type Rule = { needs: string; self?: string } | { public: true } | { reference: true }

const needs = (permission: string, self?: string): Rule =>
  self ? { needs: permission, self } : { needs: permission }
const REFERENCE: Rule = { reference: true }

const RULES: Record<string, Rule> = {
  // core
  'Query.me': { public: true },
  'Query.modules': { public: true },
  'Query.apiKeys': needs('apikey:read', 'userId'),
  'Query.user': needs('user:read', 'id'),
  'Query.userByEmail': needs('user:read'),
  'Query.users': needs('user:read'),
  'Query.notifications': needs('notification:read', 'userId'),
  'Query.roles': needs('role:read'),
  'Query.role': needs('role:read'),
  'Query.permissions': needs('role:read'),
  'Query.appSetting': needs('settings:read'),
  'Query.appSettings': needs('settings:read'),
  'Query.databaseHealth': needs('settings:manage'),
  'Query.integrityReport': needs('settings:manage'),
  'Query.flaggedReferences': needs('settings:manage'),
  'Query.operationRun': needs('settings:manage'),
  // catalog
  'Query.product': needs('product:read'),
  'Query.productByEan': needs('product:read'),
  'Query.productBySku': needs('product:read'),
  'Query.products': needs('product:read'),
  'Query.productVariant': needs('product:read'),
  'Query.productVariantBySku': needs('product:read'),
  'Query.eanResolutions': needs('product:read'),
  'Query.completenessSummary': needs('product:read'),
  'Query.supplier': needs('supplier:read'),
  'Query.supplierByCode': needs('supplier:read'),
  'Query.suppliers': needs('supplier:read'),
  'Query.brand': needs('brand:read'),
  'Query.brandByCode': needs('brand:read'),
  'Query.brands': needs('brand:read'),
  'Query.category': needs('category:read'),
  'Query.categoryBySlug': needs('category:read'),
  'Query.categories': needs('category:read'),
  'Product.supplier': needs('supplier:read'),
  'Product.brand': needs('brand:read'),
  'Product.category': needs('category:read'),
  'ProductPrice.supplier': needs('supplier:read'),
  'Supplier.products': needs('product:read'),
  'Brand.products': needs('product:read'),
  'Category.products': needs('product:read'),
  'PriceHistoryEntry.changedBy': REFERENCE,
  'StockHistoryEntry.changedBy': REFERENCE,
  // imports
  'Query.importJob': needs('import:read'),
  'Query.importJobs': needs('import:read'),
  'Query.importConfig': needs('import:read'),
  'Query.importConfigs': needs('import:read'),
  'Query.importSchedules': needs('import:read'),
  'Query.mappingTemplates': needs('import:read'),
  'Supplier.importConfigs': needs('import:read'),
  'Supplier.importJobs': needs('import:read'),
  'ImportJob.supplier': needs('supplier:read'),
  'ImportConfig.supplier': needs('supplier:read'),
  'ImportJob.createdBy': REFERENCE,
  // exports
  'Query.exportPlatform': needs('export:read'),
  'Query.exportPlatforms': needs('export:read'),
  'Query.exportJob': needs('export:read'),
  'Query.exportJobs': needs('export:read'),
  'Product.exportItems': needs('export:read'),
  'ExportJobItem.product': needs('product:read'),
  // media
  'Query.mediaFile': needs('media:read'),
  'Query.mediaFileByHash': needs('media:read'),
  'Query.mediaFiles': needs('media:read'),
  'Product.media': needs('media:read'),
  'Product.primaryImage': needs('media:read'),
  'MediaFile.product': needs('product:read'),
  'DeleteMediaFilePayload.product': needs('product:read'),
  // code2asin
  'Query.code2asinJob': needs('code2asin:read'),
  'Query.code2asinJobs': needs('code2asin:read'),
  'Query.code2asinResultsByAsin': needs('code2asin:read'),
  'Product.asinMatches': needs('code2asin:read'),
  'Product.bestAsinMatch': needs('code2asin:read'),
  'Code2AsinResult.product': needs('product:read'),
  // analytics
  'Query.report': needs('analytics:read'),
  'Query.reports': needs('analytics:read'),
  'Query.importMetrics': needs('analytics:read'),
  'Query.aiUsageLogs': needs('analytics:read'),
  'Query.aiUsageSummary': needs('analytics:read'),
  'Query.auditLogs': needs('audit:read'),
  'Product.metrics': needs('analytics:read'),
  'Product.metricsSummary': needs('analytics:read'),
  'Supplier.metrics': needs('analytics:read'),
  'Supplier.importMetrics': needs('analytics:read'),
  'Query.metricRun': needs('analytics:read'),
  'Query.catalogMetrics': needs('analytics:read'),
  'Report.createdBy': REFERENCE,
  'AuditLog.user': REFERENCE,
  'AiUsageLog.user': REFERENCE,
}

// ---------------------------------------------------------------------------------------------------------
// The composed schema and which subgraph each field comes from

const SUPERGRAPH = readFileSync(new URL('../supergraph.graphql', import.meta.url), 'utf8')
const document = parse(SUPERGRAPH)
const schema: GraphQLSchema = buildASTSchema(document, { assumeValidSDL: true })

const directives = (node: { directives?: readonly ConstDirectiveNode[] } | undefined | null, name: string) =>
  (node?.directives ?? []).filter((d) => d.name.value === name)
const graphArgument = (d: ConstDirectiveNode) => {
  const value = d.arguments?.find((a) => a.name.value === 'graph')?.value
  return value?.kind === 'EnumValue' ? value.value : undefined
}
const isInaccessible = (node: { directives?: readonly ConstDirectiveNode[] } | undefined | null) =>
  directives(node, 'inaccessible').length > 0

const typeNodes = new Map<string, ObjectTypeDefinitionNode>()
for (const definition of document.definitions) {
  if (definition.kind === 'ObjectTypeDefinition') typeNodes.set(definition.name.value, definition)
}

/** An entity (a type with a key) rather than a value type every subgraph shares (PageInfo). */
const isEntity = (name: string) =>
  directives(typeNodes.get(name), 'join__type').some((d) => d.arguments?.some((a) => a.name.value === 'key'))

function graphsOfType(name: string): string[] {
  return directives(typeNodes.get(name), 'join__type')
    .map(graphArgument)
    .filter((g): g is string => !!g)
}

function graphsOfField(typeName: string, field: FieldDefinitionNode): string[] {
  const joins = directives(field, 'join__field').filter(
    (d) =>
      !d.arguments?.some(
        (a) => a.name.value === 'external' && a.value.kind === 'BooleanValue' && a.value.value,
      ),
  )
  if (joins.length === 0) return graphsOfType(typeName)
  return joins.map(graphArgument).filter((g): g is string => !!g)
}

/** The subgraph that resolves most of a type's fields: the one that owns it. */
function ownerOf(name: string): string | undefined {
  const node = typeNodes.get(name)
  const counts = new Map<string, number>()
  for (const field of node?.fields ?? []) {
    for (const graph of graphsOfField(name, field)) counts.set(graph, (counts.get(graph) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0]
}

/** Every Query root field and every field leading into another subgraph's data, of the public graph. */
function guardedCoordinates(): string[] {
  const found: string[] = []
  for (const [typeName, node] of typeNodes) {
    if (typeName.startsWith('join__') || typeName.startsWith('link__') || typeName === 'Mutation') continue
    if (isInaccessible(node)) continue
    for (const field of node.fields ?? []) {
      if (isInaccessible(field)) continue
      const coordinate = `${typeName}.${field.name.value}`
      if (typeName === 'Query') {
        found.push(coordinate)
        continue
      }
      const returned = getNamedType(
        (schema.getType(typeName) as GraphQLObjectType).getFields()[field.name.value]!.type,
      )
      if (!isObjectType(returned)) continue
      const graphs = graphsOfField(typeName, field)
      const parentOwner = ownerOf(typeName)
      const returnedOwner = ownerOf(returned.name)
      if (
        (parentOwner && !graphs.includes(parentOwner)) ||
        (returnedOwner && isEntity(returned.name) && !graphs.includes(returnedOwner))
      ) {
        found.push(coordinate)
      }
    }
  }
  return found
}

// ---------------------------------------------------------------------------------------------------------
// Callers and their permissions

interface TestCaller {
  name: string
  headers: Record<string, string>
  kind: 'anonymous' | 'user' | 'partner'
  userId: string | null
  permissions: string[]
  superuser?: boolean
}

function holds(caller: TestCaller, permission: string): boolean {
  const [resource] = permission.split(':')
  return (
    caller.superuser === true ||
    caller.permissions.includes(permission) ||
    caller.permissions.includes(`${resource}:manage`) ||
    caller.permissions.includes('*:*')
  )
}

// ---------------------------------------------------------------------------------------------------------
// Minimal valid operations

/** Values for required arguments: real rows of the demo data where a path must reach data. */
const fixtures: Record<string, unknown> = {}

function dummy(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return dummy(type.ofType)
  if (isListType(type)) return [dummy(type.ofType)]
  if (isEnumType(type)) return type.getValues()[0]!.value
  if (isInputObjectType(type)) {
    const value: Record<string, unknown> = {}
    for (const field of Object.values(type.getFields())) {
      if (isNonNullType(field.type) && field.defaultValue === undefined) value[field.name] = dummy(field.type)
    }
    return value
  }
  if (isScalarType(type)) {
    const scalars: Record<string, unknown> = {
      UUID: randomUUID(),
      String: 'x',
      ID: 'x',
      Int: 1,
      SafeInt: 1,
      Float: 1,
      Decimal: '1',
      Boolean: false,
      LocalDate: '2026-01-01',
      DateTime: '2026-01-01T00:00:00Z',
      EmailAddress: 'nobody@example.com',
      JSON: {},
      JSONObject: {},
    }
    if (!(type.name in scalars)) throw new Error(`no dummy value for scalar ${type.name}: add one`)
    return scalars[type.name]
  }
  throw new Error(`no dummy value for ${String(type)}`)
}

interface Step {
  type: GraphQLObjectType
  field: GraphQLField<any, any>
}

function requiredArguments(step: Step, fixturesOnly: boolean): Record<string, unknown> | null {
  const values: Record<string, unknown> = {}
  for (const arg of step.field.args) {
    if (!isNonNullType(arg.type) || arg.defaultValue !== undefined) continue
    const key = `${step.type.name}.${step.field.name}.${arg.name}`
    if (key in fixtures) values[arg.name] = fixtures[key]
    else if (fixturesOnly) return null
    else values[arg.name] = dummy(arg.type)
  }
  return values
}

/** The shortest path from Query to a field of `target` through arguments the fixtures fill. */
function pathTo(target: string): Step[] | null {
  const query = schema.getQueryType()!
  const seen = new Set<string>(['Query'])
  let frontier: Step[][] = [[]]
  for (let depth = 0; depth < 7 && frontier.length > 0; depth++) {
    const next: Step[][] = []
    for (const path of frontier) {
      const type = path.length === 0 ? query : (getNamedType(path.at(-1)!.field.type) as GraphQLObjectType)
      if (type.name === target) return path
      const node = typeNodes.get(type.name)
      for (const field of Object.values(type.getFields())) {
        const fieldNode = node?.fields?.find((f) => f.name.value === field.name)
        if (isInaccessible(fieldNode)) continue
        const returned = getNamedType(field.type)
        if (!isObjectType(returned) || seen.has(returned.name)) continue
        const step = { type, field }
        if (!requiredArguments(step, true)) continue
        seen.add(returned.name)
        next.push([...path, step])
      }
    }
    frontier = next
  }
  return null
}

function selectionOf(type: GraphQLObjectType | ReturnType<typeof getNamedType>): string {
  if (!isObjectType(type)) return ''
  // A reference to a user: what anyone who reaches it may see.
  if (type.name === 'User') return '{ id displayName }'
  return '{ __typename }'
}

/** An operation reaching `steps` (the last one is the field under test), with its variables. */
function operation(steps: Step[]) {
  const variables: Record<string, unknown> = {}
  const declarations: string[] = []
  let body = selectionOf(getNamedType(steps.at(-1)!.field.type))
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i]!
    const args = requiredArguments(step, false)!
    const written: string[] = []
    for (const [name, value] of Object.entries(args)) {
      const variable = `v${i}_${name}`
      variables[variable] = value
      const type = step.field.args.find((a) => a.name === name)!.type
      declarations.push(`$${variable}: ${String(type)}`)
      written.push(`${name}: $${variable}`)
    }
    body = `${step.field.name}${written.length ? `(${written.join(', ')})` : ''} ${body}`
    if (i > 0) body = `{ ${body} }`
  }
  const header = declarations.length ? `query Probe(${declarations.join(', ')})` : 'query Probe'
  return { query: `${header} { ${body} }`, variables }
}

const DENIALS = new Set(['FORBIDDEN', 'UNAUTHENTICATED'])
/** Answers that passed authorization: the resolver ran and judged the (dummy) input. */
const PAST_AUTHORIZATION = new Set(['NOT_FOUND', 'BAD_USER_INPUT'])

/** Where in the answer the parents of the last step are: at least one must exist for the check to mean anything. */
function parentsReached(data: unknown, steps: Step[]): number {
  let level: unknown[] = [data]
  for (const step of steps.slice(0, -1)) {
    const next: unknown[] = []
    for (const item of level) {
      const value = (item as Record<string, unknown> | null)?.[step.field.name]
      if (Array.isArray(value)) next.push(...value.filter((v) => v != null))
      else if (value != null) next.push(value)
    }
    level = next
  }
  return level.length
}

// ---------------------------------------------------------------------------------------------------------

let stack: TestStack
const callers: TestCaller[] = []
let adminId: string

async function one<T>(domain: Domain, query: ReturnType<typeof sql<T>>): Promise<T> {
  const { rows } = await query.execute(stack.subgraphs[domain].database.db)
  if (!rows[0]) throw new Error(`the demo data has no row for a fixture of ${domain}`)
  return rows[0]
}

beforeAll(async () => {
  stack = await startTestStack()
  const dbs = Object.fromEntries(Object.entries(stack.subgraphs).map(([d, s]) => [d, (s as any).database.db]))
  await seedDemoData(dbs as any, { products: 120 })

  const core = stack.subgraphs.core.database.db
  const users = await core.selectFrom('users').select(['id', 'email', 'role', 'is_active']).execute()
  adminId = users.find((u) => u.role === 'admin')!.id
  callers.push({
    name: 'anonymous',
    headers: { authorization: '' },
    kind: 'anonymous',
    userId: null,
    permissions: [],
  })
  // One demo user per role (packages/seed's personas).
  for (const row of users.sort((a, b) => a.email.localeCompare(b.email))) {
    const persona = { email: row.email, role: row.role }
    if (row.is_active === false) {
      // Inactive (the viewer): it cannot sign in, and the gateway refuses a disabled user's tokens; its
      // role's permissions are tried in a token of a user core does not know.
      const { rows } = await sql<{ name: string }>`
        SELECT p.name FROM permissions p JOIN role_permissions rp ON rp.permission_id = p.id
        JOIN roles r ON r.id = rp.role_id WHERE r.name = ${persona.role}`.execute(core)
      const permissions = rows.map((r) => r.name)
      const unknownUserId = randomUUID()
      callers.push({
        name: `${persona.role} (token)`,
        headers: { authorization: `Bearer ${stack.tokenFor({ userId: unknownUserId, permissions })}` },
        kind: 'user',
        userId: unknownUserId,
        permissions,
      })
      continue
    }
    const res = await stack.request(
      'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken permissions superuser } }',
      { e: persona.email, p: DEMO_PASSWORD },
      { authorization: '' },
    )
    expect(res.errors, persona.email).toBeUndefined()
    callers.push({
      name: persona.role,
      superuser: res.data.login.superuser,
      headers: { authorization: `Bearer ${res.data.login.accessToken}` },
      kind: 'user',
      userId: row.id,
      permissions: res.data.login.permissions,
    })
  }
  const partner = users.find((u) => u.role === 'partner')!
  const key = await stack.request(
    'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { scopes } } }',
    // A key's own rate limit (default 60 a minute) would refuse the probes of this file.
    {
      input: {
        name: 'export feed reader',
        userId: partner.id,
        scopes: ['export:read'],
        rateLimitPerMinute: 100_000,
      },
    },
  )
  expect(key.errors).toBeUndefined()
  callers.push({
    name: 'API key scoped to export:read',
    headers: { 'x-api-key': key.data.createApiKey.key },
    kind: 'partner',
    userId: partner.id,
    permissions: ['export:read'],
  })

  // Real rows along the paths, so a nested field is reached for the callers allowed to reach it.
  const id = async (domain: Domain, query: ReturnType<typeof sql<{ id: string }>>) =>
    (await one(domain, query)).id
  // A product with export items (Product.exportItems → ExportJobItem.product), a supplier, brand and category.
  const exported = (
    await sql<{ id: string }>`SELECT DISTINCT product_id AS id FROM export_job_items`.execute(
      stack.subgraphs.exports.database.db,
    )
  ).rows.map((r) => r.id)
  fixtures['Query.product.id'] = await id(
    'catalog',
    sql`SELECT id FROM products WHERE id = ANY(${exported}::uuid[]) AND supplier_id IS NOT NULL
          AND brand_id IS NOT NULL AND category_id IS NOT NULL ORDER BY id LIMIT 1`,
  )
  fixtures['Query.supplier.id'] = await id('catalog', sql`SELECT id FROM suppliers ORDER BY id LIMIT 1`)
  fixtures['Query.brand.id'] = await id('catalog', sql`SELECT id FROM brands ORDER BY id LIMIT 1`)
  fixtures['Query.category.id'] = await id('catalog', sql`SELECT id FROM categories ORDER BY id LIMIT 1`)
  fixtures['Query.importJob.id'] = await id(
    'imports',
    sql`SELECT id FROM import_jobs WHERE created_by IS NOT NULL ORDER BY id LIMIT 1`,
  )
  fixtures['Query.importConfig.id'] = await id(
    'imports',
    sql`SELECT id FROM import_configs ORDER BY id LIMIT 1`,
  )
  fixtures['Query.exportJob.id'] = await id(
    'exports',
    sql`SELECT job_id AS id FROM export_job_items ORDER BY job_id LIMIT 1`,
  )
  fixtures['Query.mediaFile.id'] = await id(
    'media',
    sql`SELECT id FROM media_files WHERE product_id IS NOT NULL ORDER BY id LIMIT 1`,
  )
  fixtures['Query.code2asinJob.id'] = await id(
    'code2asin',
    sql`SELECT job_id AS id FROM code2asin_results ORDER BY job_id LIMIT 1`,
  )
  fixtures['Query.report.id'] = await id(
    'analytics',
    sql`SELECT id FROM reports WHERE created_by IS NOT NULL ORDER BY id LIMIT 1`,
  )
  // Self rules: the admin persona's own id (only the admin passes by self).
  fixtures['Query.user.id'] = adminId
  fixtures['Query.apiKeys.userId'] = adminId
  fixtures['Query.notifications.userId'] = adminId
}, 240_000)
afterAll(() => stack?.stop())

const COORDINATES = guardedCoordinates()

describe('the composed schema', () => {
  it('has an expectation for every root field and every field into another domain, and no stale one', () => {
    const missing = COORDINATES.filter((c) => !(c in RULES))
    expect(missing, 'fields without an expectation: add them to RULES (and guard them)').toEqual([])
    const unknown = Object.keys(RULES).filter((c) => {
      const [type, field] = c.split('.') as [string, string]
      return !(schema.getType(type) as GraphQLObjectType | undefined)?.getFields()[field]
    })
    expect(unknown).toEqual([])
    // The classification finds what it must (guards against a classifier that finds nothing).
    for (const c of [
      'Product.media',
      'ImportJob.createdBy',
      'ExportJobItem.product',
      'Supplier.importJobs',
    ]) {
      expect(COORDINATES).toContain(c)
    }
  })

  it('declares the same in the subgraph schemas (fields only a mutation reaches included)', () => {
    const declared = new Map<string, { permission: string; self?: string }[]>()
    const publicFields = new Set<string>()
    for (const domain of DOMAINS) {
      const typeDefs = loadTypeDefs(new URL(`../../subgraphs/${domain}/src/schema.graphql`, import.meta.url))
      const built = buildSchema({ domain, typeDefs, resolvers: {}, createLoaders: () => ({}) })
      for (const [coordinate, policy] of authorizationPolicies(built)) {
        if (policy.public) publicFields.add(coordinate)
        if (policy.requirements.length === 0) continue
        declared.set(
          coordinate,
          policy.requirements.map((r) => ({
            permission: r.permission,
            ...((r.selfArgument ?? r.selfField) ? { self: r.selfArgument ?? r.selfField } : {}),
          })),
        )
      }
    }
    for (const [coordinate, rule] of Object.entries(RULES)) {
      if ('public' in rule) expect(publicFields.has(coordinate), coordinate).toBe(true)
      else if ('reference' in rule) expect(declared.get(coordinate), coordinate).toBeUndefined()
      else
        expect(declared.get(coordinate), coordinate).toEqual([
          { permission: rule.needs, ...(rule.self ? { self: rule.self } : {}) },
        ])
    }
  })
})

describe('every guarded field, for every demo role, a scoped API key and an anonymous caller', () => {
  for (const coordinate of COORDINATES) {
    it(coordinate, async () => {
      const [typeName, fieldName] = coordinate.split('.') as [string, string]
      const type = schema.getType(typeName) as GraphQLObjectType
      const last: Step = { type, field: type.getFields()[fieldName]! }
      const path = typeName === 'Query' ? [] : pathTo(typeName)
      if (path === null) {
        // Reached only through a mutation's answer: its declaration is checked against the subgraph above.
        expect(RULES[coordinate], coordinate).toBeDefined()
        return
      }
      const steps = [...path, last]
      const { query, variables } = operation(steps)
      const rules = steps.map((s) => RULES[`${s.type.name}.${s.field.name}`])

      // The stack's superuser reaches the field: the path leads to real data.
      const su = await stack.request(query, variables)
      const suCodes = (su.errors ?? []).map((e) => e.extensions?.code as string)
      expect(
        suCodes.filter((c) => !PAST_AUTHORIZATION.has(c)),
        `${query} as a superuser`,
      ).toEqual([])
      if (steps.length > 1) expect(parentsReached(su.data, steps), `${query} reaches data`).toBeGreaterThan(0)

      // Besides the demo callers: one holding every read but the field's own permission, so a guard the
      // demo roles all pass (media:read, …) is still seen missing.
      const probes = [...callers]
      const own = rules.at(-1)
      if (own && 'needs' in own) {
        const permissions = PERMISSION_RESOURCES.map((r) => `${r}:read`).filter((p) => p !== own.needs)
        probes.push({
          name: `every read but ${own.needs}`,
          headers: { authorization: `Bearer ${stack.tokenFor({ permissions })}` },
          kind: 'user',
          userId: null,
          permissions,
        })
      }
      const mismatches: string[] = []
      await Promise.all(
        probes.map(async (caller) => {
          const allowedBy = (rule: Rule | undefined, step: Step) => {
            if (!rule || 'reference' in rule || 'public' in rule) {
              return rule && 'public' in rule ? true : caller.kind !== 'anonymous'
            }
            if (holds(caller, rule.needs)) return true
            const key = `${step.type.name}.${step.field.name}.${rule.self}`
            return !!rule.self && caller.kind === 'user' && caller.userId === fixtures[key]
          }
          const expected = steps.every((s, i) => allowedBy(rules[i], s))
          const res = await stack.request(query, variables, caller.headers)
          const codes = (res.errors ?? []).map((e) => e.extensions?.code as string)
          const refused = codes.some((c) => DENIALS.has(c))
          const others = codes.filter((c) => !DENIALS.has(c) && !PAST_AUTHORIZATION.has(c))
          if (others.length > 0) mismatches.push(`${caller.name}: unexpected ${others.join(', ')}`)
          if (expected && refused) {
            mismatches.push(`${caller.name}: refused (${res.errors?.[0]?.message}) but holds what it needs`)
          } else if (!expected && !refused) {
            mismatches.push(`${caller.name}: allowed without the permission`)
          }
          // Refused for the field under test itself when it holds the rest of the path.
          if (!expected && refused && steps.slice(0, -1).every((s, i) => allowedBy(rules[i], s))) {
            const atField = res.errors?.some(
              (e) => DENIALS.has(e.extensions?.code as string) && e.path?.at(-1) === fieldName,
            )
            if (!atField) mismatches.push(`${caller.name}: refused elsewhere than at ${fieldName}`)
            if (caller.kind === 'anonymous' && !codes.includes('UNAUTHENTICATED')) {
              mismatches.push('anonymous: not UNAUTHENTICATED')
            }
          }
        }),
      )
      expect(mismatches, query).toEqual([])
    })
  }
})
