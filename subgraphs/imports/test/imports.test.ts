import { randomUUID } from 'node:crypto'
import type { Logger } from '@pm/service-kit'
import { startTestSubgraph, type TestSubgraph } from '@pm/testing/subgraph'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobsQuery } from '../src/db/queries'
import { subgraph } from '../src/module'

let sg: TestSubgraph<'imports'>

const STATUSES = ['completed', 'failed', 'running', 'pending'] as const
const userId = randomUUID()
const configA = randomUUID()
const configB = randomUUID()
const configInactive = randomUUID()

interface SeedJob {
  id: string
  supplier_code: string
  config_id: string | null
  import_type: string
  status: string
  created_by: string | null
  created_at: Date
}

// 60 dashboard jobs (ten of them share one created_at) and 11 more of SUP-TIE that all share another.
const jobs: SeedJob[] = Array.from({ length: 60 }, (_, i) => ({
  id: randomUUID(),
  supplier_code: i % 2 === 0 ? 'SUP-A' : 'SUP-B',
  config_id: i % 5 === 4 ? null : i % 2 === 0 ? configA : configB,
  import_type: i % 3 === 0 ? 'api' : 'csv',
  status: STATUSES[i % 4]!,
  created_by: i % 2 === 0 ? userId : null,
  created_at: i < 10 ? new Date('2026-02-01T08:00:00Z') : new Date(Date.UTC(2026, 1, 2, 0, i)),
}))
const tieJobs: SeedJob[] = Array.from({ length: 11 }, () => ({
  id: randomUUID(),
  supplier_code: 'SUP-TIE',
  config_id: null,
  import_type: 'csv',
  status: 'completed',
  created_by: null,
  created_at: new Date('2026-01-15T12:00:00Z'),
}))
const allJobs = [...jobs, ...tieJobs]

/** created_at DESC, id DESC, as the dashboard orders. */
function newestFirst(a: SeedJob, b: SeedJob) {
  return b.created_at.getTime() - a.created_at.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

const now = new Date()
const thisMonth = (day: number, minute: number) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), day, 10, minute))
const nextMonth = (day: number, minute: number) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, day, 10, minute))
const twoYearsAhead = new Date(Date.UTC(now.getUTCFullYear() + 2, now.getUTCMonth(), 10, 10, 0))
const partitionName = (d: Date) =>
  `import_logs_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`

async function count(query: string, variables?: Record<string, unknown>) {
  const before = sg.queryCount()
  const res = await sg.request(query, variables)
  return { res, used: sg.queryCount() - before }
}

beforeAll(async () => {
  sg = await startTestSubgraph(subgraph)
  const db = sg.database.db
  await db
    .insertInto('import_configs')
    .values([
      {
        id: configA,
        supplier_code: 'SUP-A',
        import_type: 'csv',
        config_name: 'A nightly FTP',
        connection_config: {
          protocol: 'sftp',
          host: 'ftp.example.com',
          username: 'sup-a',
          Password: 'hunter2',
          nested: {
            apiKey: 'k-123',
            list: [{ access_token: 't-1', port: 22 }],
            clientCredentials: { id: 'x' },
          },
          privateKeyPath: null,
        },
        field_mapping: { EAN: 'ean', Prix: 'price' },
        created_at: new Date('2026-01-01T00:00:00Z'),
      },
      {
        id: configB,
        supplier_code: 'SUP-B',
        import_type: 'api',
        config_name: 'B API',
        connection_config: { url: 'https://b.example.com', token: 'secret-token' },
        created_at: new Date('2026-01-02T00:00:00Z'),
      },
      {
        id: configInactive,
        supplier_code: 'SUP-A',
        import_type: 'csv',
        config_name: 'A old email',
        is_active: false,
        connection_config: { mailbox: 'in@example.com' },
        created_at: new Date('2026-01-03T00:00:00Z'),
      },
    ])
    .execute()
  await db
    .insertInto('import_schedules')
    .values([
      { config_id: configA, cron_expression: '0 3 * * *', next_run: new Date('2026-12-01T03:00:00Z') },
      { config_id: configA, cron_expression: '0 4 * * 1', next_run: null, is_active: false },
      { config_id: configB, cron_expression: '*/15 * * * *', next_run: new Date('2026-11-30T00:15:00Z') },
    ])
    .execute()
  await db
    .insertInto('mapping_templates')
    .values([
      { name: 'A default', supplier_code: 'SUP-A', field_mapping: { EAN: 'ean' }, is_default: true },
      { name: 'Generic', supplier_code: null, field_mapping: { sku: 'sku' } },
    ])
    .execute()
  await db.insertInto('import_jobs').values(allJobs).execute()
  // Every dashboard job: 5 logs (dated in a past month, so in the default partition), 3 errors, 1 file.
  const levels = ['debug', 'info', 'warning', 'error', 'info']
  await db
    .insertInto('import_logs')
    .values(
      jobs.flatMap((j, i) =>
        levels.map((level, n) => ({
          job_id: j.id,
          log_level: level,
          message: `job ${i} line ${n}`,
          created_at: new Date(Date.UTC(2026, 1, 3, i, n)),
        })),
      ),
    )
    .execute()
  await db
    .insertInto('import_errors')
    .values(
      jobs.flatMap((j) => [
        { job_id: j.id, row_number: 7, error_code: 'INVALID_EAN', message: 'bad EAN', raw_value: '123' },
        { job_id: j.id, row_number: null, error_code: 'ENCODING', message: 'file not UTF-8' },
        {
          job_id: j.id,
          row_number: 2,
          error_code: 'MISSING_PRICE',
          message: 'no price',
          severity: 'warning',
        },
      ]),
    )
    .execute()
  await db
    .insertInto('import_files')
    .values(
      jobs.map((j, i) => ({
        job_id: j.id,
        file_name: `feed-${i}.csv`,
        file_hash: 'a'.repeat(64),
        file_size_bytes: '5000000000',
        row_count: 100,
      })),
    )
    .execute()
  await db
    .insertInto('import_statistics')
    .values(
      jobs
        .filter((_, i) => i % 3 === 0)
        .map((j) => ({
          job_id: j.id,
          skipped_rows: 1,
          errors_by_code: { INVALID_EAN: 1 },
          bytes_processed: '9007199254740991',
          rows_per_second: '123.45',
        })),
    )
    .execute()
})
afterAll(() => sg?.stop())

describe('imports subgraph: entities', () => {
  it('resolves ImportJob, ImportConfig and Supplier (by code) representations, null for missing ids', async () => {
    const missing = randomUUID()
    const res = await sg.request(
      `query($r: [_Any!]!) { _entities(representations: $r) {
        __typename
        ... on ImportJob { id supplierCode }
        ... on ImportConfig { id configName }
        ... on Supplier { code importConfigs { configName } importJobs(first: 1) { totalCount } }
      } }`,
      {
        r: [
          { __typename: 'ImportJob', id: jobs[3]!.id },
          { __typename: 'ImportJob', id: missing },
          { __typename: 'ImportConfig', id: configB },
          { __typename: 'ImportConfig', id: missing },
          { __typename: 'ImportJob', id: 'not-a-uuid' },
          { __typename: 'Supplier', code: 'SUP-A' },
          { __typename: 'Supplier', code: 'NO-SUCH-SUPPLIER' },
        ],
      },
    )
    expect(res.errors).toBeUndefined()
    expect(res.data._entities).toEqual([
      { __typename: 'ImportJob', id: jobs[3]!.id, supplierCode: 'SUP-B' },
      null,
      { __typename: 'ImportConfig', id: configB, configName: 'B API' },
      null,
      null,
      {
        __typename: 'Supplier',
        code: 'SUP-A',
        importConfigs: [{ configName: 'A nightly FTP' }, { configName: 'A old email' }],
        importJobs: { totalCount: 30 },
      },
      // catalog decides whether the supplier exists; imports only has nothing for it.
      { __typename: 'Supplier', code: 'NO-SUCH-SUPPLIER', importConfigs: [], importJobs: { totalCount: 0 } },
    ])
  })

  it('points createdBy at a User stub, null when created_by is null, and supplier at the code', async () => {
    const res = await sg.request(
      `{ a: importJob(id: "${jobs[0]!.id}") { createdBy { id } supplier { code } }
         b: importJob(id: "${jobs[1]!.id}") { createdBy { id } }
         c: importJob(id: "${randomUUID()}") { id } }`,
    )
    expect(res.errors).toBeUndefined()
    expect(res.data).toEqual({
      a: { createdBy: { id: userId }, supplier: { code: 'SUP-A' } },
      b: { createdBy: null },
      c: null,
    })
  })

  it('batches Supplier.importJobs and importConfigs across suppliers in one statement each', async () => {
    const { res, used } = await count(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Supplier {
        code importConfigs { id } importJobs(status: FAILED, first: 2) { totalCount edges { node { id status } } }
      } } }`,
      { r: ['SUP-A', 'SUP-B', 'SUP-TIE'].map((code) => ({ __typename: 'Supplier', code })) },
    )
    expect(res.errors).toBeUndefined()
    const [a, b, tie] = res.data._entities
    expect(a.importJobs.totalCount).toBe(0)
    expect(b.importJobs.totalCount).toBe(15)
    const expectedB = jobs
      .filter((j) => j.supplier_code === 'SUP-B' && j.status === 'failed')
      .sort(newestFirst)
    expect(b.importJobs.edges.map((e: any) => e.node.id)).toEqual(expectedB.slice(0, 2).map((j) => j.id))
    expect(tie).toEqual({ code: 'SUP-TIE', importConfigs: [], importJobs: { totalCount: 0, edges: [] } })
    // configs + jobs page + jobs counts.
    expect(used).toBe(3)
  })
})

describe('imports subgraph: the dashboard', () => {
  const ids = (res: any) => res.data.importJobs.edges.map((e: any) => e.node.id)

  it('lists jobs newest first, filtered by status, supplier and import type', async () => {
    const all = await sg.request('{ importJobs(first: 100) { totalCount edges { node { id } } } }')
    expect(all.errors).toBeUndefined()
    expect(all.data.importJobs.totalCount).toBe(71)
    expect(ids(all)).toEqual([...allJobs].sort(newestFirst).map((j) => j.id))

    const cases: Array<[string, (j: SeedJob) => boolean]> = [
      ['{ status: FAILED }', (j) => j.status === 'failed'],
      ['{ supplierCode: "SUP-A" }', (j) => j.supplier_code === 'SUP-A'],
      ['{ importType: "api" }', (j) => j.import_type === 'api'],
      [
        '{ status: COMPLETED, supplierCode: "SUP-A", importType: "csv" }',
        (j) => j.status === 'completed' && j.supplier_code === 'SUP-A' && j.import_type === 'csv',
      ],
    ]
    for (const [filter, keep] of cases) {
      const res = await sg.request(
        `{ importJobs(filter: ${filter}, first: 100) { totalCount edges { node { id } } } }`,
      )
      expect(res.errors).toBeUndefined()
      const expected = allJobs.filter(keep).sort(newestFirst)
      expect(res.data.importJobs.totalCount).toBe(expected.length)
      expect(ids(res)).toEqual(expected.map((j) => j.id))
    }
    const unknown = await sg.request('{ importJobs(filter: { status: "no-such-status" }) { totalCount } }')
    expect(unknown.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED')
    expect(unknown.errors?.[0]?.message).toMatch(/ImportJobStatus/)
  })

  it('orders oldest first with orderBy CREATED_AT ASC, and rejects a cursor of the other order', async () => {
    const res = await sg.request(
      '{ importJobs(first: 5, orderBy: { field: CREATED_AT, direction: ASC }) { edges { node { id } } pageInfo { endCursor } } }',
    )
    expect(res.errors).toBeUndefined()
    const expected = [...allJobs].sort((a, b) => -newestFirst(a, b))
    expect(ids(res)).toEqual(expected.slice(0, 5).map((j) => j.id))
    const other = await sg.request(
      `{ importJobs(after: "${res.data.importJobs.pageInfo.endCursor}") { totalCount } }`,
    )
    expect(other.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('walks jobs with identical created_at three by three without skipping or repeating', async () => {
    for (const filter of ['{ supplierCode: "SUP-TIE" }', '{ status: COMPLETED }', '{}']) {
      const seen: string[] = []
      let after: string | null = null
      for (let page = 0; page < 50; page++) {
        const res: any = await sg.request(
          `query($after: String) { importJobs(filter: ${filter}, first: 3, after: $after) {
            edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
          { after },
        )
        expect(res.errors).toBeUndefined()
        seen.push(...ids(res))
        if (!res.data.importJobs.pageInfo.hasNextPage) break
        after = res.data.importJobs.pageInfo.endCursor
      }
      const expected = allJobs
        .filter((j) =>
          filter.includes('SUP-TIE')
            ? j.supplier_code === 'SUP-TIE'
            : filter.includes('COMPLETED')
              ? j.status === 'completed'
              : true,
        )
        .sort(newestFirst)
      expect(seen).toEqual(expected.map((j) => j.id))
    }
  })

  it('rejects a forged cursor and an oversized page with BAD_USER_INPUT', async () => {
    const forged = Buffer.from(JSON.stringify(['CREATED_AT:DESC', 'not-a-date', randomUUID()])).toString(
      'base64url',
    )
    for (const q of [
      `{ importJobs(after: "${forged}") { totalCount } }`,
      '{ importJobs(after: "garbage") { totalCount } }',
      '{ importJobs(first: 101) { totalCount } }',
      `{ importJob(id: "${jobs[0]!.id}") { logs(first: 500) { totalCount } } }`,
    ]) {
      const res = await sg.request(q)
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    }
  })

  it('serves the status and supplier filters from their (…, created_at DESC) indexes', async () => {
    const plan = async (filter: { status?: string; supplierCode?: string }) =>
      sg.database.db.connection().execute(async (conn) => {
        // Tiny tables make a sequential scan cheapest; the question is which index the planner can use.
        await sql`SET enable_seqscan = off`.execute(conn)
        await sql`SET enable_bitmapscan = off`.execute(conn)
        const query = jobsQuery(conn, filter)
          .orderBy('import_jobs.created_at', 'desc')
          .orderBy('import_jobs.id', 'desc')
          .limit(21)
          .compile()
        const { rows } = await conn.executeQuery<{ 'QUERY PLAN': string }>({
          ...query,
          sql: `EXPLAIN ${query.sql}`,
        })
        await sql`RESET ALL`.execute(conn)
        return rows.map((r) => r['QUERY PLAN']).join('\n')
      })
    expect(await plan({ status: 'failed' })).toContain('idx_import_jobs_status_created')
    expect(await plan({ supplierCode: 'SUP-A' })).toContain('idx_import_jobs_supplier_created_id')
    expect(await plan({})).toContain('idx_import_jobs_created_id')
  })

  it('runs the same number of statements for 5 and 50 jobs with all their nested lists', async () => {
    const query = `query($n: Int) { importJobs(first: $n) { edges { node {
      id config { id configName }
      logs(first: 3) { totalCount edges { node { message } } }
      errors(first: 2) { edges { node { id } } }
      files { fileName fileSizeBytes }
      statistics { bytesProcessed rowsPerSecond errorsByCode }
      createdBy { id }
    } } } }`
    const five = await count(query, { n: 5 })
    const fifty = await count(query, { n: 50 })
    expect(five.res.errors).toBeUndefined()
    expect(fifty.res.errors).toBeUndefined()
    expect(five.res.data.importJobs.edges).toHaveLength(5)
    expect(fifty.res.data.importJobs.edges).toHaveLength(50)
    for (const { node } of fifty.res.data.importJobs.edges) {
      const seed = jobs.find((j) => j.id === node.id)!
      expect(node.logs.totalCount).toBe(5)
      expect(node.logs.edges).toHaveLength(3)
      expect(node.errors.edges).toHaveLength(2)
      expect(node.files).toEqual([expect.objectContaining({ fileSizeBytes: 5_000_000_000 })])
      expect(node.config?.id ?? null).toBe(seed.config_id)
      expect(node.createdBy).toEqual(seed.created_by ? { id: seed.created_by } : null)
    }
    const withStats = fifty.res.data.importJobs.edges.find((e: any) => e.node.statistics)
    expect(withStats.node.statistics).toEqual({
      bytesProcessed: 9007199254740991,
      rowsPerSecond: '123.45',
      errorsByCode: { INVALID_EAN: 1 },
    })
    // jobs page, configs, logs page, logs counts, errors page, files, statistics.
    expect(five.used).toBe(7)
    expect(fifty.used).toBe(five.used)
  })

  it('orders a job’s errors by row number, file-level errors last', async () => {
    const res = await sg.request(
      `{ importJob(id: "${jobs[0]!.id}") { errors { totalCount edges { node { rowNumber errorCode severity } } } } }`,
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.importJob.errors).toEqual({
      totalCount: 3,
      edges: [
        { node: { rowNumber: 2, errorCode: 'MISSING_PRICE', severity: 'WARNING' } },
        { node: { rowNumber: 7, errorCode: 'INVALID_EAN', severity: 'ERROR' } },
        { node: { rowNumber: null, errorCode: 'ENCODING', severity: 'ERROR' } },
      ],
    })
  })
})

describe('imports subgraph: logs across monthly partitions', () => {
  const logJob = randomUUID()
  const logs = [
    { level: 'info', at: thisMonth(10, 0) },
    { level: 'error', at: thisMonth(10, 1) },
    { level: 'error', at: thisMonth(10, 1) }, // same instant as the previous one: a tie broken by id
    { level: 'warning', at: thisMonth(12, 0) },
    { level: 'error', at: nextMonth(3, 0) },
    { level: 'debug', at: nextMonth(4, 0) },
    { level: 'error', at: twoYearsAhead },
  ]

  beforeAll(async () => {
    const db = sg.database.db
    await db
      .insertInto('import_jobs')
      .values({
        id: logJob,
        supplier_code: 'SUP-LOG',
        import_type: 'csv',
        created_at: new Date('2020-01-01T00:00:00Z'),
      })
      .execute()
    await db
      .insertInto('import_logs')
      .values(
        logs.map((l, i) => ({ job_id: logJob, log_level: l.level, message: `line ${i}`, created_at: l.at })),
      )
      .execute()
  })

  it('stores the logs in this month’s, next month’s and the default partition', async () => {
    const { rows } = await sql<{ partition: string; n: string }>`
      SELECT tableoid::regclass::text AS partition, count(*) AS n FROM import_logs
      WHERE job_id = ${logJob} GROUP BY 1 ORDER BY 1`.execute(sg.database.db)
    expect(Object.fromEntries(rows.map((r) => [r.partition, Number(r.n)]))).toEqual({
      [partitionName(thisMonth(1, 0))]: 4,
      [partitionName(nextMonth(1, 0))]: 2,
      import_logs_default: 1,
    })
  })

  it('filters by level and pages newest first across partitions', async () => {
    const seen: string[] = []
    let after: string | null = null
    for (let page = 0; page < 10; page++) {
      const res: any = await sg.request(
        `query($after: String) { importJob(id: "${logJob}") { logs(level: ERROR, first: 1, after: $after) {
          totalCount edges { node { message logLevel createdAt } } pageInfo { hasNextPage endCursor } } } }`,
        { after },
      )
      expect(res.errors).toBeUndefined()
      expect(res.data.importJob.logs.totalCount).toBe(4)
      seen.push(...res.data.importJob.logs.edges.map((e: any) => e.node.message))
      for (const e of res.data.importJob.logs.edges) expect(e.node.logLevel).toBe('ERROR')
      if (!res.data.importJob.logs.pageInfo.hasNextPage) break
      after = res.data.importJob.logs.pageInfo.endCursor
    }
    // Ties (line 1 and line 2) break on id DESC: the later insert first.
    expect(seen).toEqual(['line 6', 'line 4', 'line 2', 'line 1'])

    const all = await sg.request(
      `{ importJob(id: "${logJob}") { logs { totalCount edges { node { message } } } } }`,
    )
    expect(all.data.importJob.logs.totalCount).toBe(7)
    expect(all.data.importJob.logs.edges.map((e: any) => e.node.message)).toEqual([
      'line 6',
      'line 5',
      'line 4',
      'line 3',
      'line 2',
      'line 1',
      'line 0',
    ])
  })

  it('rejects a level that is not an ImportLogLevel', async () => {
    const res = await sg.request(`{ importJob(id: "${logJob}") { logs(level: FATAL) { totalCount } } }`)
    expect(res.errors?.[0]).toMatchObject({
      message: 'Value "FATAL" does not exist in "ImportLogLevel" enum.',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    })
  })

  it('creates the coming month’s partition on start and logs how many it created', async () => {
    const future = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
    const name = partitionName(future)
    // Drop next month's partition (and its two rows), then let onStart bring it back.
    await sql`ALTER TABLE import_logs DETACH PARTITION ${sql.table(name)}`.execute(sg.database.db)
    await sql`DROP TABLE ${sql.table(name)}`.execute(sg.database.db)
    const messages: Array<{ msg: string; fields?: Record<string, unknown> }> = []
    const logger: Logger = {
      debug: () => {},
      info: (msg, fields) => messages.push({ msg, fields }),
      warn: () => {},
      error: () => {},
      child: () => logger,
    }
    await subgraph.onStart!(sg.database.db, logger)
    expect(messages).toEqual([
      { msg: 'import_logs partitions ensured', fields: { monthsAhead: 1, created: 1 } },
    ])
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM pg_inherits WHERE inhrelid = ${name}::regclass`.execute(sg.database.db)
    expect(Number(rows[0]!.n)).toBe(1)
    // Idempotent: a second start creates nothing.
    await subgraph.onStart!(sg.database.db, logger)
    expect(messages[1]?.fields).toEqual({ monthsAhead: 1, created: 0 })
  })
})

describe('imports subgraph: configurations, schedules, templates', () => {
  it('masks secret-looking keys of connectionConfig at any depth', async () => {
    const res = await sg.request(`{ importConfig(id: "${configA}") { connectionConfig fieldMapping } }`)
    expect(res.errors).toBeUndefined()
    expect(res.data.importConfig).toEqual({
      connectionConfig: {
        protocol: 'sftp',
        host: 'ftp.example.com',
        username: 'sup-a',
        Password: '***',
        nested: { apiKey: '***', list: [{ access_token: '***', port: 22 }], clientCredentials: '***' },
        privateKeyPath: null,
      },
      fieldMapping: { EAN: 'ean', Prix: 'price' },
    })
  })

  it('filters configurations and lists their schedules and jobs', async () => {
    const res = await sg.request(`{
      active: importConfigs(filter: { supplierCode: "SUP-A", isActive: true }) {
        totalCount edges { node { id schedules { cronExpression nextRun } jobs(status: RUNNING, first: 2) { totalCount } } }
      }
      all: importConfigs { totalCount edges { node { configName } } }
    }`)
    expect(res.errors).toBeUndefined()
    expect(res.data.active).toEqual({
      totalCount: 1,
      edges: [
        {
          node: {
            id: configA,
            schedules: [
              { cronExpression: '0 3 * * *', nextRun: '2026-12-01T03:00:00.000Z' },
              { cronExpression: '0 4 * * 1', nextRun: null },
            ],
            jobs: {
              totalCount: jobs.filter((j) => j.config_id === configA && j.status === 'running').length,
            },
          },
        },
      ],
    })
    expect(res.data.all.edges.map((e: any) => e.node.configName)).toEqual([
      'A old email',
      'B API',
      'A nightly FTP',
    ])
  })

  it('lists schedules next run first and mapping templates by supplier', async () => {
    const res = await sg.request(`{
      importSchedules { totalCount edges { node { cronExpression config { configName } } } }
      active: importSchedules(filter: { isActive: false }) { edges { node { cronExpression } } }
      mine: mappingTemplates(supplierCode: "SUP-A") { edges { node { name isDefault fieldMapping } } }
      all: mappingTemplates { totalCount }
    }`)
    expect(res.errors).toBeUndefined()
    expect(
      res.data.importSchedules.edges.map((e: any) => [e.node.cronExpression, e.node.config.configName]),
    ).toEqual([
      ['*/15 * * * *', 'B API'],
      ['0 3 * * *', 'A nightly FTP'],
      ['0 4 * * 1', 'A nightly FTP'],
    ])
    expect(res.data.active.edges).toEqual([{ node: { cronExpression: '0 4 * * 1' } }])
    expect(res.data.mine.edges).toEqual([
      { node: { name: 'A default', isDefault: true, fieldMapping: { EAN: 'ean' } } },
    ])
    expect(res.data.all.totalCount).toBe(2)
  })
})
