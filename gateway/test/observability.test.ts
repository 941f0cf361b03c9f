import { readFileSync } from 'node:fs'
import {
  type InMemorySpanExporter,
  inMemorySpanExporter,
  type ReadableSpan,
  startTracing,
  stopTracing,
} from '@pm/telemetry'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Metrics on every service's admin listener (never the API port), one trace per request across the gateway,
// the subgraphs and SQL, and a dashboard that only asks for metrics the services export.
let exporter: InMemorySpanExporter
let stack: TestStack<'catalog' | 'media'>

const PRODUCTS = `query ObservedProducts { products(first: 3) { edges { node { id sku media { id } } } } }`

beforeAll(async () => {
  exporter = await inMemorySpanExporter()
  await startTracing({ serviceName: 'observability-test', exporter })
  stack = await startTestStack({ only: ['catalog', 'media'] })
  const supplier = await stack.request(
    `mutation { createSupplier(input: { name: "Observed", code: "OBS" }) { id } }`,
  )
  expect(supplier.errors).toBeUndefined()
  const product = await stack.request(
    `mutation($s: UUID!) { createProduct(input: { sku: "OBS-1", title: "Observed", supplierId: $s }) { id } }`,
    { s: supplier.data.createSupplier.id },
  )
  expect(product.errors).toBeUndefined()
})

afterAll(async () => {
  await stack?.stop()
  await stopTracing()
})

async function scrape(adminUrl: string): Promise<string> {
  const response = await fetch(`${adminUrl}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toContain('text/plain')
  return response.text()
}

/** The value of one sample, its labels given in any order (a subset of them). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const body =
      line.slice(name.length).match(/^\{(.*)\} (\S+)$/) ?? line.slice(name.length).match(/^() (\S+)$/)
    if (!body) continue
    const found = Object.fromEntries(
      [...body[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    )
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(body[2])
  }
  return undefined
}

describe('metrics', () => {
  it('times operations by name and outcome at the gateway and the subgraphs, with subgraph fetches', async () => {
    const ok = await stack.request(PRODUCTS)
    expect(ok.errors).toBeUndefined()
    // Refused while executing (an anonymous caller, a field that needs product:read): an operation with errors.
    const failed = await stack.request(
      `query ObservedFailure { product(id: "00000000-0000-4000-8000-000000000000") { id } }`,
      {},
      { authorization: '' },
    )
    expect(failed.errors?.length).toBeGreaterThan(0)

    const gateway = await scrape(stack.gateway.adminUrl)
    expect(
      sample(gateway, 'pm_graphql_request_duration_seconds_count', {
        service: 'gateway',
        operation: 'ObservedProducts',
        outcome: 'ok',
      }),
    ).toBeGreaterThanOrEqual(1)
    expect(
      sample(gateway, 'pm_graphql_request_duration_seconds_count', {
        service: 'gateway',
        operation: 'ObservedFailure',
        outcome: 'error',
      }),
    ).toBeGreaterThanOrEqual(1)
    expect(
      sample(gateway, 'pm_graphql_request_duration_seconds_bucket', {
        operation: 'ObservedProducts',
        le: '+Inf',
      }),
    ).toBeGreaterThanOrEqual(1)
    expect(
      sample(gateway, 'pm_subgraph_fetch_duration_seconds_count', { subgraph: 'catalog', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1)
    // The cache's figures, as before, on the same page.
    expect(gateway).toContain('# TYPE pm_cache_hits_total counter')
    // Node itself.
    for (const family of [
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
    ])
      expect(gateway).toContain(`# TYPE ${family} `)

    const catalog = await scrape(stack.subgraphs.catalog.server.adminUrl)
    expect(
      sample(catalog, 'pm_graphql_request_duration_seconds_count', { service: 'catalog', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1)
    expect(
      sample(catalog, 'pm_db_statement_duration_seconds_count', { domain: 'catalog', outcome: 'ok' }),
    ).toBeGreaterThan(0)
    expect(sample(catalog, 'pm_db_pool_max_connections', { domain: 'catalog' })).toBeGreaterThan(0)
    expect(sample(catalog, 'pm_db_pool_acquires_total', { domain: 'catalog' })).toBeGreaterThan(0)
    expect(
      sample(catalog, 'pm_db_pool_connections', { domain: 'catalog', state: 'idle' }),
    ).toBeGreaterThanOrEqual(0)
    expect(sample(catalog, 'pm_db_pool_waiting', { domain: 'catalog' })).toBe(0)
    expect(catalog).toContain('# TYPE pm_db_slow_statements_total counter')
  })

  it('are served on the admin listener only, never on the public API port', async () => {
    const response = await fetch(`${stack.gatewayUrl}/metrics`)
    expect(response.status).toBe(404)
    const subgraph = await fetch(`${stack.subgraphs.catalog.server.url}/metrics`)
    expect(subgraph.status).toBe(404)
  })
})

describe('traces', () => {
  it('join the gateway, the subgraphs and their SQL statements in one trace per request', async () => {
    // A new product: catalog's cached answers are dropped and its media were never asked for, so this
    // request reaches both subgraphs.
    const supplierId = (await stack.request(`{ suppliers(first: 1) { edges { node { id } } } }`)).data
      .suppliers.edges[0].node.id
    const created = await stack.request(
      `mutation($s: UUID!) { createProduct(input: { sku: "OBS-2", title: "Traced", supplierId: $s }) { id } }`,
      { s: supplierId },
    )
    expect(created.errors).toBeUndefined()
    exporter.reset()
    const response = await stack.send(PRODUCTS)
    expect(response.body.errors).toBeUndefined()
    const requestId = response.headers.get('x-request-id')
    // Spans end as their work ends: wait for the gateway's request span (the last to end).
    let spans: ReadableSpan[] = []
    await expect
      .poll(() => {
        spans = exporter.getFinishedSpans()
        return spans.find(
          (s) => s.name === 'graphql ObservedProducts' && s.attributes['pm.service'] === 'gateway',
        )
      })
      .toBeDefined()
    const root = spans.find(
      (s) => s.name === 'graphql ObservedProducts' && s.attributes['pm.service'] === 'gateway',
    )!
    expect(root.attributes['pm.request_id']).toBe(requestId)
    const traceId = root.spanContext().traceId
    const inTrace = spans.filter((s) => s.spanContext().traceId === traceId)
    const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]))
    const parentOf = (s: ReadableSpan) => byId.get(s.parentSpanContext?.spanId ?? '')
    const under = (span: ReadableSpan, ancestor: ReadableSpan) => {
      let at = parentOf(span)
      while (at && at !== ancestor) at = parentOf(at)
      return at === ancestor
    }

    // gateway → catalog: the client span of the fetch, under the gateway's request span (and @apollo/gateway's
    // own plan and fetch spans).
    const fetchSpan = inTrace.find((s) => s.name === 'subgraph catalog')
    expect(fetchSpan).toBeDefined()
    expect(under(fetchSpan!, root)).toBe(true)
    // catalog's request span continues the trace under that fetch (W3C traceparent).
    const catalogRequest = inTrace.find((s) => s.attributes['pm.service'] === 'catalog')
    expect(catalogRequest).toBeDefined()
    expect(parentOf(catalogRequest!)).toBe(fetchSpan)
    // catalog's SQL, under catalog's request span, without any value in its text.
    const statements = inTrace.filter(
      (s) => s.attributes['db.system'] === 'postgresql' && s.attributes['pm.domain'] === 'catalog',
    )
    expect(statements.length).toBeGreaterThan(0)
    for (const statement of statements) {
      expect(under(statement, catalogRequest!)).toBe(true)
      expect(String(statement.attributes['db.query.text'])).not.toContain('OBS')
    }
    // The product's media: the same trace reaches media too.
    expect(inTrace.some((s) => s.attributes['pm.service'] === 'media')).toBe(true)
    // Only this request's trace was made by it.
    expect(
      new Set(
        spans.filter((s) => s.attributes['pm.service'] === 'gateway').map((s) => s.spanContext().traceId),
      ).size,
    ).toBe(1)
  })
})

describe('the Grafana dashboard', () => {
  it('queries only metrics the services export', async () => {
    const dashboard = JSON.parse(
      readFileSync(new URL('../../docker/grafana/dashboards/products-manager.json', import.meta.url), 'utf8'),
    ) as { panels: { title: string; targets?: { expr: string }[] }[] }
    const expressions = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
    )
    expect(expressions.length).toBeGreaterThan(10)
    // Every family is declared (# TYPE) from the start, samples or not; the job families are the workers'
    // (pm worker's admin listener), declared by the same package in every process.
    await stack.request(PRODUCTS)
    const exported = new Set<string>()
    for (const url of [stack.gateway.adminUrl, stack.subgraphs.catalog.server.adminUrl]) {
      for (const match of (await scrape(url)).matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
        const [, name, type] = match
        exported.add(name!)
        if (type === 'histogram')
          for (const suffix of ['_bucket', '_sum', '_count']) exported.add(`${name}${suffix}`)
      }
    }
    const FUNCTIONS = new Set([
      'sum',
      'rate',
      'irate',
      'increase',
      'histogram_quantile',
      'by',
      'without',
      'max',
      'min',
      'avg',
      'clamp_min',
      'topk',
      'le',
      'on',
      'or',
      'and',
      'unless',
      'ignoring',
      'group_left',
      'count',
      'vector',
      'scalar',
      'delta',
      'deriv',
      'abs',
      'label_replace',
      'offset',
      'bool',
    ])
    const missing: string[] = []
    for (const { panel, expr } of expressions) {
      const names =
        expr
          .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
          .replace(/\{[^}]*\}/g, '')
          .replace(/\[[^\]]*\]/g, '')
          .replace(/"[^"]*"/g, '')
          .match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []
      for (const name of names) {
        if (FUNCTIONS.has(name) || /^\d/.test(name)) continue
        if (
          !(
            name.startsWith('pm_') ||
            name.startsWith('nodejs_') ||
            name.startsWith('process_') ||
            name === 'up'
          )
        )
          missing.push(`${panel}: unexpected identifier ${name}`)
        else if (name !== 'up' && !exported.has(name)) missing.push(`${panel}: ${name}`)
      }
    }
    expect(missing).toEqual([])
  })
})
