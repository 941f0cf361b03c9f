import type { Domain } from '@pm/db'
import { MODULE_IDS as CORE_MODULE_IDS, createLogger, MODULE_IDS, type ModuleId } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sendGraphQL } from '@pm/testing/subgraph'
import { buildClientSchema, type GraphQLSchema, getIntrospectionQuery, Kind, parse } from 'graphql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningGateway, startGateway } from '../src/gateway'
import {
  type InputSite,
  MODULE_GATES,
  MODULE_STATE_TTL_MS,
  touchedInputs,
  touchedModules,
} from '../src/modules'

let stack: TestStack
let schema: GraphQLSchema

const SET = `mutation($input: SetAppSettingInput!) { setAppSetting(input: $input) { key value } }`
const MODULES = '{ modules { id name enabled source } }'
const JOBS = '{ code2asinJobs(first: 1) { totalCount } }'
const PRODUCTS = '{ products(first: 1) { totalCount } }'

const setModule = async (id: string, enabled: boolean) => {
  const res = await stack.request(SET, {
    input: { key: `module.${id}`, category: 'modules', value: { enabled } },
  })
  expect(res.errors).toBeUndefined()
}

/** Polls until `check` passes (bounded by the test's timeout only). */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 100))
}

/** Polls until `check` passes, at most `ms`; returns how long it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  for (;;) {
    if (await check()) return Date.now() - started
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const refusedFor = async (query: string, id: string, url = stack.graphqlUrl) => {
  const res = await sendGraphQL(url, query, undefined, {
    authorization: `Bearer ${stack.tokenFor({ superuser: true })}`,
  })
  return (
    res.status === 403 &&
    res.body.errors?.length === 1 &&
    res.body.errors[0]!.extensions?.code === 'MODULE_DISABLED' &&
    res.body.errors[0]!.extensions?.module === id
  )
}

beforeAll(async () => {
  // core runs with MODULE_CODE2ASIN_ENABLED=true (and MODULE_ICECAT_ENABLED=false) in its environment.
  stack = await startTestStack({
    env: { core: { MODULE_CODE2ASIN_ENABLED: 'true', MODULE_ICECAT_ENABLED: 'false' } },
  })
  const introspection = await stack.request(getIntrospectionQuery())
  schema = buildClientSchema(introspection.data)
})
afterAll(() => stack?.stop())

describe('the module map', () => {
  it('covers the 17 module ids of seed 002, the same as core’s', () => {
    expect([...MODULE_IDS].sort()).toEqual([...CORE_MODULE_IDS].sort())
    expect(Object.keys(MODULE_GATES).sort()).toEqual([...MODULE_IDS].sort())
  })

  it('names only types and fields the public schema has', () => {
    const missing: string[] = []
    for (const id of MODULE_IDS) {
      for (const type of MODULE_GATES[id].types) if (!schema.getType(type)) missing.push(`${id}: ${type}`)
      for (const coordinate of MODULE_GATES[id].fields) {
        const [typeName, field] = coordinate.split('.') as [string, string]
        const type = schema.getType(typeName) as { getFields?: () => Record<string, unknown> } | undefined
        if (!type?.getFields?.()[field]) missing.push(`${id}: ${coordinate}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('finds a module through fields, returned types, inline fragments and named fragments', () => {
    const touched = (query: string) => {
      const document = parse(query)
      const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)!
      return [...touchedModules(schema, document, operation)].sort()
    }
    expect(touched('{ products(first: 1) { edges { node { id title } } } modules { id } }')).toEqual([])
    expect(touched('{ products(first: 1) { edges { node { bestAsinMatch { asin } } } } }')).toEqual([
      'code2asin',
    ])
    expect(
      touched('{ product(id: "x") { ...P } } fragment P on Product { priceHistory { totalCount } }'),
    ).toEqual(['price_monitor'])
    expect(
      touched('{ product(id: "x") { supplier { ... on Supplier { importJobs { totalCount } } } } }'),
    ).toEqual(['imports', 'suppliers'])
    expect(touched('mutation { createBrand(input: { code: "b", name: "B" }) { id } }')).toEqual([
      'brand_manager',
    ])
    expect(touched('{ productByEan(ean: "1") { id } }')).toEqual(['ean_lookup'])
    // The fragment alone (no field of the type selected) is enough.
    expect(touched('{ product(id: "x") { ... on Product { __typename } } }')).toEqual([])
    expect(touched('{ exportJob(id: "x") { ... on ExportJob { __typename } } }')).toEqual(['exports'])
  })

  it('names only input fields the public schema has', () => {
    const missing: string[] = []
    for (const id of MODULE_IDS) {
      for (const coordinate of MODULE_GATES[id].inputs ?? []) {
        const [typeName, field] = coordinate.split('.') as [string, string]
        const type = schema.getType(typeName) as { getFields?: () => Record<string, unknown> } | undefined
        if (!type?.getFields?.()[field]) missing.push(`${id}: ${coordinate}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('finds a module through the input fields an operation gives a value, literally or in its variables', () => {
    const inputs = (query: string, variables?: Record<string, unknown>) => {
      const document = parse(query)
      const operation = document.definitions.find((d) => d.kind === 'OperationDefinition')!
      const sites: InputSite[] = []
      touchedModules(schema, document, operation, undefined, sites)
      return [...touchedInputs(schema, sites, variables)].sort()
    }
    const LIST = 'query($f: ProductFilter) { products(filter: $f, first: 1) { totalCount } }'
    expect(inputs('{ products(filter: { completenessBelow: 50 }, first: 1) { totalCount } }')).toEqual([
      'completeness',
    ])
    expect(inputs('{ products(filter: { completenessBelow: null }, first: 1) { totalCount } }')).toEqual([])
    expect(inputs(LIST, { f: { completenessAtLeast: 80 } })).toEqual(['completeness'])
    expect(inputs(LIST, { f: { isActive: true } })).toEqual([])
    expect(inputs(LIST)).toEqual([])
    expect(
      inputs('query($b: Int) { products(filter: { completenessBelow: $b }, first: 1) { totalCount } }', {
        b: 5,
      }),
    ).toEqual(['completeness'])
    expect(
      inputs('mutation($i: UpdateCategoryInput!) { updateCategory(id: "x", input: $i) { id } }', {
        i: { completenessRules: ['TITLE'] },
      }),
    ).toEqual(['completeness'])
  })
})

describe('module states', () => {
  it('`modules` lists each module with its state and source, for anonymous callers too', async () => {
    const res = await stack.request(MODULES, {}, { authorization: '' })
    expect(res.errors).toBeUndefined()
    const byId = new Map<string, { enabled: boolean; source: string }>(
      res.data.modules.map((m: { id: string }) => [m.id, m]),
    )
    expect([...byId.keys()].sort()).toEqual([...MODULE_IDS].sort())
    expect(byId.get('code2asin')).toMatchObject({ enabled: true, source: 'ENVIRONMENT' })
    expect(byId.get('icecat')).toMatchObject({ enabled: false, source: 'ENVIRONMENT' })
    for (const id of MODULE_IDS.filter((m) => m !== 'code2asin' && m !== 'icecat'))
      expect(byId.get(id), id).toMatchObject({ enabled: true, source: 'DEFAULT' })
  })

  it('disabled in app_settings wins over MODULE_<ID>_ENABLED=true: refused before any subgraph is called; re-enabled → served, no restart', async () => {
    expect(MODULE_STATE_TTL_MS).toBeLessThanOrEqual(5_000)
    expect((await stack.request(JOBS)).data).toEqual({ code2asinJobs: { totalCount: 0 } })

    await setModule('code2asin', false)
    const modules = await stack.request(MODULES)
    expect(modules.data.modules.find((m: { id: string }) => m.id === 'code2asin')).toMatchObject({
      enabled: false,
      source: 'DATABASE',
    })
    await within(6_000, () => refusedFor(JOBS, 'code2asin'))

    // Refused at the gateway: the code2asin subgraph runs no statement, whatever touches the module.
    const code2asin = stack.subgraphs.code2asin
    const before = code2asin.database.stats().queries
    const catalogBefore = stack.subgraphs.catalog.database.stats().queries
    for (const query of [
      JOBS,
      '{ products(first: 5) { edges { node { id bestAsinMatch { asin } } } } }',
      '{ products(first: 5) { edges { node { ...M } } } } fragment M on Product { asinMatches { asin } }',
      'mutation { cancelCode2AsinJob(id: "00000000-0000-0000-0000-000000000000") { id } }',
    ]) {
      const res = await stack.send(query)
      expect(res.status, query).toBe(403)
      expect(res.body.data ?? undefined).toBeUndefined()
      expect(res.body.errors).toEqual([
        {
          message: expect.stringMatching(/^The code2asin module is disabled/),
          extensions: { code: 'MODULE_DISABLED', module: 'code2asin' },
        },
      ])
    }
    expect(code2asin.database.stats().queries).toBe(before)
    // Not even the catalog part of those operations ran.
    expect(stack.subgraphs.catalog.database.stats().queries).toBe(catalogBefore)
    // The rest of the graph is served.
    expect((await stack.request(PRODUCTS)).data).toEqual({ products: { totalCount: 0 } })

    await setModule('code2asin', true)
    // Served again once the gateway's cached module states expire: their lifetime (at most 5 s) is checked
    // above as a setting; here only the outcome is, however long a loaded machine takes to get there.
    await eventually(async () => (await stack.request(JOBS)).data?.code2asinJobs?.totalCount === 0)
  })

  describe('behind a gateway asking core every 100 ms (no 5 s waits)', () => {
    let quick: RunningGateway
    beforeAll(async () => {
      quick = await startGateway({
        port: 0,
        host: '127.0.0.1',
        subgraphUrls: Object.fromEntries(
          Object.entries(stack.subgraphs).map(([d, sg]) => [d, sg.server.graphqlUrl]),
        ) as Record<Domain, string>,
        logger: createLogger({ service: 'modules-quick' }, 'error'),
        moduleStateTtlMs: 100,
      })
    })
    afterAll(() => quick?.stop())

    it('deleting the setting falls back to the environment, then the default', async () => {
      const query = '{ exportJobs(first: 1) { totalCount } }'
      await setModule('exports', false)
      await within(2_000, () => refusedFor(query, 'exports', quick.graphqlUrl))
      const deleted = await stack.request('mutation { deleteAppSetting(key: "module.exports") { key } }')
      expect(deleted.errors).toBeUndefined()
      await within(2_000, async () => !(await refusedFor(query, 'exports', quick.graphqlUrl)))
      const res = await stack.request(MODULES)
      expect(res.data.modules.find((m: { id: string }) => m.id === 'exports')).toMatchObject({
        enabled: true,
        source: 'DEFAULT',
      })
      // code2asin: its row (from the test above) gone, core's MODULE_CODE2ASIN_ENABLED=true speaks again.
      await setModule('code2asin', false)
      await stack.request('mutation { deleteAppSetting(key: "module.code2asin") { key } }')
      const after = await stack.request(MODULES)
      expect(after.data.modules.find((m: { id: string }) => m.id === 'code2asin')).toMatchObject({
        enabled: true,
        source: 'ENVIRONMENT',
      })
      await within(2_000, async () => !(await refusedFor(JOBS, 'code2asin', quick.graphqlUrl)))
    })

    it('each gated module refuses its own fields; ungated modules leave the graph alone', async () => {
      const probes: Partial<Record<ModuleId, string>> = {
        suppliers: '{ suppliers(first: 1) { totalCount } }',
        imports: '{ importJobs(first: 1) { totalCount } }',
        ean_lookup: '{ productByEan(ean: "4006381333931") { id } }',
        ai_services: '{ aiUsageLogs(first: 1) { totalCount } }',
        brand_manager: 'mutation { createBrand(input: { code: "mod-brand", name: "Brand" }) { id } }',
        category_manager: 'mutation { createCategory(input: { name: "Cat", slug: "mod-cat" }) { id } }',
        price_monitor: '{ products(first: 1) { edges { node { priceHistory { totalCount } } } } }',
      }
      for (const [id, query] of Object.entries(probes)) {
        await setModule(id, false)
        await within(2_000, () => refusedFor(query, id, quick.graphqlUrl))
        await setModule(id, true)
        await within(2_000, async () => !(await refusedFor(query, id, quick.graphqlUrl)))
      }
      // An input field counts too, given in the variables: a filter on the scores of a disabled module.
      const filtered = async () => {
        const res = await sendGraphQL(
          quick.graphqlUrl,
          'query($f: ProductFilter) { products(filter: $f, first: 1) { totalCount } }',
          { f: { completenessBelow: 50 } },
          { authorization: `Bearer ${stack.tokenFor({ superuser: true })}` },
        )
        return res.status === 403 && res.body.errors?.[0]?.extensions?.module === 'completeness'
      }
      await setModule('completeness', false)
      await within(2_000, filtered)
      await setModule('completeness', true)
      await within(2_000, async () => !(await filtered()))
      // icecat is off (environment) and gates nothing here: the product list still answers.
      expect((await stack.request(PRODUCTS)).errors).toBeUndefined()
    })
  })
})
