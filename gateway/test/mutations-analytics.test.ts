import { randomUUID } from 'node:crypto'
import { signedFor } from '@pm/testing/auth'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { postGraphQL } from '@pm/testing/subgraph'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let stack: TestStack<'core' | 'analytics'>

const PRODUCT_METRICS = `mutation($rows: [ProductMetricInput!]!) {
  recordProductMetrics(rows: $rows) {
    inserted updated
    metrics { productId date viewCount salesCount conversionRate revenue }
    errors { index field message }
  }
}`
const SUPPLIER_METRICS = `mutation($rows: [SupplierMetricInput!]!) {
  recordSupplierMetrics(rows: $rows) {
    inserted updated metrics { supplierId date productsCount importsCount successRate avgProcessingTime }
    errors { index field }
  }
}`
const IMPORT_METRICS = `mutation($rows: [ImportMetricInput!]!) {
  recordImportMetrics(rows: $rows) { inserted updated metrics { date totalImports } errors { index field } }
}`
const REPORT_FIELDS =
  'id name reportType parameters status format bucketName objectKey fileSizeBytes rowCount errorMessage startedAt completedAt expiresAt'
const CREATE_REPORT = `mutation($input: CreateReportInput!) { createReport(input: $input) { ${REPORT_FIELDS} } }`
const SET_STATUS = `mutation($id: UUID!, $input: UpdateReportStatusInput!) { updateReportStatus(id: $id, input: $input) { ${REPORT_FIELDS} } }`

const db = () => stack.subgraphs.analytics.database.db
const DAY_MS = 86_400_000
const day = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY_MS).toISOString().slice(0, 10)

function errorOf(res: { errors?: { extensions?: Record<string, unknown> }[] }) {
  expect(res.errors, 'an error was expected').toBeDefined()
  const { code, field } = res.errors![0]!.extensions ?? {}
  return field === undefined ? { code } : { code, field }
}

async function productMetricRows(productId: string) {
  return db()
    .selectFrom('product_metrics')
    .select(['date', 'view_count', 'sales_count', 'conversion_rate', 'revenue'])
    .where('product_id', '=', productId)
    .orderBy('date')
    .execute()
}

async function auditLogs(entityType: string, entityId?: string) {
  await stack.subgraphs.analytics.server.auditRelay.flush()
  const res = await stack.request(
    `query($f: AuditLogFilter) { auditLogs(filter: $f, first: 50) { edges { node { action entityType entityId changes userId } } } }`,
    { f: { entityType, ...(entityId ? { entityId } : {}) } },
  )
  expect(res.errors).toBeUndefined()
  return res.data.auditLogs.edges.map((e: any) => e.node)
}

beforeAll(async () => {
  stack = await startTestStack({ only: ['core', 'analytics'] })
})
afterAll(() => stack?.stop())

describe('metrics', () => {
  it('upserts product metrics: twice gives one row per (product, date) holding the latest values', async () => {
    const productId = randomUUID()
    const rows = [
      { productId, date: day(2), viewCount: 100, salesCount: 3, conversionRate: '0.03', revenue: '89.70' },
      { productId, date: day(1), viewCount: 50 },
    ]
    const first = await stack.request(PRODUCT_METRICS, { rows })
    expect(first.errors).toBeUndefined()
    expect(first.data.recordProductMetrics).toMatchObject({ inserted: 2, updated: 0, errors: [] })
    expect(first.data.recordProductMetrics.metrics).toContainEqual({
      productId,
      date: day(1),
      viewCount: 50,
      salesCount: 0,
      conversionRate: null,
      revenue: null,
    })

    // The same call again: same state, nothing duplicated.
    const again = await stack.request(PRODUCT_METRICS, { rows })
    expect(again.data.recordProductMetrics).toMatchObject({ inserted: 0, updated: 2 })
    const stored = await productMetricRows(productId)
    expect(stored).toHaveLength(2)

    const latest = await stack.request(PRODUCT_METRICS, {
      rows: [
        { productId, date: day(2), viewCount: 120, salesCount: 6, conversionRate: '0.05', revenue: '179.40' },
      ],
    })
    expect(latest.data.recordProductMetrics).toMatchObject({ inserted: 0, updated: 1 })
    expect(await productMetricRows(productId)).toEqual([
      { date: day(2), view_count: 120, sales_count: 6, conversion_rate: '0.0500', revenue: '179.40' },
      { date: day(1), view_count: 50, sales_count: 0, conversion_rate: null, revenue: null },
    ])

    // Read back by analytics' own field on catalog's entity (asked of the subgraph: catalog is not started).
    const read = await postGraphQL(
      stack.subgraphs.analytics.server.graphqlUrl,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { metrics(from: "${day(5)}") { date viewCount } } } }`,
      { r: [{ __typename: 'Product', id: productId }] },
      signedFor('analytics'),
    )
    expect(read.data._entities[0].metrics).toEqual([
      { date: day(2), viewCount: 120 },
      { date: day(1), viewCount: 50 },
    ])
  })

  it('keeps the good rows and reports each bad one with its index and field', async () => {
    const productId = randomUUID()
    const good = (date: string) => ({ productId, date, viewCount: 10, salesCount: 1, conversionRate: '0.1' })
    const rows = [
      good(day(1)),
      { ...good(day(2)), date: day(-2) },
      { ...good(day(3)), viewCount: -1 },
      { ...good(day(4)), salesCount: -5 },
      { ...good(day(5)), conversionRate: '1.5' },
      { ...good(day(6)), conversionRate: '0.12345' },
      { ...good(day(7)), conversionRate: '-0.1' },
      { ...good(day(8)), revenue: '12345678901.00' },
      { ...good(day(9)), revenue: '1.999' },
      { ...good(day(10)), revenue: '-3.00' },
      good(day(1)),
      good(day(11)),
    ]
    const res = await stack.request(PRODUCT_METRICS, { rows })
    expect(res.errors).toBeUndefined()
    const payload = res.data.recordProductMetrics
    expect(payload.errors.map((e: any) => [e.index, e.field])).toEqual([
      [1, 'rows[1].date'],
      [2, 'rows[2].viewCount'],
      [3, 'rows[3].salesCount'],
      [4, 'rows[4].conversionRate'],
      [5, 'rows[5].conversionRate'],
      [6, 'rows[6].conversionRate'],
      [7, 'rows[7].revenue'],
      [8, 'rows[8].revenue'],
      [9, 'rows[9].revenue'],
      [10, 'rows[10].date'],
    ])
    expect(payload.errors[0].message).toMatch(/future/)
    expect(payload.errors[9].message).toMatch(/repeats rows\[0\]/)
    expect(payload).toMatchObject({ inserted: 2, updated: 0 })
    expect((await productMetricRows(productId)).map((r) => r.date)).toEqual([day(11), day(1)])

    // Today (UTC) is allowed; a Decimal given as a number is refused by the scalar.
    const today = await stack.request(PRODUCT_METRICS, { rows: [good(day(0))] })
    expect(today.data.recordProductMetrics.errors).toEqual([])
    const float = await stack.request(PRODUCT_METRICS, { rows: [{ ...good(day(0)), revenue: 1.5 }] })
    expect(errorOf(float).code).toBe('BAD_USER_INPUT')
  })

  it('refuses more than 1,000 rows, and runs the same statements for 10 rows as for 1,000', async () => {
    const many = (n: number) =>
      Array.from({ length: n }, () => ({ productId: randomUUID(), date: day(1), viewCount: 1 }))
    const tooMany = await stack.request(PRODUCT_METRICS, { rows: many(1001) })
    expect(errorOf(tooMany)).toEqual({ code: 'BAD_USER_INPUT', field: 'rows' })

    // Analytics delivers its own audit entries with counted statements: each window includes its one delivery.
    const relay = stack.subgraphs.analytics.server.auditRelay
    const used = async (rows: unknown[]) => {
      await relay.flush()
      const before = stack.subgraphs.analytics.database.stats().queries
      const res = await stack.request(PRODUCT_METRICS, { rows })
      await relay.flush()
      expect(res.data.recordProductMetrics.inserted).toBe(rows.length)
      return stack.subgraphs.analytics.database.stats().queries - before
    }
    const used10 = await used(many(10))
    const used1000 = await used(many(1000))
    // BEGIN, the upsert, the audit outbox row, COMMIT; then the delivery to audit_logs (read, insert, delete).
    expect(used10).toBeLessThanOrEqual(8)
    expect(used1000).toBe(used10)

    const empty = await stack.request(PRODUCT_METRICS, { rows: [] })
    expect(empty.data.recordProductMetrics).toEqual({ inserted: 0, updated: 0, metrics: [], errors: [] })
  })

  it('upserts supplier metrics with a 0–100 success rate', async () => {
    const supplierId = randomUUID()
    const rows = [
      {
        supplierId,
        date: day(1),
        productsCount: 40,
        importsCount: 2,
        successRate: '50.00',
        avgProcessingTime: 95,
      },
      { supplierId, date: day(2), productsCount: 40, successRate: '100.5' },
      { supplierId, date: day(3), importsCount: 1, avgProcessingTime: -1 },
    ]
    const res = await stack.request(SUPPLIER_METRICS, { rows })
    expect(res.errors).toBeUndefined()
    expect(res.data.recordSupplierMetrics).toMatchObject({
      inserted: 1,
      errors: [
        { index: 1, field: 'rows[1].successRate' },
        { index: 2, field: 'rows[2].avgProcessingTime' },
      ],
      metrics: [
        {
          supplierId,
          date: day(1),
          productsCount: 40,
          importsCount: 2,
          successRate: '50.00',
          avgProcessingTime: 95,
        },
      ],
    })
    const again = await stack.request(SUPPLIER_METRICS, { rows: [{ ...rows[0], successRate: '75' }] })
    expect(again.data.recordSupplierMetrics).toMatchObject({ inserted: 0, updated: 1 })
    const stored = await db()
      .selectFrom('supplier_metrics')
      .select('success_rate')
      .where('supplier_id', '=', supplierId)
      .execute()
    expect(stored).toEqual([{ success_rate: '75.00' }])
  })

  it('upserts import totals by day, refusing totals below successful + failed', async () => {
    const rows = [
      { date: day(3), totalImports: 5, successfulImports: 4, failedImports: 1, totalProductsProcessed: 900 },
      { date: day(4), totalImports: 2, successfulImports: 2, failedImports: 1 },
    ]
    const res = await stack.request(IMPORT_METRICS, { rows })
    expect(res.data.recordImportMetrics).toMatchObject({
      inserted: 1,
      errors: [{ index: 1, field: 'rows[1].totalImports' }],
    })
    await stack.request(IMPORT_METRICS, { rows: [{ ...rows[0], totalImports: 6 }] })
    const read = await stack.request(
      `{ importMetrics(from: "${day(5)}", to: "${day(0)}") { date totalImports successfulImports } }`,
    )
    expect(read.data.importMetrics).toEqual([{ date: day(3), totalImports: 6, successfulImports: 4 }])

    const logs = await auditLogs('import_metrics')
    expect(logs[0]).toMatchObject({ action: 'upsert', entityId: null })
    expect(logs[0].changes).toMatchObject({ rows: 1, inserted: 0, updated: 1, from: day(3), to: day(3) })
  })
})

describe('reports', () => {
  async function createReport(input: Record<string, unknown> = {}) {
    const res = await stack.request(CREATE_REPORT, {
      input: { name: 'Imports this week', reportType: 'IMPORT_SUMMARY', format: 'PDF', ...input },
    })
    expect(res.errors).toBeUndefined()
    return res.data.createReport
  }

  it('creates a pending report, refusing bad input naming the field', async () => {
    const report = await createReport({ parameters: { from: day(7), to: day(0) } })
    expect(report).toMatchObject({
      status: 'PENDING',
      format: 'PDF',
      reportType: 'import_summary',
      parameters: { from: day(7), to: day(0) },
      startedAt: null,
      completedAt: null,
    })
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'x'.repeat(256) }, 'input.name'],
      [{ name: '  ' }, 'input.name'],
      [{ parameters: { blob: 'x'.repeat(70_000) } }, 'input.parameters'],
    ]
    for (const [input, field] of cases) {
      const res = await stack.request(CREATE_REPORT, {
        input: { name: 'r', reportType: 'IMPORT_SUMMARY', ...input },
      })
      expect(errorOf(res), field).toEqual({ code: 'BAD_USER_INPUT', field })
    }
    // Values outside ReportType and ReportFormat are refused before any resolver runs.
    for (const [input, pattern] of [
      [{ reportType: 'Import Summary' }, /"Import Summary" does not exist in "ReportType" enum/],
      [{ reportType: 'IMPORT_SUMMARY', format: 'docx' }, /"docx" does not exist in "ReportFormat" enum/],
    ] as const) {
      const res = await stack.request(CREATE_REPORT, { input: { name: 'r', ...input } })
      expect(errorOf(res)).toMatchObject({ code: 'BAD_USER_INPUT' })
      expect(res.errors![0]!.message).toMatch(pattern)
    }
    const [entry] = await auditLogs('report', report.id)
    expect(entry).toMatchObject({ action: 'create', entityType: 'report' })
    expect(entry.changes.after.status).toBe('pending')
  })

  it('moves pending → running → completed, setting the timestamps, and refuses illegal moves', async () => {
    const { id } = await createReport()
    const early = await stack.request(SET_STATUS, { id, input: { status: 'COMPLETED' } })
    expect(errorOf(early)).toEqual({ code: 'BAD_USER_INPUT', field: 'input.status' })
    expect(early.errors![0]!.message).toMatch(
      /pending report cannot become completed \(only running or cancelled\)/,
    )
    const unknown = await stack.request(SET_STATUS, { id, input: { status: 'paused' } })
    expect(errorOf(unknown)).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(unknown.errors![0]!.message).toMatch(/"paused" does not exist in "ReportStatus" enum/)
    const fileTooSoon = await stack.request(SET_STATUS, { id, input: { status: 'RUNNING', bucketName: 'b' } })
    expect(errorOf(fileTooSoon)).toEqual({ code: 'BAD_USER_INPUT', field: 'input.bucketName' })

    const running = await stack.request(SET_STATUS, { id, input: { status: 'RUNNING' } })
    expect(running.data.updateReportStatus).toMatchObject({ status: 'RUNNING', completedAt: null })
    expect(running.data.updateReportStatus.startedAt).not.toBeNull()
    const twice = await stack.request(SET_STATUS, { id, input: { status: 'RUNNING' } })
    expect(errorOf(twice)).toEqual({ code: 'BAD_USER_INPUT', field: 'input.status' })

    const half = await stack.request(SET_STATUS, {
      id,
      input: { status: 'COMPLETED', bucketName: 'pm-reports' },
    })
    expect(errorOf(half)).toEqual({ code: 'BAD_USER_INPUT', field: 'input.objectKey' })
    const past = await stack.request(SET_STATUS, {
      id,
      input: { status: 'COMPLETED', expiresAt: new Date(Date.now() - 1000).toISOString() },
    })
    expect(errorOf(past)).toEqual({ code: 'BAD_USER_INPUT', field: 'input.expiresAt' })
    const negative = await stack.request(SET_STATUS, { id, input: { status: 'COMPLETED', rowCount: -1 } })
    expect(errorOf(negative)).toEqual({ code: 'BAD_USER_INPUT', field: 'input.rowCount' })
    const message = await stack.request(SET_STATUS, { id, input: { status: 'COMPLETED', errorMessage: 'x' } })
    expect(errorOf(message)).toEqual({ code: 'BAD_USER_INPUT', field: 'input.errorMessage' })

    const expiresAt = new Date(Date.now() + 30 * DAY_MS).toISOString()
    const done = await stack.request(SET_STATUS, {
      id,
      input: {
        status: 'COMPLETED',
        bucketName: 'pm-reports',
        objectKey: `reports/${id}.pdf`,
        fileSizeBytes: 123_456,
        rowCount: 42,
        expiresAt,
      },
    })
    expect(done.errors).toBeUndefined()
    const completed = done.data.updateReportStatus
    expect(completed).toMatchObject({
      status: 'COMPLETED',
      bucketName: 'pm-reports',
      fileSizeBytes: 123_456,
      rowCount: 42,
      expiresAt,
    })
    expect(new Date(completed.completedAt).getTime()).toBeGreaterThanOrEqual(
      new Date(completed.startedAt).getTime(),
    )
    for (const status of ['RUNNING', 'FAILED', 'CANCELLED', 'PENDING']) {
      const res = await stack.request(SET_STATUS, { id, input: { status } })
      expect(errorOf(res), status).toEqual({ code: 'BAD_USER_INPUT', field: 'input.status' })
    }
    const actions = (await auditLogs('report', id)).map((l: any) => l.action).sort()
    expect(actions).toEqual(['create', 'update', 'update'])
  })

  it('fails with a message, cancels from pending, and answers NOT_FOUND for a missing report', async () => {
    const a = await createReport()
    await stack.request(SET_STATUS, { id: a.id, input: { status: 'RUNNING' } })
    const failed = await stack.request(SET_STATUS, {
      id: a.id,
      input: { status: 'FAILED', errorMessage: 'statement_timeout on db_catalog' },
    })
    expect(failed.data.updateReportStatus).toMatchObject({
      status: 'FAILED',
      errorMessage: 'statement_timeout on db_catalog',
    })
    expect(failed.data.updateReportStatus.completedAt).not.toBeNull()

    const b = await createReport()
    const cancelled = await stack.request(SET_STATUS, { id: b.id, input: { status: 'CANCELLED' } })
    expect(cancelled.data.updateReportStatus).toMatchObject({ status: 'CANCELLED', startedAt: null })
    expect(cancelled.data.updateReportStatus.completedAt).not.toBeNull()

    const missing = await stack.request(SET_STATUS, { id: randomUUID(), input: { status: 'RUNNING' } })
    expect(errorOf(missing)).toEqual({ code: 'NOT_FOUND', field: 'id' })
  })

  it('deletes a report that is not running', async () => {
    const remove = 'mutation($id: UUID!) { deleteReport(id: $id) { id status } }'
    const report = await createReport()
    await stack.request(SET_STATUS, { id: report.id, input: { status: 'RUNNING' } })
    expect(errorOf(await stack.request(remove, { id: report.id }))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'id',
    })
    await stack.request(SET_STATUS, { id: report.id, input: { status: 'CANCELLED' } })
    const deleted = await stack.request(remove, { id: report.id })
    expect(deleted.data.deleteReport).toEqual({ id: report.id, status: 'CANCELLED' })
    expect(
      (await stack.request('query($id: UUID!) { report(id: $id) { id } }', { id: report.id })).data.report,
    ).toBeNull()
    expect(errorOf(await stack.request(remove, { id: report.id }))).toEqual({
      code: 'NOT_FOUND',
      field: 'id',
    })
    expect((await auditLogs('report', report.id)).map((l: any) => l.action)).toContain('delete')
  })
})

describe('audit log', () => {
  const RECORD = `mutation($input: RecordAuditLogInput!) { recordAuditLog(input: $input) { id action entityType entityId changes userId createdAt } }`

  it('records a front end action in audit_logs, bounded and validated', async () => {
    const entityId = randomUUID()
    const res = await stack.request(RECORD, {
      input: { action: 'download', entityType: 'report', entityId, changes: { format: 'pdf' } },
    })
    expect(res.errors).toBeUndefined()
    expect(res.data.recordAuditLog).toMatchObject({
      action: 'download',
      entityType: 'report',
      entityId,
      changes: { format: 'pdf' },
      // The caller the gateway authenticated (the stack's default superuser).
      userId: stack.superuserId,
    })
    const listed = await auditLogs('report', entityId)
    expect(listed).toEqual([expect.objectContaining({ action: 'download', entityId })])

    const cases: [Record<string, unknown>, string][] = [
      [{ action: 'Bad Action', entityType: 'report' }, 'input.action'],
      [{ action: 'a'.repeat(51), entityType: 'report' }, 'input.action'],
      [{ action: 'view', entityType: '' }, 'input.entityType'],
      [{ action: 'view', entityType: 't'.repeat(101) }, 'input.entityType'],
      [{ action: 'view', entityType: 'report', entityId: 'i'.repeat(256) }, 'input.entityId'],
      [{ action: 'view', entityType: 'report', changes: { blob: 'x'.repeat(20_000) } }, 'input.changes'],
    ]
    for (const [input, field] of cases) {
      expect(errorOf(await stack.request(RECORD, { input })), field).toEqual({
        code: 'BAD_USER_INPUT',
        field,
      })
    }
  })

  it('still hides the internal relayed mutation from the public graph', async () => {
    const res = await stack.request('mutation { recordAuditEntries(entries: []) }')
    expect(errorOf(res).code).toBe('GRAPHQL_VALIDATION_FAILED')
  })
})
