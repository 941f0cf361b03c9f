import { randomUUID } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLogger } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { buildClientSchema, getIntrospectionQuery } from 'graphql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningGateway, startGateway } from '../src/gateway'

let stack: TestStack
const users = Array.from({ length: 3 }, (_, i) => ({
  id: randomUUID(),
  email: `gw${i}@example.com`,
  username: `gw${i}`,
  hashed_password: 'x',
}))
const jobCount = 60

const JOBS_WITH_USERS = `query($first: Int) {
  importJobs(first: $first) { totalCount edges { node { id supplierCode createdBy { id displayName email username } } } }
}`

beforeAll(async () => {
  // Cache off: these tests count the statements behind each answer and stop a subgraph mid-test.
  stack = await startTestStack({ gateway: { cache: false } })
  await stack.subgraphs.core.database.db.insertInto('users').values(users).execute()
  await stack.subgraphs.imports.database.db
    .insertInto('import_jobs')
    .values(
      Array.from({ length: jobCount }, (_, i) => ({
        import_type: 'csv',
        supplier_code: `SUP${i % 4}`,
        // Every job has a creator; one in ten points at a user db_core does not have.
        created_by: i % 10 === 9 ? randomUUID() : users[i % users.length]!.id,
        created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      })),
    )
    .execute()
})
afterAll(() => stack?.stop())

describe('gateway over the seven subgraphs', () => {
  it('answers a query that joins imports to core users', async () => {
    const res = await stack.request(JOBS_WITH_USERS, { first: 10 })
    expect(res.errors).toBeUndefined()
    const { importJobs } = res.data
    expect(importJobs.totalCount).toBe(jobCount)
    expect(importJobs.edges).toHaveLength(10)
    const byId = new Map(users.map((u) => [u.id, u]))
    for (const { node } of importJobs.edges) {
      if (node.createdBy === null) continue
      const user = byId.get(node.createdBy.id)!
      expect(node.createdBy).toEqual({
        id: user.id,
        displayName: user.username,
        email: user.email,
        username: user.username,
      })
    }
    // The newest job (i = 59) was created by a user db_core does not have: null (displayName is never
    // null), not an error.
    expect(importJobs.edges[0].node.createdBy).toBeNull()
    expect(importJobs.edges[1].node.createdBy).not.toBeNull()
  })

  it('runs the same number of SQL statements for 5 and for 50 joined rows', async () => {
    const before5 = stack.totalQueryCount()
    expect((await stack.request(JOBS_WITH_USERS, { first: 5 })).errors).toBeUndefined()
    const five = stack.totalQueryCount() - before5
    const before50 = stack.totalQueryCount()
    expect((await stack.request(JOBS_WITH_USERS, { first: 50 })).errors).toBeUndefined()
    expect(stack.totalQueryCount() - before50).toBe(five)
  })

  it('echoes x-request-id, and answers GET with query parameters as JSON', async () => {
    const url = new URL(stack.graphqlUrl)
    url.searchParams.set('query', '{ users(first: 1) { totalCount } }')
    const res = await fetch(url, {
      headers: {
        accept: 'application/json',
        'apollo-require-preflight': 'true',
        'x-request-id': 'req-42',
        authorization: `Bearer ${stack.tokenFor({ superuser: true })}`,
      },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toBe('req-42')
    expect(await res.json()).toEqual({ data: { users: { totalCount: users.length } } })
  })

  it('answers introspection, as GraphiQL asks for it', async () => {
    const res = await stack.request('{ __schema { queryType { name } } __type(name: "ImportJob") { name } }')
    expect(res.data).toEqual({ __schema: { queryType: { name: 'Query' } }, __type: { name: 'ImportJob' } })
    const full = await stack.request(
      getIntrospectionQuery({ inputValueDeprecation: true, schemaDescription: true }),
    )
    expect(full.errors).toBeUndefined()
    const schema = buildClientSchema(full.data)
    for (const type of [
      'User',
      'Product',
      'Supplier',
      'ImportJob',
      'ExportJob',
      'MediaFile',
      'Code2AsinJob',
      'Report',
    ]) {
      expect(schema.getType(type), type).toBeDefined()
    }
    // Federation's plumbing stays between the gateway and the subgraphs.
    expect(schema.getQueryType()!.getFields()._entities).toBeUndefined()
  })

  it('serves /health on its port, /ready and /metrics on the loopback admin listener only', async () => {
    const health = await fetch(`${stack.gatewayUrl}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    for (const path of ['/ready', '/metrics']) {
      expect((await fetch(`${stack.gatewayUrl}${path}`)).status, path).toBe(404)
      expect((await fetch(`${stack.gateway.adminUrl}${path}`)).status, path).toBe(200)
    }
    expect(new URL(stack.gateway.adminUrl).hostname).toBe('127.0.0.1')
    expect((await fetch(`${stack.gateway.adminUrl}/health`)).status).toBe(200)
    for (const { server } of Object.values(stack.subgraphs)) {
      expect((await fetch(`${server.url}/ready`)).status).toBe(404)
      expect((await fetch(`${server.adminUrl}/ready`)).status).toBe(200)
    }
    const ready = await fetch(`${stack.gateway.adminUrl}/ready`)
    expect(ready.status).toBe(200)
    const body = await ready.json()
    expect(body.status).toBe('ready')
    expect(body.checks).toEqual({ supergraph: true })
    expect(Object.keys(body.subgraphs).sort()).toEqual([
      'analytics',
      'catalog',
      'code2asin',
      'core',
      'exports',
      'imports',
      'media',
    ])
    for (const check of Object.values(body.subgraphs))
      expect(check).toMatchObject({ ready: true, status: 200 })
  })

  it('answers a body that is not JSON with 400 and a GraphQL error', async () => {
    const res = await fetch(stack.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": "{ users { totalCount } ',
    })
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.data).toBeUndefined()
    expect(body.errors).toHaveLength(1)
    expect(body.errors[0].extensions.code).toBe('BAD_REQUEST')
    expect(body.errors[0].message).toMatch(/JSON/)
  })

  it('serves GraphiQL to a browser, with no external script or style', async () => {
    const res = await fetch(stack.graphqlUrl, { headers: { accept: 'text/html,application/xhtml+xml' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await res.text()
    expect(html).toContain('renderYogaGraphiQL')
    expect(html).not.toMatch(/<script[^>]+\bsrc=["']?(https?:)?\/\//i)
    expect(html).not.toMatch(/<link[^>]+\bhref=["']?(https?:)?\/\//i)
    expect(html).not.toMatch(/@import\s+(url\()?["']?(https?:)?\/\//i)
  })

  // Last: it stops core for good.
  it('returns the other subgraphs’ data and a SERVICE_UNAVAILABLE error naming a stopped subgraph', async () => {
    await stack.subgraphs.core.server.stop()
    const res = await stack.request(JOBS_WITH_USERS, { first: 3 })
    expect(res.data.importJobs.totalCount).toBe(jobCount)
    expect(res.data.importJobs.edges).toHaveLength(3)
    for (const { node } of res.data.importJobs.edges) {
      expect(node.supplierCode).toMatch(/^SUP\d$/)
      expect(node.createdBy).toBeNull()
    }
    expect(res.errors).toEqual([
      expect.objectContaining({
        message: 'The core service is unavailable',
        extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'core' },
      }),
    ])
    const text = JSON.stringify(res.errors)
    expect(text).not.toContain('127.0.0.1')
    expect(text).not.toContain('ECONNREFUSED')
    expect(text).not.toMatch(/stack|postgres:|fetch failed/i)

    const ready = await fetch(`${stack.gateway.adminUrl}/ready`)
    expect(ready.status).toBe(200)
    const body = await ready.json()
    expect(body.subgraphs.core).toEqual({ ready: false, error: 'unreachable' })
    expect(body.subgraphs.imports).toMatchObject({ ready: true })
  })
})

describe('a subgraph that hangs or fails at the HTTP level', () => {
  let fake: Server
  let gateway: RunningGateway
  const seen: IncomingHttpHeaders[] = []
  let mode: 'hang' | '502' | '401' = 'hang'

  beforeAll(async () => {
    // Stands in for the imports subgraph: records the request's headers, then hangs or answers an HTTP error.
    fake = createServer((req, res) => {
      seen.push(req.headers)
      if (mode === '502') res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>')
      if (mode === '401') {
        res.writeHead(401, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({ errors: [{ message: 'sign in first', extensions: { code: 'UNAUTHENTICATED' } }] }),
        )
      }
    })
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve))
    const subgraphUrls = Object.fromEntries(
      Object.entries(stack.subgraphs).map(([d, sg]) => [d, sg.server.graphqlUrl]),
    ) as Parameters<typeof startGateway>[0]['subgraphUrls']
    subgraphUrls.imports = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/graphql`
    gateway = await startGateway({
      port: 0,
      host: '127.0.0.1',
      subgraphUrls,
      logger: createLogger({ service: 'gateway-timeout-test' }, 'error'),
      // Long enough for the real subgraphs to answer on a loaded machine; the fake one never does in 'hang'.
      subgraphTimeoutMs: 5_000,
      maxSocketsPerSubgraph: 2,
    })
  })
  afterAll(async () => {
    await gateway?.stop()
    fake?.closeAllConnections()
    await new Promise((resolve) => fake?.close(resolve))
  })

  const mediaAndJob = async () => {
    const res = await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'trace-me-1',
        authorization: `Bearer ${stack.tokenFor({ superuser: true })}`,
      },
      body: JSON.stringify({
        query: `{ media: mediaFiles(first: 1) { totalCount } job: importJob(id: "${randomUUID()}") { id } }`,
      }),
    })
    return res.json()
  }

  it('times out after subgraphTimeoutMs and still returns the other subgraphs’ data', async () => {
    mode = 'hang'
    // Without the timeout this request would never end (the test's own timeout would fail it).
    const body = await mediaAndJob()
    expect(body.data).toEqual({ media: { totalCount: 0 }, job: null })
    expect(body.errors).toEqual([
      expect.objectContaining({
        message: 'The imports service is unavailable (no answer within 5000 ms)',
        extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'imports' },
      }),
    ])
    // The caller's request id went along to the subgraph.
    expect(seen.at(-1)?.['x-request-id']).toBe('trace-me-1')
  })

  it('reports an HTTP error page as the service being unavailable, without its body or address', async () => {
    mode = '502'
    const body = await mediaAndJob()
    expect(body.data).toEqual({ media: { totalCount: 0 }, job: null })
    expect(body.errors).toEqual([
      {
        message: 'The imports service is unavailable (it answered HTTP 502)',
        extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'imports' },
      },
    ])
  })

  it('keeps a deliberate GraphQL error a subgraph sends with an HTTP error status', async () => {
    mode = '401'
    const body = await mediaAndJob()
    expect(body.errors).toEqual([
      { message: 'sign in first', extensions: { code: 'UNAUTHENTICATED', serviceName: 'imports' } },
    ])
  })
})
