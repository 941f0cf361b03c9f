import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Domain } from '@pm/db'
import { checkIntegrity } from '@pm/operations'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

type Domains = Domain
const DOMAINS: Domains[] = ['core', 'catalog', 'imports', 'media', 'code2asin', 'exports', 'analytics']
let stack: TestStack<Domains>
let storageDir: string

/** Polls until the condition holds (no time assertion: the test's own timeout bounds it). */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, pauseMs = 150): Promise<T> {
  for (;;) {
    const value = await read()
    if (done(value)) return value
    await new Promise((r) => setTimeout(r, pauseMs))
  }
}

async function ok<T = any>(query: string, variables: Record<string, unknown> = {}) {
  const response = await stack.request<T>(query, variables)
  expect(response.errors).toBeUndefined()
  return response.data as T
}

const RUN = `query($id: UUID!) { operationRun(id: $id) { id kind domain table status progress result error source finishedAt } }`

async function finished(id: string) {
  return waitFor(
    async () => (await ok<{ operationRun: any }>(RUN, { id })).operationRun,
    (run) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(run.status),
  )
}

beforeAll(async () => {
  storageDir = mkdtempSync(join(tmpdir(), 'pm-ops-e2e-'))
  stack = await startTestStack({ only: DOMAINS })
  // The operations worker reaches every database of the stack directly.
  const env: Record<string, string> = { STORAGE_DIR: storageDir }
  for (const d of DOMAINS) env[`DB_${d.toUpperCase()}_URL`] = stack.subgraphs[d].testDatabase.url
  await stack.startWorker('core', { env })
}, 180_000)

afterAll(async () => {
  await stack?.stop()
  rmSync(storageDir, { recursive: true, force: true })
})

describe('operations through the gateway', () => {
  it('a product delete reaches media, code2asin, exports and analytics; the integrity check then finds no orphan', async () => {
    const created = await ok<{ createProduct: { id: string } }>(
      `mutation { createProduct(input: { title: "To delete" }) { id } }`,
    )
    const productId = created.createProduct.id
    const other = randomUUID()
    const { media, code2asin, exports, analytics } = stack.subgraphs
    await media.database.db
      .insertInto('media_files')
      .values([
        { file_name: 'a.jpg', product_id: productId },
        { file_name: 'kept.jpg', product_id: null },
      ])
      .execute()
    const job = await code2asin.database.db
      .insertInto('code2asin_jobs')
      .values({ supplier_code: 'SUP' })
      .returning('id')
      .executeTakeFirstOrThrow()
    await code2asin.database.db
      .insertInto('code2asin_results')
      .values({ job_id: job.id, product_id: productId })
      .execute()
    await exports.database.db.insertInto('export_job_items').values({ product_id: productId }).execute()
    await analytics.database.db
      .insertInto('product_metrics')
      .values({ product_id: productId, date: '2026-01-01' })
      .execute()

    await ok(`mutation($id: UUID!) { deleteProduct(id: $id) }`, { id: productId })

    const count = async (d: Domain, table: string) => {
      const sg = stack.subgraphs[d as Domains]
      const { rows } = await sql<{
        n: number
      }>`SELECT count(*)::int AS n FROM ${sql.table(table)} WHERE product_id = ${productId}`.execute(
        sg.database.db,
      )
      return rows[0]!.n
    }
    await waitFor(
      async () =>
        (await count('media', 'media_files')) +
        (await count('code2asin', 'code2asin_results')) +
        (await count('exports', 'export_job_items')) +
        (await count('analytics', 'product_metrics')),
      (n) => n === 0,
    )
    // A row left behind by something else (no event): the check finds it.
    await media.database.db
      .insertInto('media_files')
      .values({ file_name: 'stray.jpg', product_id: other })
      .execute()

    const queued = await ok<{ runIntegrityCheck: { id: string; status: string } }>(
      `mutation { runIntegrityCheck { id status } }`,
    )
    expect(queued.runIntegrityCheck.status).toBe('PENDING')
    const run = await finished(queued.runIntegrityCheck.id)
    expect(run).toMatchObject({ status: 'COMPLETED', progress: 100, source: 'API' })

    const { integrityReport } = await ok<{ integrityReport: any }>(
      `{ integrityReport { runId orphans references { reference policy checked orphans samples { key value } } } }`,
    )
    expect(integrityReport.runId).toBe(run.id)
    const byName = Object.fromEntries(integrityReport.references.map((r: any) => [r.reference, r]))
    expect(byName['code2asin.code2asin_results.product_id']).toMatchObject({ orphans: 0, policy: 'DELETE' })
    expect(byName['exports.export_job_items.product_id'].orphans).toBe(0)
    expect(byName['analytics.product_metrics.product_id'].orphans).toBe(0)
    expect(byName['media.media_files.product_id']).toMatchObject({ checked: 1, orphans: 1 })
    expect(byName['media.media_files.product_id'].samples[0].value).toBe(other)
  })

  it('lists the rows an integrity fix flagged (keep and flag), page by page, by reference', async () => {
    const reference = 'code2asin.code2asin_jobs.supplier_code'
    const jobs = await stack.subgraphs.code2asin.database.db
      .insertInto('code2asin_jobs')
      .values([{ supplier_code: 'NO-SUCH-1' }, { supplier_code: 'NO-SUCH-2' }])
      .returning('id')
      .execute()
    const urls = Object.fromEntries(DOMAINS.map((d) => [d, stack.subgraphs[d].testDatabase.url])) as Record<
      Domain,
      string
    >
    const fixed = await checkIntegrity(urls, { fix: true, only: [reference] })
    // These two, and any job of an unknown supplier an earlier test left.
    const flagged = fixed.references[0]!.flagged
    expect(fixed.references[0]).toMatchObject({ orphans: flagged, fixed: 0 })
    expect(flagged).toBeGreaterThanOrEqual(2)

    const LIST = `query($reference: String, $after: String) {
      flaggedReferences(reference: $reference, first: 1, after: $after) {
        totalCount edges { cursor node { id reference key value flaggedAt lastSeenAt } } pageInfo { hasNextPage endCursor }
      } }`
    // Page by page (one each): every flag once.
    const listed: any[] = []
    let after: string | null = null
    for (;;) {
      const page: any = (await ok<{ flaggedReferences: any }>(LIST, { reference, after })).flaggedReferences
      expect(page.totalCount).toBe(flagged)
      listed.push(...page.edges.map((e: any) => e.node))
      if (!page.pageInfo.hasNextPage) break
      after = page.pageInfo.endCursor
    }
    expect(listed).toHaveLength(flagged)
    expect(new Set(listed.map((n) => n.id)).size).toBe(flagged)
    expect(listed.every((n) => n.reference === reference)).toBe(true)
    const byKey = new Map(listed.map((n) => [n.key, n.value]))
    expect(byKey.get(jobs[0]!.id)).toBe('NO-SUCH-1')
    expect(byKey.get(jobs[1]!.id)).toBe('NO-SUCH-2')

    const bad = await stack.request(
      `{ flaggedReferences(reference: "media.media_files.product_id") { totalCount } }`,
    )
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(bad.errors?.[0]?.message).toMatch(/not a KEEP_AND_FLAG reference/)
  })

  it('health report and maintenance run as jobs, their outcome recorded', async () => {
    const refreshed = await ok<{ refreshDatabaseHealth: { id: string } }>(
      `mutation { refreshDatabaseHealth(domain: MEDIA) { id } }`,
    )
    expect((await finished(refreshed.refreshDatabaseHealth.id)).status).toBe('COMPLETED')
    const { databaseHealth } = await ok<{ databaseHealth: any[] }>(
      `{ databaseHealth(domain: MEDIA) { domain statementsAvailable statementsNote cacheHitRatio
          tables { table totalBytes rowEstimate deadTuples seqScans indexScans lastVacuum }
          unusedIndexes { index } duplicateIndexes { indexes } indexSuggestions { table column explain } } }`,
    )
    expect(databaseHealth).toHaveLength(1)
    expect(databaseHealth[0].domain).toBe('MEDIA')
    expect(databaseHealth[0].tables.map((t: any) => t.table)).toContain('media_files')
    expect(databaseHealth[0].statementsAvailable ? null : databaseHealth[0].statementsNote).not.toBe('')

    const vacuum = await ok<{ runDatabaseMaintenance: { id: string; kind: string; table: string } }>(
      `mutation { runDatabaseMaintenance(action: VACUUM, domain: MEDIA, table: "media_files") { id kind table } }`,
    )
    expect(vacuum.runDatabaseMaintenance).toMatchObject({ kind: 'VACUUM', table: 'media_files' })
    const done = await finished(vacuum.runDatabaseMaintenance.id)
    expect(done.status).toBe('COMPLETED')
    expect(done.result.domains.media).toMatchObject({ action: 'vacuum', table: 'media_files' })

    const bad = await ok<{ runDatabaseMaintenance: { id: string } }>(
      `mutation { runDatabaseMaintenance(action: ANALYZE, domain: MEDIA, table: "no_such_table") { id } }`,
    )
    const failed = await finished(bad.runDatabaseMaintenance.id)
    expect(failed).toMatchObject({ status: 'FAILED' })
    expect(failed.error).toMatch(/no table "no_such_table"/)
  })

  it('a database connection killed during a run fails that run clearly; the worker goes on with the next', async () => {
    const media = stack.subgraphs.media.database.db
    const kill = () =>
      sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE application_name = 'pm-integrity' AND datname = current_database()`
        .execute(media)
        .catch(() => {})
    let failed: any
    // Until a run is caught mid-way (the kill loop races each run's connections to db_media).
    while (!failed) {
      const queued = await ok<{ runIntegrityCheck: { id: string } }>(`mutation { runIntegrityCheck { id } }`)
      let done = false
      const killing = (async () => {
        while (!done) {
          await kill()
          await new Promise((r) => setTimeout(r, 5))
        }
      })()
      const run = await finished(queued.runIntegrityCheck.id)
      done = true
      await killing
      if (run.status === 'FAILED') failed = run
      else expect(run.status).toBe('COMPLETED')
    }
    expect(failed.error).toMatch(
      /media: the database connection was lost .*run it again|media database .* is unreachable/,
    )
    expect(failed.error).not.toMatch(/postgres:\/\/|password|at .*\.ts:/)
    // The worker is still there: the next run completes.
    const again = await ok<{ runIntegrityCheck: { id: string } }>(`mutation { runIntegrityCheck { id } }`)
    expect((await finished(again.runIntegrityCheck.id)).status).toBe('COMPLETED')
  })

  it('is for administrators only', async () => {
    const token = stack.tokenFor({ userId: randomUUID(), permissions: ['settings:read', 'product:read'] })
    const response = await stack.request(
      `{ databaseHealth { domain } }`,
      {},
      { authorization: `Bearer ${token}` },
    )
    expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    const mutation = await stack.request(
      `mutation { runIntegrityCheck { id } }`,
      {},
      { authorization: `Bearer ${token}` },
    )
    expect(mutation.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
  })
})
