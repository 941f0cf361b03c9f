import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postPeer, signedPeers } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import ExcelJS from 'exceljs'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

type Domains = 'core' | 'catalog' | 'imports' | 'media' | 'analytics'
let stack: TestStack<Domains>
let storageDir = ''
const userId = randomUUID()
let token = ''
const asUser = () => ({ authorization: `Bearer ${token}` })
const today = new Date().toISOString().slice(0, 10)
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10)

const suppliers = { a: { code: 'AN-A', id: '' }, b: { code: 'AN-B', id: '' } }

async function ok<T = any>(query: string, variables: Record<string, unknown> = {}) {
  const response = await stack.request<T>(query, variables, asUser())
  expect(response.errors).toBeUndefined()
  return response.data as T
}

/** Polls until the condition holds (no time assertion: the test's own timeout bounds it). */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read()
    if (done(value)) return value
    await new Promise((r) => setTimeout(r, 100))
  }
}

const RUN = `query($id: UUID!) { metricRun(id: $id) { id kind from to status processed total errorMessage cancelRequested } }`
const runEnded = (id: string) =>
  waitFor(
    async () => (await ok(RUN, { id })).metricRun,
    (r) => !['PENDING', 'RUNNING'].includes(r.status),
  )

const REPORT = `query($id: UUID!) { report(id: $id) {
  id status reportType format rowCount fileSizeBytes errorMessage objectKey downloadUrl parameters startedAt completedAt
} }`
const CREATE_REPORT = `mutation($input: CreateReportInput!) { createReport(input: $input) { id status parameters } }`
const reportEnded = (id: string) =>
  waitFor(
    async () => (await ok(REPORT, { id })).report,
    (r) => !['PENDING', 'RUNNING'].includes(r.status),
  )

/** The analytics subgraph asked directly, signed as SERVICE (what another service's worker does). */
const asService = (query: string, variables: Record<string, unknown>) =>
  postPeer<any>(
    signedPeers({ analytics: stack.subgraphs.analytics.server.graphqlUrl }, stack.secrets.signing),
    'analytics',
    query,
    variables,
  )

beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'pm-analytics-storage-'))
  process.env.STORAGE_DIR = storageDir
  // The gateway caches through Redis under a name of its own; the workers invalidate it there.
  process.env.GATEWAY_CACHE_NAME = `analytics-e2e-${randomUUID().slice(0, 8)}`
  stack = await startTestStack({
    only: ['core', 'catalog', 'imports', 'media', 'analytics'],
    gateway: { redisUrl: process.env.REDIS_URL!, cache: { name: process.env.GATEWAY_CACHE_NAME } },
  })
  await stack.startWorker('analytics')
  await stack.subgraphs.core.database.db
    .insertInto('users')
    .values({
      id: userId,
      email: `an-${userId.slice(0, 8)}@example.com`,
      username: `an${userId.slice(0, 8)}`,
      hashed_password: 'x',
    })
    .execute()
  token = stack.tokenFor({
    userId,
    permissions: ['analytics:read', 'analytics:create', 'analytics:update', 'supplier:read', 'cost:read'],
  })
  const catalog = stack.subgraphs.catalog.database.db
  for (const s of Object.values(suppliers)) {
    const row = await catalog
      .insertInto('suppliers')
      .values({ code: s.code, name: `Supplier ${s.code}` })
      .returning('id')
      .executeTakeFirstOrThrow()
    s.id = row.id
  }
  // Supplier A: 4 products (3 active), prices 10, 20, 30 (+ an inactive one at 100), 2 with an ASIN, stock
  // 5 each; the first two have media. Supplier B: 2 active products at 7.50 without stock.
  const products: { id: string; supplier: string; price: string; active: boolean; asin: string | null }[] = [
    { id: randomUUID(), supplier: suppliers.a.id, price: '10.00', active: true, asin: 'B000000001' },
    { id: randomUUID(), supplier: suppliers.a.id, price: '20.00', active: true, asin: 'B000000002' },
    { id: randomUUID(), supplier: suppliers.a.id, price: '30.00', active: true, asin: null },
    { id: randomUUID(), supplier: suppliers.a.id, price: '100.00', active: false, asin: null },
    { id: randomUUID(), supplier: suppliers.b.id, price: '7.50', active: true, asin: null },
    { id: randomUUID(), supplier: suppliers.b.id, price: '7.50', active: true, asin: null },
  ]
  await catalog
    .insertInto('products')
    .values(
      products.map((p, i) => ({
        id: p.id,
        supplier_id: p.supplier,
        title: `Produit ${i}`,
        sku: `SKU-${i}`,
        ean: `400638133393${i}`,
        is_active: p.active,
        asin: p.asin,
      })),
    )
    .execute()
  await catalog
    .insertInto('product_prices')
    .values(
      products.map((p) => ({
        product_id: p.id,
        supplier_id: p.supplier,
        price: p.price,
        price_type: 'retail',
      })),
    )
    .execute()
  await catalog
    .insertInto('product_stocks')
    .values(
      products.slice(0, 4).map((p, i) => ({
        product_id: p.id,
        warehouse_id: null,
        quantity: 5,
        // Two rows under their minimum.
        min_stock: i < 2 ? 8 : 2,
      })),
    )
    .execute()
  await catalog
    .insertInto('price_history')
    .values([
      {
        product_id: products[0]!.id,
        supplier_id: suppliers.a.id,
        old_price: '8.00',
        new_price: '10.00',
        changed_at: new Date(Date.now() - 2 * 86_400_000),
      },
      {
        product_id: products[4]!.id,
        supplier_id: suppliers.b.id,
        old_price: null,
        new_price: '7.50',
        changed_at: new Date(),
      },
      // Outside any period asked for below.
      {
        product_id: products[1]!.id,
        supplier_id: suppliers.a.id,
        old_price: '1.00',
        new_price: '20.00',
        changed_at: new Date('2020-01-01T00:00:00Z'),
      },
    ])
    .execute()
  await stack.subgraphs.media.database.db
    .insertInto('media_files')
    .values([
      { product_id: products[0]!.id, file_name: 'a.jpg' },
      { product_id: products[0]!.id, file_name: 'a2.jpg' },
      { product_id: products[1]!.id, file_name: 'b.jpg' },
    ])
    .execute()
}, 120_000)

afterAll(async () => {
  await stack?.stop()
  await rm(storageDir, { recursive: true, force: true })
})

describe('AI usage', () => {
  it('records calls through the internal mutation, read by aiUsageLogs and aiUsageSummary', async () => {
    const record = `mutation($input: AiUsageInput!) { recordAiUsage(input: $input) { id provider totalTokens cost } }`
    const first = await asService(record, {
      input: {
        userId,
        provider: 'openai',
        model: 'gpt-4o-mini',
        operation: 'enrichment',
        promptTokens: 100,
        completionTokens: 50,
        cost: '0.001500',
        latencyMs: 800,
      },
    })
    expect(first.errors).toBeUndefined()
    expect(first.data.recordAiUsage).toMatchObject({ provider: 'openai', totalTokens: 150, cost: '0.001500' })
    const failed = await asService(record, {
      input: {
        provider: 'openai',
        model: 'gpt-4o-mini',
        operation: 'translation',
        promptTokens: 10,
        success: false,
        errorMessage: 'rate limited',
      },
    })
    expect(failed.errors).toBeUndefined()
    const bad = await asService(record, {
      input: {
        provider: 'openai',
        model: 'm',
        operation: 'x',
        promptTokens: 10,
        completionTokens: 5,
        totalTokens: 3,
      },
    })
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.totalTokens' })

    const summary = await ok(
      `{ aiUsageSummary { provider currency requestCount failedCount promptTokens totalTokens cost } }`,
    )
    expect(summary.aiUsageSummary).toEqual([
      {
        provider: 'openai',
        currency: 'USD',
        requestCount: 2,
        failedCount: 1,
        promptTokens: 110,
        totalTokens: 160,
        cost: '0.001500',
      },
    ])
    // Not part of the public graph.
    const outside = await stack.request(record.replace('AiUsageInput', 'String'), { input: 'x' }, asUser())
    expect(outside.errors?.length).toBeGreaterThan(0)
  })
})

describe('import metrics', () => {
  const END = `mutation($input: ImportJobEndInput!) { recordImportJobEnd(input: $input) }`
  const SUPPLIER_IMPORTS = `query($id: UUID!) { supplier(id: $id) { importMetrics { date jobsCount completedCount failedCount rowsProcessed productsCreated productsUpdated rowsFailed durationSeconds avgDurationSeconds } } }`

  it('counts each job once as it ends, per supplier and day, and in the daily totals', async () => {
    const jobId = randomUUID()
    const end = (input: Record<string, unknown>) =>
      asService(END, {
        input: {
          jobId,
          supplierCode: suppliers.a.code,
          status: 'COMPLETED',
          endedAt: new Date().toISOString(),
          rowsProcessed: 100,
          productsCreated: 60,
          productsUpdated: 30,
          rowsFailed: 10,
          durationSeconds: 20,
          ...input,
        },
      })
    expect((await end({})).errors).toBeUndefined()
    // Reported twice (a retried call): counted once, with the latest figures.
    expect((await end({ rowsProcessed: 120 })).errors).toBeUndefined()
    expect(
      (
        await asService(END, {
          input: {
            jobId: randomUUID(),
            supplierCode: suppliers.a.code,
            status: 'FAILED',
            endedAt: new Date().toISOString(),
            rowsFailed: 5,
            durationSeconds: 4,
          },
        })
      ).errors,
    ).toBeUndefined()
    // A job still running has not ended; a status outside ImportJobStatus is refused before the resolver.
    const bad = await asService(END, {
      input: { jobId: randomUUID(), supplierCode: 'X', status: 'RUNNING', endedAt: new Date().toISOString() },
    })
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.status' })
    const unknown = await asService(END, {
      input: { jobId: randomUUID(), supplierCode: 'X', status: 'paused', endedAt: new Date().toISOString() },
    })
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(unknown.errors?.[0]?.message).toMatch(/"paused" does not exist in "ImportJobStatus" enum/)

    const data = await ok(SUPPLIER_IMPORTS, { id: suppliers.a.id })
    expect(data.supplier.importMetrics).toEqual([
      {
        date: today,
        jobsCount: 2,
        completedCount: 1,
        failedCount: 1,
        rowsProcessed: 120,
        productsCreated: 60,
        productsUpdated: 30,
        rowsFailed: 15,
        durationSeconds: 24,
        avgDurationSeconds: 12,
      },
    ])
    const totals = await ok(
      `query($d: LocalDate!) { importMetrics(from: $d, to: $d) { date totalImports successfulImports failedImports totalProductsProcessed avgProcessingTime } }`,
      { d: today },
    )
    expect(totals.importMetrics).toEqual([
      {
        date: today,
        totalImports: 2,
        successfulImports: 1,
        failedImports: 1,
        totalProductsProcessed: 120,
        avgProcessingTime: 12,
      },
    ])
  })

  it('recomputes a date range from the import jobs imports holds, as a run with progress', async () => {
    const imports = stack.subgraphs.imports.database.db
    const at = (days: number) => new Date(Date.parse(`${daysAgo(days)}T10:00:00Z`))
    await imports
      .insertInto('import_jobs')
      .values([
        {
          supplier_code: suppliers.b.code,
          import_type: 'products',
          status: 'completed',
          processed_rows: 40,
          products_created: 40,
          products_updated: 0,
          failed_rows: 0,
          started_at: at(2),
          completed_at: at(2),
          duration_seconds: 8,
        },
        {
          supplier_code: suppliers.b.code,
          import_type: 'products',
          status: 'cancelled',
          processed_rows: 10,
          products_created: 5,
          products_updated: 5,
          failed_rows: 0,
          started_at: at(2),
          completed_at: at(2),
          duration_seconds: 2,
        },
        {
          supplier_code: suppliers.a.code,
          import_type: 'products',
          status: 'failed',
          processed_rows: 0,
          failed_rows: 0,
          started_at: at(1),
          completed_at: at(1),
          duration_seconds: 1,
        },
        // Still running: not counted.
        { supplier_code: suppliers.a.code, import_type: 'products', status: 'running', started_at: at(1) },
      ])
      .execute()
    const started = await ok(
      `mutation($from: LocalDate!, $to: LocalDate!) { recomputeImportMetrics(from: $from, to: $to) { id kind status total } }`,
      { from: daysAgo(3), to: daysAgo(1) },
    )
    expect(started.recomputeImportMetrics).toMatchObject({
      kind: 'IMPORT_METRICS',
      status: 'PENDING',
      total: 3,
    })
    const run = await runEnded(started.recomputeImportMetrics.id)
    expect(run).toMatchObject({ status: 'COMPLETED', processed: 3, total: 3, errorMessage: null })

    const b = await ok(
      SUPPLIER_IMPORTS.replace('importMetrics {', `importMetrics(from: "${daysAgo(3)}") {`),
      { id: suppliers.b.id },
    )
    expect(b.supplier.importMetrics).toEqual([
      {
        date: daysAgo(2),
        jobsCount: 2,
        completedCount: 1,
        failedCount: 0,
        rowsProcessed: 50,
        productsCreated: 45,
        productsUpdated: 5,
        rowsFailed: 0,
        durationSeconds: 10,
        avgDurationSeconds: 5,
      },
    ])
    const supplierMetrics = await ok(
      `query($id: UUID!, $d: LocalDate!) { supplier(id: $id) { metrics(from: $d, to: $d) { importsCount successRate avgProcessingTime } } }`,
      { id: suppliers.b.id, d: daysAgo(2) },
    )
    expect(supplierMetrics.supplier.metrics).toEqual([
      { importsCount: 2, successRate: '50.00', avgProcessingTime: 5 },
    ])
    const totals = await ok(
      `query($f: LocalDate!, $t: LocalDate!) { importMetrics(from: $f, to: $t) { date totalImports failedImports } }`,
      { f: daysAgo(3), t: daysAgo(1) },
    )
    expect(totals.importMetrics).toEqual([
      { date: daysAgo(2), totalImports: 2, failedImports: 0 },
      { date: daysAgo(1), totalImports: 1, failedImports: 1 },
    ])
  })

  it('refuses a range ending after today or longer than a year, and cancels a pending run', async () => {
    const mutation = `mutation($from: LocalDate!, $to: LocalDate!) { recomputeImportMetrics(from: $from, to: $to) { id } }`
    const future = await stack.request(mutation, { from: today, to: '2999-01-01' }, asUser())
    expect(future.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    const long = await stack.request(mutation, { from: '2000-01-01', to: '2020-01-01' }, asUser())
    expect(long.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(long.errors?.[0]?.message).toMatch(/at most 366 days/)

    const run = await stack.subgraphs.analytics.database.db
      .insertInto('metric_runs')
      .values({ kind: 'import_metrics', date_from: today, date_to: today, total: 1 })
      .returning('id')
      .executeTakeFirstOrThrow()
    const cancelled = await ok(
      `mutation($id: UUID!) { cancelMetricRun(id: $id) { status cancelRequested } }`,
      { id: run.id },
    )
    expect(cancelled.cancelMetricRun).toEqual({ status: 'CANCELLED', cancelRequested: true })
  })
})

describe('supplier figures', () => {
  it('computes the day’s supplier and catalogue figures from catalog and media', async () => {
    const started = await ok(`mutation { computeSupplierMetrics { id kind status } }`)
    expect(started.computeSupplierMetrics).toMatchObject({ kind: 'SUPPLIER_METRICS', status: 'PENDING' })
    const run = await runEnded(started.computeSupplierMetrics.id)
    expect(run).toMatchObject({ status: 'COMPLETED', errorMessage: null })
    expect(run.processed).toBe(run.total)

    const FIGURES = `query($id: UUID!, $d: LocalDate!) { supplier(id: $id) { metrics(from: $d, to: $d) {
      productsCount activeProductsCount avgPrice stockValue imageShare verifiedAsinShare importsCount
    } } }`
    const a = await ok(FIGURES, { id: suppliers.a.id, d: today })
    expect(a.supplier.metrics).toEqual([
      // Import columns of the day stay (two jobs ended today, above).
      {
        productsCount: 4,
        activeProductsCount: 3,
        avgPrice: '20.00',
        stockValue: '300.00',
        imageShare: '0.5000',
        verifiedAsinShare: '0.5000',
        importsCount: 2,
      },
    ])
    const b = await ok(FIGURES, { id: suppliers.b.id, d: today })
    expect(b.supplier.metrics).toEqual([
      {
        productsCount: 2,
        activeProductsCount: 2,
        avgPrice: '7.50',
        stockValue: null,
        imageShare: '0.0000',
        verifiedAsinShare: '0.0000',
        importsCount: 0,
      },
    ])
    const catalog = await ok(
      `{ catalogMetrics { date suppliersCount productsCount activeProductsCount avgPrice stockValue imageShare verifiedAsinShare } }`,
    )
    expect(catalog.catalogMetrics).toEqual([
      {
        date: today,
        suppliersCount: 2,
        productsCount: 6,
        activeProductsCount: 5,
        avgPrice: '15.00',
        stockValue: '300.00',
        imageShare: '0.3333',
        verifiedAsinShare: '0.3333',
      },
    ])
  })
})

describe('reports', () => {
  // The stack's gateway listens on a port of its own: the signed path and query are what count.
  const download = async (url: string) => {
    const { pathname, search } = new URL(url)
    const response = await fetch(`${stack.gatewayUrl}${pathname}${search}`)
    expect(response.status).toBe(200)
    return Buffer.from(await response.arrayBuffer())
  }

  it('generates a CSV import summary, downloadable, and notifies its creator', async () => {
    const created = await ok(CREATE_REPORT, {
      input: {
        name: 'Imports',
        reportType: 'IMPORT_SUMMARY',
        format: 'CSV',
        parameters: { from: daysAgo(3), to: today },
      },
    })
    const report = await reportEnded(created.createReport.id)
    expect(report).toMatchObject({ status: 'COMPLETED', format: 'CSV', rowCount: 2, errorMessage: null })
    expect(report.downloadUrl).toMatch(/\/files\/reports\//)
    const csv = (await download(report.downloadUrl)).toString('utf8')
    const lines = csv
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n')
    expect(lines[0]).toBe(
      'Supplier,Imports,Completed,Failed,Cancelled,Rows,Created,Updated,Rows failed,Seconds',
    )
    expect(lines.slice(1)).toEqual(['AN-A,3,1,2,0,120,60,30,15,25', 'AN-B,2,1,0,1,50,45,5,0,10'])
    expect(report.fileSizeBytes).toBe(Buffer.byteLength(csv))

    const notes = await stack.subgraphs.core.database.db
      .selectFrom('notifications')
      .selectAll()
      .where('user_id', '=', userId)
      .execute()
    expect(notes.map((n) => n.title)).toContain('Report ready: Imports')
  })

  it('generates stock alerts as XLSX, price changes as JSON and supplier performance as PDF', async () => {
    const make = async (input: Record<string, unknown>) =>
      reportEnded(
        (await ok(CREATE_REPORT, { input: { name: String(input.reportType), ...input } })).createReport.id,
      )

    const stock = await make({ reportType: 'STOCK_ALERTS', format: 'XLSX' })
    expect(stock).toMatchObject({ status: 'COMPLETED', rowCount: 2 })
    const workbook = new ExcelJS.Workbook()
    await workbook.xlsx.load((await download(stock.downloadUrl)) as unknown as ArrayBuffer)
    const sheet = workbook.getWorksheet('Report')!
    expect(sheet.getRow(1).getCell(1).value).toBe('Supplier')
    expect(sheet.rowCount).toBe(3)
    expect(sheet.getRow(2).getCell(9).value).toBe(3)

    const prices = await make({
      reportType: 'PRICE_CHANGES',
      format: 'JSON',
      parameters: { from: daysAgo(7), to: today },
    })
    expect(prices).toMatchObject({ status: 'COMPLETED', rowCount: 2 })
    const json = JSON.parse((await download(prices.downloadUrl)).toString('utf8'))
    expect(json.report).toMatchObject({ rowCount: 2, parameters: { from: daysAgo(7), to: today } })
    expect(json.rows.map((r: any) => [r.supplier, r.oldPrice, r.newPrice, r.changePct])).toEqual([
      ['AN-A', '8.00', '10.00', '25.00'],
      ['AN-B', null, '7.50', null],
    ])

    const perf = await make({ reportType: 'SUPPLIER_PERFORMANCE', format: 'PDF' })
    expect(perf).toMatchObject({ status: 'COMPLETED', rowCount: 2 })
    expect(perf.parameters).toEqual({ from: daysAgo(29), to: today })
    const pdf = await download(perf.downloadUrl)
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-')
  })

  it('refuses an unknown type or a 20-year period when asked, and fails a report it cannot make', async () => {
    const unknown = await stack.request(
      CREATE_REPORT,
      { input: { name: 'x', reportType: 'weather' } },
      asUser(),
    )
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(unknown.errors?.[0]?.message).toMatch(/"weather" does not exist in "ReportType" enum/)
    const long = await stack.request(
      CREATE_REPORT,
      {
        input: {
          name: 'x',
          reportType: 'IMPORT_SUMMARY',
          parameters: { from: '2005-01-01', to: '2024-12-31' },
        },
      },
      asUser(),
    )
    expect(long.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.parameters.from',
    })
    expect(long.errors?.[0]?.message).toMatch(/spans 7305 days; a report covers at most 366/)

    // A row written by an older client with a type this version does not make: failed, with the reason.
    const legacy = await stack.subgraphs.analytics.database.db
      .insertInto('reports')
      .values({ name: 'old', report_type: 'stock_valuation', format: 'csv', created_by: userId })
      .returning('id')
      .executeTakeFirstOrThrow()
    await sql`SELECT graphile_worker.add_job('analytics:report', json_build_object('reportId', ${legacy.id}::text))`.execute(
      stack.subgraphs.analytics.database.db,
    )
    const failed = await waitFor(
      async () => (await ok(REPORT, { id: legacy.id })).report,
      (r) => r.status === 'FAILED',
    )
    expect(failed.errorMessage).toMatch(/unknown report type "stock_valuation"/)
    expect(failed.downloadUrl).toBeNull()
  })

  it('the minutely sweep queues the reports and runs left pending with no job, and only those', async () => {
    const analytics = stack.subgraphs.analytics.database.db
    // Written while no worker had installed the queue (enqueueAll skipped): pending, no job, a minute old.
    const old = sql<Date>`now() - interval '2 minutes'`
    const report = await analytics
      .insertInto('reports')
      .values({
        name: 'Left pending',
        report_type: 'import_summary',
        format: 'csv',
        parameters: JSON.stringify({ from: daysAgo(3), to: today }),
        created_by: userId,
        created_at: old,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    const run = await analytics
      .insertInto('metric_runs')
      .values({ kind: 'import_metrics', date_from: daysAgo(1), date_to: today, created_at: old })
      .returning('id')
      .executeTakeFirstOrThrow()
    // Just created: its own job may still be on its way, so the sweep leaves it alone.
    const young = await analytics
      .insertInto('reports')
      .values({ name: 'Just created', report_type: 'import_summary', format: 'csv', created_by: userId })
      .returning('id')
      .executeTakeFirstOrThrow()
    const queued = async (key: string) =>
      Number(
        (
          await sql<{ n: string }>`SELECT count(*) AS n FROM graphile_worker.jobs WHERE key = ${key}`.execute(
            analytics,
          )
        ).rows[0]!.n,
      )
    expect(await queued(`report:${report.id}`)).toBe(0)

    // The crontab's entry, queued by hand (schedules do not fire in tests).
    const sweep = await sql<{
      id: string
    }>`SELECT id FROM graphile_worker.add_job('analytics:sweep')`.execute(analytics)
    const sweepId = sweep.rows[0]!.id
    expect(await reportEnded(report.id)).toMatchObject({ status: 'COMPLETED', rowCount: 2 })
    expect(await runEnded(run.id)).toMatchObject({ status: 'COMPLETED', errorMessage: null })
    await waitFor(
      async () =>
        (await sql`SELECT 1 FROM graphile_worker.jobs WHERE id = ${sweepId}`.execute(analytics)).rows.length,
      (n) => n === 0,
    )
    expect(await queued(`report:${young.id}`)).toBe(0)
    expect((await ok(REPORT, { id: young.id })).report.status).toBe('PENDING')
    await analytics.deleteFrom('reports').where('id', '=', young.id).execute()
  })
})

describe('import jobs ending', () => {
  it('are counted by analytics as the imports worker ends them', async () => {
    await stack.startWorker('imports')
    const code = 'AN-C'
    const supplier = await stack.subgraphs.catalog.database.db
      .insertInto('suppliers')
      .values({ code, name: 'Supplier AN-C' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const config = await stack.subgraphs.imports.database.db
      .insertInto('import_configs')
      .values({
        supplier_code: code,
        import_type: 'products',
        config_name: 'Analytics e2e',
        connection_config: JSON.stringify({ type: 'http', url: 'https://supplier.example/feed.csv' }),
        file_format: 'csv',
        encoding: 'UTF-8',
        delimiter: ';',
        field_mapping: JSON.stringify({ Ref: 'sku', Titre: 'title', Prix: 'price' }),
        transformation_rules: JSON.stringify([{ field: 'price', op: 'number', locale: 'fr' }]),
        validation_rules: JSON.stringify([{ field: 'title', rule: 'required' }]),
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    const importer = `Bearer ${stack.tokenFor({ userId, permissions: ['import:create', 'import:read', 'product:read'] })}`
    const csv = 'Ref;Titre;Prix\r\nC-1;Un;10,50\r\nC-2;;11,00\r\nC-3;Trois;12,00\r\n'
    const uploaded = await fetch(`${stack.gatewayUrl}/uploads?filename=feed.csv`, {
      method: 'POST',
      headers: {
        authorization: importer,
        'content-type': 'application/octet-stream',
        'x-apollo-operation-name': 'upload',
      },
      body: csv,
    })
    expect(uploaded.status).toBe(201)
    const uploadId = ((await uploaded.json()) as { id: string }).id
    const started = await stack.request(
      `mutation($configId: UUID!, $source: ImportSourceInput!) { startImport(configId: $configId, source: $source) { id } }`,
      { configId: config.id, source: { uploadId } },
      { authorization: importer },
    )
    expect(started.errors).toBeUndefined()
    const jobId = started.data.startImport.id
    const job = await waitFor(
      async () => {
        return (
          await stack.request(
            `query($id: UUID!) { importJob(id: $id) { status } }`,
            { id: jobId },
            { authorization: importer },
          )
        ).data.importJob
      },
      (j) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(j.status),
    )
    expect(job.status).toBe('COMPLETED')
    const metrics = await waitFor(
      async () =>
        (
          await ok(
            `query($id: UUID!) { supplier(id: $id) { importMetrics { date jobsCount completedCount rowsProcessed productsCreated rowsFailed } } }`,
            {
              id: supplier.id,
            },
          )
        ).supplier.importMetrics,
      (m: unknown[]) => m.length > 0,
    )
    expect(metrics).toEqual([
      { date: today, jobsCount: 1, completedCount: 1, rowsProcessed: 3, productsCreated: 2, rowsFailed: 1 },
    ])
  }, 180_000)
})
