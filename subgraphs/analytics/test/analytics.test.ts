import { randomUUID } from 'node:crypto'
import { startTestSubgraph, type TestSubgraph } from '@pm/testing/subgraph'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subgraph } from '../src/module'

let sg: TestSubgraph<'analytics'>
const sameInstant = new Date('2026-01-01T00:00:00Z')
const day = (n: number) => `2026-01-${String(n).padStart(2, '0')}`
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10)

const alice = randomUUID()
const bob = randomUUID()
// Seven reports sharing one created_at: pagination must still neither skip nor repeat.
const reports = Array.from({ length: 7 }, (_, i) => ({
  id: randomUUID(),
  name: `report ${i}`,
  report_type: i < 3 ? 'import_summary' : 'catalog_completeness',
  status: i % 2 === 0 ? 'completed' : 'pending',
  parameters: { supplier: 'SUP-A', rows: i },
  file_size_bytes: '4000000000',
  created_by: i === 6 ? null : i < 3 ? alice : bob,
  created_at: sameInstant,
}))
const auditedProduct = randomUUID()

// 50 products with figures on 1–5 January 2026; 3 suppliers likewise.
const products = Array.from({ length: 50 }, () => randomUUID())
const productMetrics = products.flatMap((product_id, p) =>
  [1, 2, 3, 4, 5].map((d) => ({
    product_id,
    date: day(d),
    view_count: 100 * d,
    sales_count: d,
    conversion_rate: (d / 100).toFixed(4),
    revenue: `${p}.${String(d).padStart(2, '0')}`,
  })),
)
const suppliers = [randomUUID(), randomUUID(), randomUUID()]
const recentProduct = randomUUID()

beforeAll(async () => {
  sg = await startTestSubgraph(subgraph)
  const db = sg.database.db
  await db.insertInto('reports').values(reports).execute()
  await db
    .insertInto('audit_logs')
    .values([
      ...Array.from({ length: 9 }, (_, i) => ({
        user_id: i < 6 ? alice : null,
        action: i % 3 === 0 ? 'create' : 'update',
        entity_type: 'product',
        entity_id: i < 5 ? auditedProduct : randomUUID(),
        changes: { price: { old: i, new: i + 1 } },
        ip_address: '10.0.0.1',
        created_at: sameInstant,
      })),
      { user_id: bob, action: 'login', entity_type: 'user', entity_id: bob, ip_address: '2001:db8::1' },
    ])
    .execute()
  await db
    .insertInto('ai_usage_logs')
    .values([
      {
        user_id: alice,
        provider: 'openai',
        model: 'gpt-4o',
        operation: 'enrichment',
        prompt_tokens: 1000,
        completion_tokens: 200,
        total_tokens: 1250,
        cost: '0.012345',
        created_at: new Date('2026-01-01T10:00:00Z'),
      },
      {
        user_id: alice,
        provider: 'openai',
        model: 'gpt-4o',
        operation: 'translation',
        prompt_tokens: 500,
        completion_tokens: 100,
        total_tokens: 600,
        cost: '0.000001',
        created_at: new Date('2026-01-02T10:00:00Z'),
      },
      {
        user_id: bob,
        provider: 'openai',
        model: 'gpt-4o-mini',
        operation: 'enrichment',
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        cost: null,
        success: false,
        error_message: 'rate limited',
        created_at: new Date('2026-01-03T10:00:00Z'),
      },
      {
        user_id: bob,
        provider: 'anthropic',
        model: 'claude',
        operation: 'categorization',
        prompt_tokens: 300,
        completion_tokens: 30,
        total_tokens: 330,
        cost: '0.100000',
        currency: 'USD',
        created_at: new Date('2026-01-04T10:00:00Z'),
      },
      {
        user_id: bob,
        provider: 'anthropic',
        model: 'claude',
        operation: 'categorization',
        prompt_tokens: 300,
        completion_tokens: 30,
        total_tokens: 330,
        cost: '0.200000',
        currency: 'EUR',
        created_at: new Date('2026-01-05T10:00:00Z'),
      },
    ])
    .execute()
  await db
    .insertInto('import_metrics')
    .values(
      [1, 2, 3, 4, 5, 6].map((d) => ({
        date: day(d),
        total_imports: d,
        successful_imports: d - 1,
        failed_imports: 1,
      })),
    )
    .execute()
  await db.insertInto('product_metrics').values(productMetrics).execute()
  await db
    .insertInto('product_metrics')
    .values([0, 29, 30].map((n) => ({ product_id: recentProduct, date: daysAgo(n), view_count: n })))
    .execute()
  await db
    .insertInto('supplier_metrics')
    .values(
      suppliers.flatMap((supplier_id) =>
        [3, 1, 2].map((d) => ({
          supplier_id,
          date: day(d),
          products_count: 10 * d,
          imports_count: d,
          success_rate: '99.50',
        })),
      ),
    )
    .execute()
})
afterAll(() => sg?.stop())

const entities = (query: string, representations: unknown[]) =>
  sg.request(`query($r: [_Any!]!) { _entities(representations: $r) { ${query} } }`, { r: representations })

describe('analytics subgraph', () => {
  it('resolves Report entities, null for a missing id', async () => {
    const res = await entities('... on Report { id name createdBy { id } }', [
      { __typename: 'Report', id: reports[0]!.id },
      { __typename: 'Report', id: randomUUID() },
      { __typename: 'Report', id: reports[6]!.id },
    ])
    expect(res.errors).toBeUndefined()
    expect(res.data._entities).toEqual([
      { id: reports[0]!.id, name: 'report 0', createdBy: { id: alice } },
      null,
      { id: reports[6]!.id, name: 'report 6', createdBy: null },
    ])
  })

  it('resolves Product and Supplier entities; one without figures gets an empty list', async () => {
    const missing = randomUUID()
    const res = await entities(
      `... on Product { id metrics(from: "2026-01-02", to: "2026-01-03") { date } }
       ... on Supplier { id metrics(from: "2026-01-01", to: "2026-01-31") { date } }`,
      [
        { __typename: 'Product', id: products[0] },
        { __typename: 'Product', id: missing },
        { __typename: 'Supplier', id: suppliers[0] },
        { __typename: 'Supplier', id: missing },
      ],
    )
    expect(res.errors).toBeUndefined()
    expect(res.data._entities).toEqual([
      { id: products[0], metrics: [{ date: '2026-01-02' }, { date: '2026-01-03' }] },
      { id: missing, metrics: [] },
      { id: suppliers[0], metrics: [{ date: '2026-01-01' }, { date: '2026-01-02' }, { date: '2026-01-03' }] },
      { id: missing, metrics: [] },
    ])
  })

  it('returns product figures for an inclusive range, Decimals exactly as stored, and their sum', async () => {
    const res = await entities(
      `... on Product {
         metrics(from: "2026-01-04", to: "2026-01-05") { productId date viewCount salesCount conversionRate revenue }
         metricsSummary(from: "2026-01-01", to: "2026-01-05") { from to dayCount viewCount salesCount conversionRate revenue }
         empty: metricsSummary(from: "2025-01-01", to: "2025-01-05") { dayCount viewCount revenue conversionRate } }`,
      [{ __typename: 'Product', id: products[12] }],
    )
    expect(res.errors).toBeUndefined()
    const [product] = res.data._entities
    expect(product.metrics).toEqual([
      {
        productId: products[12],
        date: '2026-01-04',
        viewCount: 400,
        salesCount: 4,
        conversionRate: '0.0400',
        revenue: '12.04',
      },
      {
        productId: products[12],
        date: '2026-01-05',
        viewCount: 500,
        salesCount: 5,
        conversionRate: '0.0500',
        revenue: '12.05',
      },
    ])
    expect(product.metricsSummary).toEqual({
      from: '2026-01-01',
      to: '2026-01-05',
      dayCount: 5,
      viewCount: 1500,
      salesCount: 15,
      conversionRate: '0.0100',
      revenue: '60.15',
    })
    expect(product.empty).toEqual({ dayCount: 0, viewCount: 0, revenue: '0.00', conversionRate: null })
  })

  it('defaults the range to the 30 days ending today', async () => {
    const res = await entities(
      `... on Product { all: metrics { date } sinceYesterday: metrics(from: "${daysAgo(1)}") { date } }`,
      [{ __typename: 'Product', id: recentProduct }],
    )
    expect(res.errors).toBeUndefined()
    expect(res.data._entities[0]).toEqual({
      all: [{ date: daysAgo(29) }, { date: daysAgo(0) }],
      sinceYesterday: [{ date: daysAgo(0) }],
    })
  })

  it('refuses a reversed or overlong range with BAD_USER_INPUT', async () => {
    const product = [{ __typename: 'Product', id: products[0] }]
    const reversed = await entities(
      '... on Product { metrics(from: "2026-01-05", to: "2026-01-04") { date } }',
      product,
    )
    expect(reversed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(reversed.errors?.[0]?.message).toMatch(/from \(2026-01-05\) is after to \(2026-01-04\)/)
    const long = await entities(
      '... on Product { metricsSummary(from: "2025-01-01", to: "2026-01-02") { dayCount } }',
      product,
    )
    expect(long.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(long.errors?.[0]?.message).toMatch(/367 days/)
    const supplier = await entities(
      '... on Supplier { metrics(from: "2026-02-01", to: "2026-01-01") { date } }',
      [{ __typename: 'Supplier', id: suppliers[0] }],
    )
    expect(supplier.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    const imports = await sg.request('{ importMetrics(from: "2024-01-01", to: "2025-12-31") { date } }')
    expect(imports.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    // 366 days (a leap year) is the most one request may ask for.
    const leap = await entities(
      '... on Product { metrics(from: "2024-01-01", to: "2024-12-31") { date } }',
      product,
    )
    expect(leap.errors).toBeUndefined()
  })

  it('lists import metrics of an inclusive date range by date', async () => {
    const res = await sg.request(
      '{ importMetrics(from: "2026-01-02", to: "2026-01-04") { date totalImports successfulImports } }',
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.importMetrics).toEqual([
      { date: '2026-01-02', totalImports: 2, successfulImports: 1 },
      { date: '2026-01-03', totalImports: 3, successfulImports: 2 },
      { date: '2026-01-04', totalImports: 4, successfulImports: 3 },
    ])
  })

  it('runs the same number of statements for 5 and for 50 products', async () => {
    const query = `... on Product { id metrics(from: "2026-01-01", to: "2026-01-05") { date revenue } metricsSummary(from: "2026-01-01", to: "2026-01-05") { revenue } }`
    const run = async (n: number) => {
      const before = sg.queryCount()
      const res = await entities(
        query,
        products.slice(0, n).map((id) => ({ __typename: 'Product', id })),
      )
      expect(res.errors).toBeUndefined()
      expect(res.data._entities).toHaveLength(n)
      for (const p of res.data._entities) expect(p.metrics).toHaveLength(5)
      return sg.queryCount() - before
    }
    const five = await run(5)
    const fifty = await run(50)
    // daily rows + summaries.
    expect(five).toBe(2)
    expect(fifty).toBe(five)
    const suppliersBefore = sg.queryCount()
    const res = await entities(
      '... on Supplier { metrics(from: "2026-01-01", to: "2026-01-03") { date successRate } }',
      suppliers.map((id) => ({ __typename: 'Supplier', id })),
    )
    expect(res.data._entities[2].metrics).toEqual([
      { date: '2026-01-01', successRate: '99.50' },
      { date: '2026-01-02', successRate: '99.50' },
      { date: '2026-01-03', successRate: '99.50' },
    ])
    expect(sg.queryCount() - suppliersBefore).toBe(1)
  })

  it('looks a report up by id, null when missing, and filters reports', async () => {
    const res = await sg.request(
      `{ a: report(id: "${reports[1]!.id}") { reportType status parameters fileSizeBytes createdAt updatedAt }
         b: report(id: "${randomUUID()}") { id }
         imports: reports(filter: { reportType: "import_summary" }) { totalCount }
         pending: reports(filter: { status: PENDING, createdBy: "${bob}" }) { totalCount edges { node { name createdBy { id } } } } }`,
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.a).toEqual({
      reportType: 'import_summary',
      status: 'PENDING',
      parameters: { supplier: 'SUP-A', rows: 1 },
      fileSizeBytes: 4_000_000_000,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: expect.any(String),
    })
    expect(res.data.b).toBeNull()
    expect(res.data.imports.totalCount).toBe(3)
    expect(res.data.pending.totalCount).toBe(2)
    expect(res.data.pending.edges.map((e: any) => e.node.createdBy)).toEqual([{ id: bob }, { id: bob }])
  })

  it('walks reports two by two across ties in created_at without skipping or repeating', async () => {
    const seen: string[] = []
    let after: string | null = null
    for (let page = 0; page < 10; page++) {
      const res: any = await sg.request(
        'query($after: String) { reports(first: 2, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      )
      expect(res.errors).toBeUndefined()
      expect(res.data.reports.totalCount).toBe(7)
      seen.push(...res.data.reports.edges.map((e: any) => e.node.id))
      if (!res.data.reports.pageInfo.hasNextPage) break
      after = res.data.reports.pageInfo.endCursor
    }
    expect(seen).toHaveLength(7)
    expect(new Set(seen)).toEqual(new Set(reports.map((r) => r.id)))
  })

  it('filters audit logs by entity, user and action, and walks them across ties', async () => {
    const res = await sg.request(
      `{ entity: auditLogs(filter: { entityType: "product", entityId: "${auditedProduct}" }) { totalCount }
         user: auditLogs(filter: { userId: "${alice}", action: "create" }) { totalCount edges { node { action user { id } changes } } }
         login: auditLogs(filter: { action: "login" }) { edges { node { id entityType ipAddress user { id } } } } }`,
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.entity.totalCount).toBe(5)
    expect(res.data.user.totalCount).toBe(2)
    expect(res.data.user.edges[0].node).toEqual({
      action: 'create',
      user: { id: alice },
      changes: { price: { old: 3, new: 4 } },
    })
    expect(res.data.login.edges).toEqual([
      { node: { id: 10, entityType: 'user', ipAddress: '2001:db8::1', user: { id: bob } } },
    ])

    const seen: number[] = []
    let after: string | null = null
    for (let page = 0; page < 10; page++) {
      const walk: any = await sg.request(
        'query($after: String) { auditLogs(filter: { entityType: "product" }, first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      )
      expect(walk.errors).toBeUndefined()
      seen.push(...walk.data.auditLogs.edges.map((e: any) => e.node.id))
      if (!walk.data.auditLogs.pageInfo.hasNextPage) break
      after = walk.data.auditLogs.pageInfo.endCursor
    }
    expect(seen).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1])

    const bad = await sg.request(`{ auditLogs(filter: { entityId: "${auditedProduct}" }) { totalCount } }`)
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('filters AI usage logs by user, provider, model and time', async () => {
    const res = await sg.request(
      `{ bob: aiUsageLogs(filter: { userId: "${bob}" }) { totalCount }
         mini: aiUsageLogs(filter: { provider: "openai", model: "gpt-4o-mini" }) { edges { node { success errorMessage cost user { id } } } }
         window: aiUsageLogs(filter: { from: "2026-01-02T10:00:00Z", to: "2026-01-04T10:00:00Z" }) { edges { node { model createdAt } } } }`,
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.bob.totalCount).toBe(3)
    expect(res.data.mini.edges).toEqual([
      { node: { success: false, errorMessage: 'rate limited', cost: null, user: { id: bob } } },
    ])
    expect(res.data.window.edges).toEqual([
      { node: { model: 'gpt-4o-mini', createdAt: '2026-01-03T10:00:00.000Z' } },
      { node: { model: 'gpt-4o', createdAt: '2026-01-02T10:00:00.000Z' } },
    ])
  })

  it('sums AI usage per provider or model and currency in one statement, costs exact', async () => {
    const before = sg.queryCount()
    const res = await sg.request(
      `{ providers: aiUsageSummary { provider model currency requestCount failedCount promptTokens completionTokens totalTokens cost }
         models: aiUsageSummary(groupBy: MODEL, from: "2026-01-01T00:00:00Z", to: "2026-01-04T00:00:00Z") { provider model requestCount totalTokens cost } }`,
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.providers).toEqual([
      {
        provider: 'anthropic',
        model: null,
        currency: 'EUR',
        requestCount: 1,
        failedCount: 0,
        promptTokens: 300,
        completionTokens: 30,
        totalTokens: 330,
        cost: '0.200000',
      },
      {
        provider: 'anthropic',
        model: null,
        currency: 'USD',
        requestCount: 1,
        failedCount: 0,
        promptTokens: 300,
        completionTokens: 30,
        totalTokens: 330,
        cost: '0.100000',
      },
      {
        provider: 'openai',
        model: null,
        currency: 'USD',
        requestCount: 3,
        failedCount: 1,
        promptTokens: 1510,
        completionTokens: 305,
        totalTokens: 1865,
        cost: '0.012346',
      },
    ])
    expect(res.data.models).toEqual([
      { provider: 'openai', model: 'gpt-4o', requestCount: 2, totalTokens: 1850, cost: '0.012346' },
      { provider: 'openai', model: 'gpt-4o-mini', requestCount: 1, totalTokens: 15, cost: null },
    ])
    expect(sg.queryCount() - before).toBe(2)
    const bad = await sg.request(
      '{ aiUsageSummary(from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z") { provider } }',
    )
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('rejects a forged cursor and an oversized page with BAD_USER_INPUT', async () => {
    const forged = Buffer.from(
      JSON.stringify(['CREATED_AT:DESC', '2026-01-01 00:00:00', 'not-a-number']),
    ).toString('base64url')
    const a = await sg.request(`{ auditLogs(after: "${forged}") { totalCount } }`)
    expect(a.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    const b = await sg.request('{ reports(after: "garbage") { totalCount } }')
    expect(b.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    const c = await sg.request('{ aiUsageLogs(first: 101) { totalCount } }')
    expect(c.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })
})
