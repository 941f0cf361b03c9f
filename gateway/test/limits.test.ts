import { createHash, randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { DOMAINS, type Domain } from '@pm/db'
import { createLogger } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { getIntrospectionQuery } from 'graphql'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { composeSupergraph } from '../src/compose'
import { DEFAULT_MAX_BODY_BYTES, GatewayConfigError, loadGatewaySecurity } from '../src/environment'
import { type GatewayOptions, type RunningGateway, startGateway } from '../src/gateway'
import { DEFAULT_OPERATION_LIMITS } from '../src/limits'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

let stack: TestStack
let supergraphSdl: string
let subgraphUrls: Record<Domain, string>
let supplierId: string
const gateways: RunningGateway[] = []

/** One more gateway in front of the stack's subgraphs, configured for a test. */
async function gateway(options: Partial<GatewayOptions> = {}): Promise<RunningGateway> {
  const running = await startGateway({
    port: 0,
    host: '127.0.0.1',
    supergraphSdl,
    subgraphUrls,
    logger: createLogger({ service: 'limits-test-gateway' }, 'error'),
    ...options,
  })
  gateways.push(running)
  return running
}

interface Answer {
  status: number
  headers: Headers
  body: any
  text: string
}

async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init)
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: res.status, headers: res.headers, body, text }
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

const get = (url: string, query: string, headers: Record<string, string> = {}) => {
  const target = new URL(url)
  target.searchParams.set('query', query)
  return send(target.href, { headers })
}

/** A signed-in superuser: operations that read data need a caller (anonymous ones only reach public fields). */
const signedIn = () => ({ authorization: `Bearer ${stack.tokenFor({ superuser: true })}` })

/** A refusal: the status, one error with the code, and nothing of the server's insides. */
function expectRefused(answer: Answer, status: number, code: string) {
  expect(answer.status, answer.text).toBe(status)
  expect(answer.body.data).toBeUndefined()
  expect(answer.body.errors).toHaveLength(1)
  expect(answer.body.errors[0].extensions.code).toBe(code)
  expect(answer.text).not.toMatch(/stacktrace|\bat .+\.(ts|js):\d+/)
  expect(answer.body.errors[0].extensions.http).toBeUndefined()
  return answer.body.errors[0] as { message: string; extensions: Record<string, unknown> }
}

function expectLimitMessage(error: { message: string }, limit: number, value: number | string) {
  expect(error.message).toContain(`limit of ${limit}`)
  expect(error.message).toContain(String(value))
}

/** Rate-limit windows are wall-clock minutes: keep a test's few requests inside one. */
async function awayFromMinuteEdge() {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < 5_000) await new Promise((resolve) => setTimeout(resolve, left + 50))
}

const PRODUCT_PAGE = /* GraphQL */ `
  query ProductPage($supplierId: UUID!, $first: Int!, $from: LocalDate!, $to: LocalDate!) {
    products(first: $first, filter: { supplierId: $supplierId }) {
      totalCount
      edges {
        node {
          id
          title
          supplier { code }
          prices { priceType price currency }
          stocks { warehouseId quantity reservedQuantity availableQuantity }
          primaryImage { id thumbnails { sizeName width } }
          media { id displayOrder thumbnails { sizeName } }
          bestAsinMatch { asin matchConfidence }
          metrics(from: $from, to: $to) { date viewCount revenue }
        }
      }
    }
  }
`

/** suppliers → products → supplier → products …: `levels` hops, each 4 fields deeper. */
function nested(levels: number): string {
  let inner = 'id'
  for (let i = 0; i < levels; i++) inner = `supplier { products(first: 1) { edges { node { ${inner} } } } }`
  return `{ products(first: 1) { edges { node { ${inner} } } } }`
}

beforeAll(async () => {
  stack = await startTestStack()
  const composition = composeSupergraph(DOMAINS)
  if (!composition.ok) throw new Error(composition.errors.join('\n'))
  supergraphSdl = composition.supergraphSdl
  subgraphUrls = Object.fromEntries(
    Object.entries(stack.subgraphs).map(([d, sg]) => [d, sg.server.graphqlUrl]),
  ) as Record<Domain, string>
  const { db } = stack.subgraphs.catalog.database
  const supplier = await db
    .insertInto('suppliers')
    .values({ code: 'LIMITS', name: 'Limits test supplier' })
    .returning('id')
    .executeTakeFirstOrThrow()
  supplierId = supplier.id
  await db
    .insertInto('products')
    .values(Array.from({ length: 60 }, (_, i) => ({ title: `Product ${i}`, supplier_id: supplierId })))
    .execute()
})
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()))
  await stack?.stop()
})

describe('the classic GraphQL attacks, refused before planning', () => {
  let url: string
  beforeAll(async () => {
    url = (await gateway({ mode: 'production' })).graphqlUrl
  })

  it('alias overloading → TOO_MANY_ALIASES', async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `t${i}: title`).join(' ')
    const error = expectRefused(
      await post(url, { query: `{ products(first: 1) { edges { node { ${aliases} } } } }` }),
      400,
      'TOO_MANY_ALIASES',
    )
    expectLimitMessage(error, 30, 40)
    expect(error.extensions).toMatchObject({ limit: 30, value: 40 })
  })

  it('deep nesting → QUERY_TOO_DEEP, also through fragments; 12 levels pass', async () => {
    // products edges node (3) + 2 hops of 4 + id = 12
    const ok = await post(url, { query: nested(2) }, signedIn())
    expect(ok.body.errors, ok.text).toBeUndefined()
    const error = expectRefused(await post(url, { query: nested(3) }), 400, 'QUERY_TOO_DEEP')
    expectLimitMessage(error, 12, 16)
    const viaFragments = `{ products(first: 1) { ...P } }
      fragment P on ProductConnection { edges { node { supplier { ...S } } } }
      fragment S on Supplier { products(first: 1) { ...P } }`
    // A fragment cycle does not loop the depth check: it stops at the cycle, and validation refuses it.
    expectRefused(await post(url, { query: viaFragments }), 400, 'GRAPHQL_VALIDATION_FAILED')
    const deepFragments = `{ products(first: 1) { ...A } }
      fragment A on ProductConnection { edges { node { supplier { products(first: 1) { ...B } } } } }
      fragment B on ProductConnection { edges { node { supplier { products(first: 1) { ...C } } } } }
      fragment C on ProductConnection { edges { node { supplier { products(first: 1) { edges { node { id } } } } } } }`
    expectLimitMessage(
      expectRefused(await post(url, { query: deepFragments }), 400, 'QUERY_TOO_DEEP'),
      12,
      16,
    )
  })

  it('batch flooding → BATCH_TOO_LARGE; a batch within the bound is answered', async () => {
    const flood = Array.from({ length: 11 }, () => ({ query: '{ __typename }' }))
    expectLimitMessage(expectRefused(await post(url, flood), 400, 'BATCH_TOO_LARGE'), 10, 11)
    const batch = await post(
      url,
      [{ query: '{ __typename }' }, { query: '{ users(first: 1) { totalCount } }' }],
      signedIn(),
    )
    expect(batch.status).toBe(200)
    expect(batch.headers.get('ratelimit-limit')).toBeNull()
    expect(batch.body).toEqual([{ data: { __typename: 'Query' } }, { data: { users: { totalCount: 0 } } }])
    // Each operation of a batch meets the limits on its own.
    const deep = await post(url, [{ query: '{ __typename }' }, { query: nested(3) }])
    const error = expectRefused(deep, 400, 'QUERY_TOO_DEEP')
    expect(error.message).toMatch(/^Operation 2 of the batch: /)
  })

  it('batches refused outright when GATEWAY_MAX_BATCH is 0', async () => {
    const noBatches = (await gateway({ mode: 'production', maxBatch: 0 })).graphqlUrl
    const error = expectRefused(await post(noBatches, [{ query: '{ __typename }' }]), 400, 'BATCH_TOO_LARGE')
    expect(error.message).toMatch(/one operation per request/)
    expect((await post(noBatches, { query: '{ __typename }' })).body).toEqual({
      data: { __typename: 'Query' },
    })
  })

  it('field duplication → TOO_MANY_DUPLICATE_FIELDS', async () => {
    const ids = 'id '.repeat(60)
    const error = expectRefused(
      await post(url, { query: `{ products(first: 1) { edges { node { ${ids} } } } }` }),
      400,
      'TOO_MANY_DUPLICATE_FIELDS',
    )
    expectLimitMessage(error, 50, 60)
    expect(error.message).toContain('"id"')
    // The same through one fragment spread many times.
    const spreads = '...F '.repeat(60)
    expectRefused(
      await post(url, {
        query: `{ products(first: 1) { edges { node { ${spreads} } } } } fragment F on Product { id }`,
      }),
      400,
      'TOO_MANY_DUPLICATE_FIELDS',
    )
  })

  it('directive overloading → TOO_MANY_DIRECTIVES', async () => {
    const directives = '@include(if: true) '.repeat(60)
    const error = expectRefused(
      await post(url, { query: `{ __typename ${directives} }` }),
      400,
      'TOO_MANY_DIRECTIVES',
    )
    expectLimitMessage(error, 50, 60)
    // Unknown directives are refused the same way, before validation looks at them.
    expectRefused(
      await post(url, { query: `{ __typename ${'@aa '.repeat(200)} }` }),
      400,
      'TOO_MANY_DIRECTIVES',
    )
  })

  it('token flooding → TOO_MANY_TOKENS', async () => {
    const variables = Array.from({ length: 1_500 }, (_, i) => `$v${i}: Int`).join(' ')
    const error = expectRefused(
      await post(url, { query: `query Flood(${variables}) { __typename }` }),
      400,
      'TOO_MANY_TOKENS',
    )
    // 1,500 × 4 tokens ($ v0 : Int) + query Flood ( ) { __typename }
    expectLimitMessage(error, 5_000, 6_007)
    expect(error.extensions).toMatchObject({ limit: 5_000, value: 6_007 })
  })

  it('too many root fields → TOO_MANY_ROOT_FIELDS', async () => {
    const fields = Array.from({ length: 21 }, (_, i) => `u${i}: users(first: 1) { totalCount }`).join(' ')
    expectLimitMessage(
      expectRefused(await post(url, { query: `{ ${fields} }` }), 400, 'TOO_MANY_ROOT_FIELDS'),
      20,
      21,
    )
  })

  it('a nested connection with first: 100 at each level → QUERY_TOO_COMPLEX', async () => {
    const query = `query Costly($n: Int) {
      suppliers(first: $n) { edges { node { products(first: $n) { totalCount edges { node { id } } } } } }
    }`
    // suppliers: 1 + (edges: 1 + 100 × (node: 1 + products: 1 + (totalCount 1 + edges: 1 + 100 × (node 1 + id 1))))
    const error = expectRefused(await post(url, { query, variables: { n: 100 } }), 400, 'QUERY_TOO_COMPLEX')
    expectLimitMessage(error, 5_000, 20_402)
    expect(error.message).toMatch(/^Operation "Costly" costs 20402/)
    // The same shape with smaller pages is within the limit.
    const small = await post(url, { query, variables: { n: 10 } }, signedIn())
    expect(small.status).toBe(200)
    expect(small.body.errors, small.text).toBeUndefined()
    // Literal arguments count the same; a missing `first` counts as its default (20).
    const literal = query.replace('query Costly($n: Int)', 'query Costly').replaceAll('$n', '100')
    expectRefused(await post(url, { query: literal }), 400, 'QUERY_TOO_COMPLEX')
  })

  it('over GET, the same limits apply', async () => {
    expectRefused(await get(url, nested(3), { 'apollo-require-preflight': 'true' }), 400, 'QUERY_TOO_DEEP')
  })

  it('a request body over the default limit (4 MiB) → 413 PAYLOAD_TOO_LARGE; just under is served', async () => {
    const body = (pad: number) =>
      JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(pad) } })
    const base = body(0).length
    const over = await post(url, body(DEFAULT_MAX_BODY_BYTES - base + 1))
    const error = expectRefused(over, 413, 'PAYLOAD_TOO_LARGE')
    expectLimitMessage(error, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)
    const under = await post(url, body(DEFAULT_MAX_BODY_BYTES - base))
    expect(under.status).toBe(200)
    expect(under.body).toEqual({ data: { __typename: 'Query' } })
  })

  it('a body announced far over the limit is answered 413 without being read', async () => {
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(200 * 1_048_576) },
      })
      req.on('response', (res) => {
        let text = ''
        res.on('data', (chunk) => {
          text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.write(Buffer.alloc(64 * 1024, 'x'))
    })
    expect(status).toBe(413)
    expect(JSON.parse(text).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE')
  })
})

describe('client mistakes: 400 with a code, nothing unexpected in the log, log lines bounded', () => {
  let url: string
  const lines: string[] = []
  beforeAll(async () => {
    // Everything the gateway logs, down to debug, kept for the assertions.
    const logger = createLogger({ service: 'limits-test-gateway' }, 'debug', (line) => {
      lines.push(line)
    })
    url = (await gateway({ mode: 'production', logger })).graphqlUrl
  })

  it('several operations without operationName → OPERATION_NAME_REQUIRED; an unknown one → OPERATION_NOT_FOUND', async () => {
    const query = 'query A { __typename } query B { __typename }'
    const required = expectRefused(await post(url, { query }, signedIn()), 400, 'OPERATION_NAME_REQUIRED')
    expect(required.message).toMatch(/2 operations.*operationName/)
    const missing = await post(url, { query, operationName: 'C' }, signedIn())
    expect(expectRefused(missing, 400, 'OPERATION_NOT_FOUND').message).toMatch(/"C".*"A", "B"/)
    // The right name runs; so does GET.
    expect((await post(url, { query, operationName: 'B' }, signedIn())).body).toEqual({
      data: { __typename: 'Query' },
    })
    const target = new URL(url)
    target.searchParams.set('query', query)
    expectRefused(
      await send(target.href, { headers: { 'apollo-require-preflight': '1', ...signedIn() } }),
      400,
      'OPERATION_NAME_REQUIRED',
    )
  })

  it('a subscription → SUBSCRIPTIONS_NOT_SUPPORTED', async () => {
    expectRefused(
      await post(url, { query: 'subscription S { __typename }' }, signedIn()),
      400,
      'SUBSCRIPTIONS_NOT_SUPPORTED',
    )
    const named = await post(url, {
      query: 'query Q { __typename } subscription S { __typename }',
      operationName: 'S',
    })
    expectRefused(named, 400, 'SUBSCRIPTIONS_NOT_SUPPORTED')
  })

  it('a 1 MB operationName: 400, and no log line of the request grows with it', async () => {
    lines.length = 0
    const name = 'N'.repeat(1_048_576)
    const answer = await post(url, { query: 'query A { __typename }', operationName: name }, signedIn())
    const error = expectRefused(answer, 400, 'OPERATION_NOT_FOUND')
    expect(error.message.length).toBeLessThan(500)
    expect(answer.text.length).toBeLessThan(1_000)
    // Also a document whose operation carries such a name (within the body limit): refused or answered, never logged whole.
    const named = await post(url, { query: `query ${name} { __typename }` }, signedIn())
    expect(named.status).toBeLessThan(500)
    for (const line of lines) {
      expect(line.length).toBeLessThan(10_000)
      expect(line).not.toMatch(/"stack"|unexpected error/)
    }
  })
})

/** Core answers the gateway's check of the caller's session, before any limit applies. */
const BACKGROUND = { except: ['core'] } as const

describe('variables nested 100,000 levels deep', () => {
  let url: string
  beforeAll(async () => {
    url = (await gateway({ mode: 'production' })).graphqlUrl
  })
  const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
  const deepList = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`

  it('→ 400 VARIABLES_TOO_DEEP before any subgraph is asked; the gateway keeps answering', async () => {
    const before = stack.totalQueryCount(BACKGROUND)
    const specs = `mutation($specs: JSONObject) { createProduct(input: { title: "deep", supplierId: "${randomUUID()}", technicalSpecs: $specs }) { id } }`
    for (const value of [deepObject(100_000), deepList(100_000), deepObject(33)]) {
      const body = `{"query":${JSON.stringify(specs)},"variables":{"specs":${value}}}`
      const error = expectRefused(await post(url, body, signedIn()), 400, 'VARIABLES_TOO_DEEP')
      expectLimitMessage(error, 32, 32)
    }
    // In a batch, and over GET, the same.
    const batch = `[{"query":"{ __typename }"},{"query":"{ __typename }","variables":{"v":${deepList(100_000)}}}]`
    expect(expectRefused(await post(url, batch, signedIn()), 400, 'VARIABLES_TOO_DEEP').message).toMatch(
      /^Operation 2 of the batch: /,
    )
    const target = new URL(url)
    target.searchParams.set('query', '{ __typename }')
    target.searchParams.set('variables', `{"v":${deepList(1_000)}}`)
    expectRefused(
      await send(target.href, { headers: { 'apollo-require-preflight': '1' } }),
      400,
      'VARIABLES_TOO_DEEP',
    )
    expect(stack.totalQueryCount(BACKGROUND)).toBe(before)
    // Within the limit, the variables reach the usual validation; the gateway is still up.
    const shallow = `{"query":${JSON.stringify(specs)},"variables":{"specs":${deepObject(30)}}}`
    const answer = await post(url, shallow, signedIn())
    expect(answer.body.errors?.[0]?.extensions?.code).not.toBe('VARIABLES_TOO_DEEP')
    expect((await post(url, { query: '{ __typename }' })).body).toEqual({ data: { __typename: 'Query' } })
  })
})

describe('the cost limit holds for a request as a whole', () => {
  let url: string
  beforeAll(async () => {
    url = (await gateway({ mode: 'production' })).graphqlUrl
  })
  // 1 + (1 + 49 × (1 + 1 + (1 + 1 + 49 × 2))) = 5,000: the most one operation may cost.
  const MAX_COST = `query Max { suppliers(first: 49) { edges { node { products(first: 49) { totalCount edges { node { id } } } } } } }`

  it('a batch of 10 operations of the maximum cost → 400 QUERY_TOO_COMPLEX, none of them run', async () => {
    const alone = await post(url, { query: MAX_COST }, signedIn())
    expect(alone.status).toBe(200)
    expect(alone.body.errors, alone.text).toBeUndefined()
    const before = stack.totalQueryCount(BACKGROUND)
    const batch = Array.from({ length: 10 }, () => ({ query: MAX_COST }))
    const error = expectRefused(await post(url, batch, signedIn()), 400, 'QUERY_TOO_COMPLEX')
    expectLimitMessage(error, 5_000, 50_000)
    expect(error.message).toMatch(/10 operations of the batch cost 50000 together/)
    expect(stack.totalQueryCount(BACKGROUND)).toBe(before)
    // Two cheap operations together stay within it.
    const small = await post(
      url,
      [{ query: '{ __typename }' }, { query: MAX_COST.replaceAll('49', '5') }],
      signedIn(),
    )
    expect(small.status).toBe(200)
  })

  it('persisted operations sent by hash count the same', async () => {
    const sha256Hash = createHash('sha256').update(MAX_COST).digest('hex')
    const extensions = { persistedQuery: { version: 1, sha256Hash } }
    expect((await post(url, { query: MAX_COST, extensions }, signedIn())).status).toBe(200)
    expect((await post(url, { extensions }, signedIn())).body.errors).toBeUndefined()
    const batch = Array.from({ length: 3 }, () => ({ extensions }))
    expectRefused(await post(url, batch, signedIn()), 400, 'QUERY_TOO_COMPLEX')
  })
})

describe('automatic persisted queries keep only what is bounded', () => {
  let url: string
  beforeAll(async () => {
    url = (await gateway({ apqMaxBytes: 2_000, apqRegistrationsPerMinute: 2 })).graphqlUrl
  })
  const hashed = (query: string) => ({
    persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') },
  })
  /** Registers `query` (hash and text) as `headers`, then asks for it by hash alone: was it kept? */
  async function kept(query: string, headers: Record<string, string>): Promise<boolean> {
    const registered = await post(url, { query, extensions: hashed(query) }, headers)
    // The operation runs either way.
    expect(registered.status, registered.text).toBe(200)
    expect(registered.body.data).toEqual({ __typename: 'Query' })
    const byHash = await post(url, { extensions: hashed(query) }, signedIn())
    if (byHash.body.errors?.[0]?.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND') return false
    expect(byHash.body.data).toEqual({ __typename: 'Query' })
    return true
  }
  const unique = () => `query Q_${randomUUID().replaceAll('-', '')} { __typename }`

  it('nothing from anonymous callers; documents within the size bound from signed-in ones', async () => {
    expect(await kept(unique(), {})).toBe(false)
    const user = { authorization: `Bearer ${stack.tokenFor()}` }
    expect(await kept(unique(), user)).toBe(true)
    // Padded with a comment: few tokens, many bytes.
    expect(
      await kept(`${unique()}\n# ${'x'.repeat(4_000)}`, { authorization: `Bearer ${stack.tokenFor()}` }),
    ).toBe(false)
  })

  it('at most GATEWAY_APQ_REGISTRATIONS_PER_MINUTE documents per caller and minute', async () => {
    await awayFromMinuteEdge()
    const user = { authorization: `Bearer ${stack.tokenFor()}` }
    expect(await kept(unique(), user)).toBe(true)
    expect(await kept(unique(), user)).toBe(true)
    expect(await kept(unique(), user)).toBe(false)
    // Another caller has its own allowance.
    expect(await kept(unique(), { authorization: `Bearer ${stack.tokenFor()}` })).toBe(true)
  })
})

describe('production mode: no introspection, no GraphiQL, no suggestions', () => {
  let production: string
  let development: string
  beforeAll(async () => {
    production = (await gateway({ mode: 'production' })).graphqlUrl
    development = stack.graphqlUrl
  })

  it('refuses __schema and __type with INTROSPECTION_DISABLED, keeps __typename', async () => {
    for (const query of [
      '{ __schema { types { name } } }',
      '{ __type(name: "Product") { fields { name } } }',
      getIntrospectionQuery(),
    ]) {
      const error = expectRefused(await post(production, { query }), 400, 'INTROSPECTION_DISABLED')
      expect(error.message).not.toMatch(/Product|ApolloServer/)
    }
    // Hidden in a fragment, inside another field's selection: still found.
    expectRefused(
      await post(production, { query: '{ ...Q } fragment Q on Query { __schema { queryType { name } } }' }),
      400,
      'INTROSPECTION_DISABLED',
    )
    expect((await post(production, { query: '{ __typename }' })).body).toEqual({
      data: { __typename: 'Query' },
    })
  })

  it('strips "Did you mean" from validation errors', async () => {
    const typo = '{ products(firts: 1) { edges { node { titel } } } }'
    const prod = await post(production, { query: typo })
    expect(prod.status).toBe(400)
    expect(prod.body.errors.length).toBeGreaterThan(0)
    for (const error of prod.body.errors) {
      expect(error.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED')
      expect(error.message).not.toMatch(/Did you mean/)
    }
    expect(prod.text).not.toMatch(/"title"|"first"/)
    const dev = await post(development, { query: typo })
    const messages = dev.body.errors.map((e: { message: string }) => e.message).join('\n')
    expect(messages).toMatch(/Did you mean "title"\?/)
    expect(messages).toMatch(/Did you mean "first"/)
  })

  it('answers a browser 404 instead of GraphiQL', async () => {
    const page = await send(production, { headers: { accept: 'text/html' } })
    expect(page.status).toBe(404)
    expect(page.headers.get('content-type')).toMatch(/json/)
    const dev = await send(development, { headers: { accept: 'text/html' } })
    expect(dev.status).toBe(200)
    expect(dev.headers.get('content-type')).toMatch(/^text\/html/)
  })

  it('each switch can be turned back on', async () => {
    const open = (await gateway({ mode: 'production', introspection: true })).graphqlUrl
    const res = await post(open, { query: '{ __type(name: "Product") { name } }' })
    expect(res.body).toEqual({ data: { __type: { name: 'Product' } } })
    // Suggestions follow introspection unless set: they would reveal nothing more.
    expect((await post(open, { query: '{ products { edges { node { titel } } } }' })).text).toMatch(
      /Did you mean/,
    )
  })
})

describe('ordinary operations stay within the default limits', () => {
  it('GraphiQL’s own introspection query, in development', async () => {
    const query = getIntrospectionQuery({
      descriptions: true,
      inputValueDeprecation: true,
      schemaDescription: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
    })
    const res = await post(stack.graphqlUrl, { query })
    expect(res.status).toBe(200)
    expect(res.body.errors).toBeUndefined()
    expect(res.body.data.__schema.queryType.name).toBe('Query')
  })

  it('the product page of 50 and 100 products, in production mode', async () => {
    const url = (await gateway({ mode: 'production' })).graphqlUrl
    const to = new Date().toISOString().slice(0, 10)
    for (const first of [50, 100]) {
      const res = await post(
        url,
        { query: PRODUCT_PAGE, variables: { supplierId, first, from: to, to } },
        signedIn(),
      )
      expect(res.status).toBe(200)
      expect(res.body.errors, res.text).toBeUndefined()
      expect(res.body.data.products.totalCount).toBe(60)
      expect(res.body.data.products.edges).toHaveLength(Math.min(first, 60))
    }
    expect(DEFAULT_OPERATION_LIMITS.maxCost).toBe(5_000)
  })
})

describe('introspection in development', () => {
  it('does not count toward the depth, but nesting its lists past types → fields → args is refused', async () => {
    // 14 levels: __type fields type, ten ofType, name.
    let ofTypes = 'name'
    for (let i = 0; i < 10; i++) ofTypes = `ofType { ${ofTypes} }`
    const deepest = `{ __type(name: "Product") { fields { type { ${ofTypes} } } } }`
    const allowed = await post(stack.graphqlUrl, { query: deepest })
    expect(allowed.body.errors, allowed.text).toBeUndefined()
    const cycle = '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }'
    const error = expectRefused(await post(stack.graphqlUrl, { query: cycle }), 400, 'QUERY_TOO_DEEP')
    expectLimitMessage(error, 3, 4)
  })
})

describe('CSRF and GET', () => {
  let url: string
  beforeAll(async () => {
    url = (await gateway({ mode: 'production' })).graphqlUrl
  })

  it('refuses a mutation over GET (405), even with the preflight header', async () => {
    const res = await get(url, 'mutation { __typename }', { 'apollo-require-preflight': 'true' })
    expectRefused(res, 405, 'BAD_REQUEST')
    expect(res.headers.get('allow')).toBe('POST')
    expect(res.body.errors[0].message).toMatch(/GET requests only support query operations/)
  })

  it('refuses simple requests: text/plain, form posts, and GET without a preflight header', async () => {
    const body = JSON.stringify({ query: 'mutation { __typename }' })
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await send(url, { method: 'POST', headers: { 'content-type': type }, body })
      expect(expectRefused(res, 415, 'BAD_REQUEST').message).toMatch(/application\/json/)
    }
    const simpleGet = await get(url, '{ __typename }')
    expect(expectRefused(simpleGet, 400, 'BAD_REQUEST').message).toMatch(/Cross-Site Request Forgery/)
    const formGet = await get(url, '{ __typename }', { 'content-type': 'text/plain' })
    expectRefused(formGet, 400, 'BAD_REQUEST')
    // What a real client sends passes.
    const preflighted: Record<string, string>[] = [
      { 'apollo-require-preflight': 'true' },
      { 'content-type': 'application/json' },
    ]
    for (const headers of preflighted) {
      const res = await get(url, '{ __typename }', headers)
      expect(res.body).toEqual({ data: { __typename: 'Query' } })
    }
  })
})

describe('per-caller rate limit', () => {
  const query = { query: '{ __typename }' }

  it('in process: the 4th request of a minute → 429 RATE_LIMITED with Retry-After', async () => {
    const running = await gateway({ rateLimitPerMinute: 3 })
    await awayFromMinuteEdge()
    for (const remaining of [2, 1, 0]) {
      const res = await post(running.graphqlUrl, query)
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit-limit')).toBe('3')
      expect(res.headers.get('ratelimit-remaining')).toBe(String(remaining))
    }
    // X-Forwarded-For is not trusted by default: a made-up address changes nothing.
    const refused = await post(running.graphqlUrl, query, { 'x-forwarded-for': '203.0.113.9' })
    const error = expectRefused(refused, 429, 'RATE_LIMITED')
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(error.extensions).toMatchObject({ limit: 3, retryAfter })
    expect(error.message).toContain('3')
    // GraphiQL and GET count too; health checks never do.
    expectRefused(
      await get(running.graphqlUrl, '{ __typename }', { 'apollo-require-preflight': '1' }),
      429,
      'RATE_LIMITED',
    )
    expect((await fetch(`${running.url}/health`)).status).toBe(200)
    expect((await fetch(`${running.adminUrl}/ready`)).status).toBe(200)
  })

  it('counts each operation of a batch', async () => {
    const running = await gateway({ rateLimitPerMinute: 3 })
    await awayFromMinuteEdge()
    const batch = await post(running.graphqlUrl, [query, query, query])
    expect(batch.status).toBe(200)
    expect(batch.headers.get('ratelimit-remaining')).toBe('0')
    expectRefused(await post(running.graphqlUrl, query), 429, 'RATE_LIMITED')
    const second = await gateway({ rateLimitPerMinute: 3 })
    expectRefused(await post(second.graphqlUrl, [query, query, query, query]), 429, 'RATE_LIMITED')
  })

  it('behind a trusted proxy, one counter per forwarded client address', async () => {
    const running = await gateway({ rateLimitPerMinute: 2, trustProxy: true })
    await awayFromMinuteEdge()
    const from = (chain: string) => post(running.graphqlUrl, query, { 'x-forwarded-for': chain })
    expect((await from('10.0.0.1')).status).toBe(200)
    // The client wrote the left entry; the proxy added the right one, which is what counts.
    expect((await from('198.51.100.7, 10.0.0.1')).status).toBe(200)
    expectRefused(await from('10.0.0.1'), 429, 'RATE_LIMITED')
    expect((await from('10.0.0.2')).status).toBe(200)
  })

  it('counts against the callerKey the gateway is given (where authentication plugs in)', async () => {
    const running = await gateway({
      rateLimitPerMinute: 1,
      callerKey: (req) => `user:${req.headers['x-test-caller'] ?? 'anonymous'}`,
    })
    await awayFromMinuteEdge()
    expect((await post(running.graphqlUrl, query, { 'x-test-caller': 'alice' })).status).toBe(200)
    expectRefused(await post(running.graphqlUrl, query, { 'x-test-caller': 'alice' }), 429, 'RATE_LIMITED')
    expect((await post(running.graphqlUrl, query, { 'x-test-caller': 'bob' })).status).toBe(200)
  })

  describe('with Redis', () => {
    const prefix = `test:limits:${randomUUID()}:`
    let redis: Redis
    beforeAll(() => {
      redis = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 })
    })
    afterAll(async () => {
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length) await redis.del(...keys)
      await redis.quit()
    })

    it('shares one counter between gateways, in Redis', async () => {
      const first = await gateway({ rateLimitPerMinute: 3, redisUrl: REDIS_URL, rateLimitKeyPrefix: prefix })
      const second = await gateway({ rateLimitPerMinute: 3, redisUrl: REDIS_URL, rateLimitKeyPrefix: prefix })
      await awayFromMinuteEdge()
      expect((await post(first.graphqlUrl, query)).status).toBe(200)
      expect((await post(second.graphqlUrl, query)).status).toBe(200)
      expect((await post(first.graphqlUrl, query)).status).toBe(200)
      const refused = await post(second.graphqlUrl, query)
      expectRefused(refused, 429, 'RATE_LIMITED')
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      const keys = await redis.keys(`${prefix}*`)
      expect(keys).toHaveLength(1)
      expect(keys[0]).toMatch(new RegExp(`^${prefix}ip:127\\.0\\.0\\.1:\\d+$`))
      expect(await redis.get(keys[0]!)).toBe('4')
      const ttl = await redis.pttl(keys[0]!)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(65_000)
    })

    it('Redis unreachable: requests are still served, counted in process', async () => {
      const running = await gateway({ rateLimitPerMinute: 3, redisUrl: 'redis://127.0.0.1:1' })
      await awayFromMinuteEdge()
      const caller = signedIn()
      for (let i = 0; i < 3; i++) {
        const res = await post(running.graphqlUrl, { query: '{ users(first: 1) { totalCount } }' }, caller)
        expect(res.status).toBe(200)
        expect(res.body).toEqual({ data: { users: { totalCount: 0 } } })
      }
      expectRefused(await post(running.graphqlUrl, query, caller), 429, 'RATE_LIMITED')
    })
  })
})

describe('environment', () => {
  it('defaults to development; NODE_ENV=production or GATEWAY_ENV=production turn production on', () => {
    const dev = loadGatewaySecurity({})
    expect(dev).toEqual({
      mode: 'development',
      introspection: true,
      graphiql: true,
      fieldSuggestions: true,
      limits: DEFAULT_OPERATION_LIMITS,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      maxBatch: 10,
      rateLimitPerMinute: 600,
      trustProxy: false,
      apqMaxBytes: 32_768,
      apqRegistrationsPerMinute: 30,
      corsOrigins: [],
    })
    expect(DEFAULT_OPERATION_LIMITS).toEqual({
      maxDepth: 12,
      maxAliases: 30,
      maxRootFields: 20,
      maxDirectives: 50,
      maxTokens: 5_000,
      maxCost: 5_000,
      maxFieldDuplicates: 50,
      maxVariablesDepth: 32,
    })
    for (const env of [{ NODE_ENV: 'production' }, { GATEWAY_ENV: 'production', NODE_ENV: 'development' }]) {
      expect(loadGatewaySecurity(env)).toMatchObject({
        mode: 'production',
        introspection: false,
        graphiql: false,
        fieldSuggestions: false,
      })
    }
    expect(
      loadGatewaySecurity({
        NODE_ENV: 'production',
        GATEWAY_INTROSPECTION: 'true',
        GATEWAY_GRAPHIQL: '1',
        GATEWAY_MAX_DEPTH: '8',
        GATEWAY_MAX_BATCH: '0',
        GATEWAY_RATE_LIMIT_PER_MINUTE: '0',
        GATEWAY_TRUST_PROXY: 'true',
        REDIS_URL: 'redis://cache:6379',
      }),
    ).toMatchObject({
      mode: 'production',
      introspection: true,
      graphiql: true,
      fieldSuggestions: true,
      limits: { ...DEFAULT_OPERATION_LIMITS, maxDepth: 8 },
      maxBatch: 0,
      rateLimitPerMinute: 0,
      trustProxy: true,
      redisUrl: 'redis://cache:6379',
    })
  })

  it('refuses a bad value, naming the variable', () => {
    for (const [name, value] of [
      ['GATEWAY_ENV', 'staging'],
      ['GATEWAY_INTROSPECTION', 'maybe'],
      ['GATEWAY_MAX_DEPTH', '0'],
      ['GATEWAY_MAX_COST', 'lots'],
      ['GATEWAY_MAX_BODY_BYTES', '1.5'],
      ['GATEWAY_MAX_BATCH', '-1'],
      ['GATEWAY_RATE_LIMIT_PER_MINUTE', '10/s'],
      ['GATEWAY_TRUST_PROXY', 'yes please'],
    ] as const) {
      expect(() => loadGatewaySecurity({ [name]: value }), name).toThrow(GatewayConfigError)
      expect(() => loadGatewaySecurity({ [name]: value }), name).toThrow(name)
    }
  })
})
