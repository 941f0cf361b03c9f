import { randomUUID } from 'node:crypto'
import { createLogger, startSubgraph } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subgraph as catalogSubgraph } from '../../subgraphs/catalog/src/module'

type Domains = 'catalog' | 'exports' | 'analytics'
let stack: TestStack<Domains>

const PLATFORM_FIELDS = 'id name platformType isActive config fieldMappings'
const CREATE_PLATFORM = `mutation($input: CreateExportPlatformInput!) {
  createExportPlatform(input: $input) { ${PLATFORM_FIELDS} }
}`
const UPDATE_PLATFORM = `mutation($id: UUID!, $input: UpdateExportPlatformInput!) {
  updateExportPlatform(id: $id, input: $input) { ${PLATFORM_FIELDS} }
}`
const DEACTIVATE_PLATFORM = `mutation($id: UUID!) { deactivateExportPlatform(id: $id) { ${PLATFORM_FIELDS} } }`

const JOB_FIELDS = 'id platformId jobType status totalItems successItems failedItems startedAt completedAt'
const CREATE_JOB = `mutation($input: CreateExportJobInput!) {
  createExportJob(input: $input) { skippedProductIds job { ${JOB_FIELDS} } }
}`
const SET_STATUS = `mutation($id: UUID!, $status: ExportJobStatus!) { setExportJobStatus(id: $id, status: $status) { ${JOB_FIELDS} } }`
const RECORD = `mutation($itemId: UUID!, $status: ExportItemStatus!, $errorMessage: String, $responseData: JSON) {
  recordExportItemResult(itemId: $itemId, status: $status, errorMessage: $errorMessage, responseData: $responseData) {
    id status errorMessage responseData processedAt job { ${JOB_FIELDS} }
  }
}`

/** Enough products for a job that takes three questions to catalog. */
const PRODUCT_COUNT = 2_500
const productIds = Array.from({ length: PRODUCT_COUNT }, () => randomUUID())

const db = () => stack.subgraphs.exports.database.db

const shopify = (name = `Shop ${randomUUID().slice(0, 8)}`) => ({
  name,
  platformType: 'SHOPIFY',
  config: { shop_domain: 'demo.myshopify.com', api_version: '2024-10', api_key: 'k-123', password: 'p-456' },
  fieldMappings: {
    fields: [
      { source: 'title', target: 'title' },
      { source: 'price', target: 'variants.0.price' },
    ],
  },
})

function errorOf(res: { errors?: { extensions?: Record<string, unknown> }[] }) {
  expect(res.errors, 'an error was expected').toBeDefined()
  return res.errors![0]!.extensions
}

async function createPlatform(input: Record<string, unknown> = shopify()) {
  const res = await stack.request(CREATE_PLATFORM, { input })
  expect(res.errors).toBeUndefined()
  return res.data.createExportPlatform
}

async function createJob(ids: string[], platformId?: string) {
  const platform = platformId ?? (await createPlatform()).id
  const res = await stack.request(CREATE_JOB, {
    input: { platformId: platform, jobType: 'FULL_SYNC', productIds: ids },
  })
  expect(res.errors).toBeUndefined()
  return res.data.createExportJob.job
}

async function itemsOf(jobId: string) {
  return db().selectFrom('export_job_items').selectAll().where('job_id', '=', jobId).orderBy('id').execute()
}

async function counts() {
  const one = async (table: 'export_jobs' | 'export_job_items') =>
    Number((await db().selectFrom(table).select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n)
  return { jobs: await one('export_jobs'), items: await one('export_job_items') }
}

async function auditRows(entityId: string) {
  await stack.subgraphs.exports.server.auditRelay.flush()
  return stack.subgraphs.analytics.database.db
    .selectFrom('audit_logs')
    .select(['action', 'entity_type', 'entity_id', 'changes'])
    .where('entity_id', '=', entityId)
    .execute()
}

beforeAll(async () => {
  stack = await startTestStack({ only: ['catalog', 'exports', 'analytics'] })
  await stack.subgraphs.catalog.database.db
    .insertInto('products')
    .values(productIds.map((id, i) => ({ id, title: `Product ${i}`, sku: `SKU-${i}` })))
    .execute()
})
afterAll(() => stack?.stop())

describe('export platforms', () => {
  it('creates a platform with its secrets masked in reads and kept in the database', async () => {
    const platform = await createPlatform(shopify('Boutique Shopify'))
    expect(platform).toMatchObject({
      name: 'Boutique Shopify',
      platformType: 'SHOPIFY',
      isActive: true,
      config: { shop_domain: 'demo.myshopify.com', api_key: '***', password: '***' },
      fieldMappings: {
        fields: [
          { source: 'title', target: 'title' },
          { source: 'price', target: 'variants.0.price' },
        ],
      },
    })
    const stored = await db()
      .selectFrom('export_platforms')
      .select('config')
      .where('id', '=', platform.id)
      .executeTakeFirstOrThrow()
    expect(stored.config).toMatchObject({ api_key: 'k-123', password: 'p-456' })
    const audit = await auditRows(platform.id)
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ action: 'create', entity_type: 'export_platform' })
    expect((audit[0]!.changes as any).after.config.password).toBe('***')
  })

  it.each([
    ['an empty config', { config: {} }, 'input.config'],
    ['a config that is not an object', { config: ['x'] }, 'input.config'],
    ['fieldMappings that are not an object', { fieldMappings: 'title' }, 'input.fieldMappings'],
    [
      'a mapping naming a field that does not exist',
      { fieldMappings: { fields: [{ source: 'variants[0].price', target: 'price' }] } },
      'input.fieldMappings.fields[0].source',
    ],
    ['the masked placeholder as a secret', { config: { api_key: '***' } }, 'input.config.api_key'],
    ['a name too long', { name: 'n'.repeat(256) }, 'input.name'],
    ['an empty name', { name: '  ' }, 'input.name'],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_, overrides, field) => {
    const res = await stack.request(CREATE_PLATFORM, { input: { ...shopify(), ...overrides } })
    expect(errorOf(res)).toMatchObject({ code: 'BAD_USER_INPUT', field })
  })

  it('refuses a platform type outside ExportPlatformType before any resolver runs', async () => {
    const res = await stack.request(CREATE_PLATFORM, { input: { ...shopify(), platformType: 'ebay' } })
    expect(errorOf(res)).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(res.errors![0]!.message).toMatch(/"ebay" does not exist in "ExportPlatformType" enum/)
  })

  it('keeps names unique (CONFLICT), updates partially and deactivates', async () => {
    await createPlatform(shopify('Taken name'))
    const dup = await stack.request(CREATE_PLATFORM, { input: shopify('Taken name') })
    expect(errorOf(dup)).toMatchObject({ code: 'CONFLICT', field: 'input.name' })

    const platform = await createPlatform()
    const rename = await stack.request(UPDATE_PLATFORM, { id: platform.id, input: { name: 'Taken name' } })
    expect(errorOf(rename)).toMatchObject({ code: 'CONFLICT', field: 'input.name' })

    const res = await stack.request(UPDATE_PLATFORM, {
      id: platform.id,
      input: {
        config: { ...platform.config, api_version: '2025-01' },
        fieldMappings: null,
        platformType: 'CSV',
      },
    })
    expect(res.errors).toBeUndefined()
    expect(res.data.updateExportPlatform).toMatchObject({
      name: platform.name,
      platformType: 'CSV',
      fieldMappings: null,
      config: { api_version: '2025-01', password: '***' },
    })
    const stored = await db()
      .selectFrom('export_platforms')
      .select('config')
      .where('id', '=', platform.id)
      .executeTakeFirstOrThrow()
    expect(stored.config).toMatchObject({ api_version: '2025-01', api_key: 'k-123', password: 'p-456' })

    const nothing = await stack.request(UPDATE_PLATFORM, { id: platform.id, input: {} })
    expect(errorOf(nothing)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input' })
    const nullConfig = await stack.request(UPDATE_PLATFORM, { id: platform.id, input: { config: null } })
    expect(errorOf(nullConfig)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.config' })
    const missing = await stack.request(UPDATE_PLATFORM, { id: randomUUID(), input: { name: 'x' } })
    expect(errorOf(missing)).toMatchObject({ code: 'NOT_FOUND', field: 'id' })

    const off = await stack.request(DEACTIVATE_PLATFORM, { id: platform.id })
    expect(off.data.deactivateExportPlatform.isActive).toBe(false)
    const job = await stack.request(CREATE_JOB, {
      input: { platformId: platform.id, jobType: 'FULL_SYNC', productIds: productIds.slice(0, 1) },
    })
    expect(errorOf(job)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.platformId' })
    const actions = (await auditRows(platform.id)).map((r) => r.action).sort()
    expect(actions).toEqual(['create', 'deactivate', 'update'])
    const gone = await stack.request(DEACTIVATE_PLATFORM, { id: randomUUID() })
    expect(errorOf(gone)).toMatchObject({ code: 'NOT_FOUND', field: 'id' })
  })
})

describe('export jobs', () => {
  it('creates a job with one item per distinct product, checked against catalog in chunks', async () => {
    const platform = await createPlatform()
    const ids = [...productIds, ...productIds.slice(0, 100).map((id) => id.toUpperCase())]
    const res = await stack.request(CREATE_JOB, {
      input: { platformId: platform.id, jobType: 'PRICE_UPDATE', productIds: ids },
    })
    expect(res.errors).toBeUndefined()
    const { job, skippedProductIds } = res.data.createExportJob
    expect(skippedProductIds).toEqual([])
    expect(job).toMatchObject({
      platformId: platform.id,
      jobType: 'PRICE_UPDATE',
      status: 'PENDING',
      totalItems: PRODUCT_COUNT,
      successItems: 0,
      failedItems: 0,
    })
    const items = await itemsOf(job.id)
    expect(items).toHaveLength(PRODUCT_COUNT)
    expect(new Set(items.map((i) => i.product_id))).toEqual(new Set(productIds))
    expect(items.every((i) => i.status === 'pending')).toBe(true)

    const read = await stack.request(
      `query($id: UUID!) { exportJob(id: $id) { items(first: 1) { totalCount } } }`,
      {
        id: job.id,
      },
    )
    expect(read.data.exportJob.items.totalCount).toBe(PRODUCT_COUNT)
    const audit = await auditRows(job.id)
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ action: 'create', entity_type: 'export_job' })
    expect((audit[0]!.changes as any).itemCount).toBe(PRODUCT_COUNT)
  })

  it('refuses unknown product ids, listing up to ten, or skips them when asked', async () => {
    const platform = await createPlatform()
    const unknown = Array.from({ length: 12 }, () => randomUUID())
    const before = await counts()
    const res = await stack.request(CREATE_JOB, {
      input: { platformId: platform.id, jobType: 'FULL_SYNC', productIds: [productIds[0], ...unknown] },
    })
    const ext = errorOf(res)!
    expect(ext).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.productIds', unknownCount: 12 })
    expect(ext.unknownProductIds).toEqual(unknown.slice(0, 10))
    expect(res.errors![0]!.message).toContain(unknown[0])
    expect(await counts()).toEqual(before)

    const skipping = await stack.request(CREATE_JOB, {
      input: {
        platformId: platform.id,
        jobType: 'STOCK_UPDATE',
        productIds: [productIds[0], unknown[0], productIds[1]],
        skipUnknownProducts: true,
      },
    })
    expect(skipping.errors).toBeUndefined()
    expect(skipping.data.createExportJob.skippedProductIds).toEqual([unknown[0]])
    expect(skipping.data.createExportJob.job.totalItems).toBe(2)

    const none = await stack.request(CREATE_JOB, {
      input: {
        platformId: platform.id,
        jobType: 'FULL_SYNC',
        productIds: unknown,
        skipUnknownProducts: true,
      },
    })
    expect(errorOf(none)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.productIds' })
    const empty = await stack.request(CREATE_JOB, {
      input: { platformId: platform.id, jobType: 'FULL_SYNC', productIds: [] },
    })
    expect(errorOf(empty)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.productIds' })
    const tooMany = await stack.request(CREATE_JOB, {
      input: {
        platformId: platform.id,
        jobType: 'FULL_SYNC',
        productIds: Array.from({ length: 10_001 }, randomUUID),
      },
    })
    expect(errorOf(tooMany)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.productIds' })
    const badType = await stack.request(CREATE_JOB, {
      input: { platformId: platform.id, jobType: 'everything', productIds: productIds.slice(0, 1) },
    })
    expect(errorOf(badType)).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(badType.errors![0]!.message).toMatch(/"everything" does not exist in "ExportJobType" enum/)
    const noPlatform = await stack.request(CREATE_JOB, {
      input: { platformId: randomUUID(), jobType: 'FULL_SYNC', productIds: productIds.slice(0, 1) },
    })
    expect(errorOf(noPlatform)).toMatchObject({ code: 'NOT_FOUND', field: 'input.platformId' })
  })

  it('moves pending → running → … and refuses illegal moves naming the status', async () => {
    const job = await createJob(productIds.slice(0, 2))
    const early = await stack.request(SET_STATUS, { id: job.id, status: 'COMPLETED' })
    expect(errorOf(early)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'status', status: 'pending' })
    const running = await stack.request(SET_STATUS, { id: job.id, status: 'RUNNING' })
    expect(running.data.setExportJobStatus.status).toBe('RUNNING')
    expect(running.data.setExportJobStatus.startedAt).not.toBeNull()
    const back = await stack.request(SET_STATUS, { id: job.id, status: 'PENDING' })
    expect(errorOf(back)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'status', status: 'running' })
    const pendingItems = await stack.request(SET_STATUS, { id: job.id, status: 'COMPLETED' })
    expect(errorOf(pendingItems)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'status' })
    expect(pendingItems.errors![0]!.message).toMatch(/2 item\(s\) are still pending/)
    const cancelled = await stack.request(SET_STATUS, { id: job.id, status: 'CANCELLED' })
    expect(cancelled.data.setExportJobStatus).toMatchObject({ status: 'CANCELLED' })
    expect(cancelled.data.setExportJobStatus.completedAt).not.toBeNull()
    const reopen = await stack.request(SET_STATUS, { id: job.id, status: 'RUNNING' })
    expect(errorOf(reopen)).toMatchObject({ code: 'BAD_USER_INPUT', status: 'cancelled' })
    const missing = await stack.request(SET_STATUS, { id: randomUUID(), status: 'RUNNING' })
    expect(errorOf(missing)).toMatchObject({ code: 'NOT_FOUND', field: 'id' })
    const unknownStatus = await stack.request(SET_STATUS, { id: job.id, status: 'paused' })
    expect(errorOf(unknownStatus)).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(unknownStatus.errors![0]!.message).toMatch(/"paused" does not exist in "ExportJobStatus" enum/)
  })

  it('records item results, counts them atomically and completes the job with its last item', async () => {
    const job = await createJob(productIds.slice(0, 20))
    const items = await itemsOf(job.id)
    const notRunning = await stack.request(RECORD, { itemId: items[0]!.id, status: 'SUCCESS' })
    expect(errorOf(notRunning)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'itemId', status: 'pending' })
    await stack.request(SET_STATUS, { id: job.id, status: 'RUNNING' })

    const first = await stack.request(RECORD, {
      itemId: items[0]!.id,
      status: 'FAILED',
      errorMessage: 'HTTP 422: barcode invalid',
      responseData: { errors: ['barcode'] },
    })
    expect(first.errors).toBeUndefined()
    expect(first.data.recordExportItemResult).toMatchObject({
      status: 'FAILED',
      errorMessage: 'HTTP 422: barcode invalid',
      responseData: { errors: ['barcode'] },
      job: { failedItems: 1, successItems: 0, status: 'RUNNING' },
    })
    expect(first.data.recordExportItemResult.processedAt).not.toBeNull()
    // The same result again is a retry: nothing is counted twice; another result is refused.
    const retry = await stack.request(RECORD, {
      itemId: items[0]!.id,
      status: 'FAILED',
      errorMessage: 'again',
    })
    expect(retry.data.recordExportItemResult.job.failedItems).toBe(1)
    const flip = await stack.request(RECORD, { itemId: items[0]!.id, status: 'SUCCESS' })
    expect(errorOf(flip)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'status', status: 'failed' })
    const stray = await stack.request(RECORD, { itemId: items[1]!.id, status: 'SUCCESS', errorMessage: 'x' })
    expect(errorOf(stray)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'errorMessage' })
    const badStatus = await stack.request(RECORD, { itemId: items[1]!.id, status: 'skipped' })
    expect(errorOf(badStatus)).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(badStatus.errors![0]!.message).toMatch(/"skipped" does not exist in "ExportItemStatus" enum/)
    const missing = await stack.request(RECORD, { itemId: randomUUID(), status: 'SUCCESS' })
    expect(errorOf(missing)).toMatchObject({ code: 'NOT_FOUND', field: 'itemId' })

    // The other 19 in parallel: exact counters, and the job completes once.
    const results = await Promise.all(
      items
        .slice(1)
        .map((item, i) =>
          stack.request(RECORD, { itemId: item.id, status: i % 6 === 0 ? 'FAILED' : 'SUCCESS' }),
        ),
    )
    for (const r of results) expect(r.errors).toBeUndefined()
    const done = await stack.request(`query($id: UUID!) { exportJob(id: $id) { ${JOB_FIELDS} } }`, {
      id: job.id,
    })
    expect(done.data.exportJob).toMatchObject({
      status: 'COMPLETED',
      successItems: 15,
      failedItems: 5,
      totalItems: 20,
    })
    expect(done.data.exportJob.completedAt).not.toBeNull()
    const jobAudit = (await auditRows(job.id)).map((r) => (r.changes as any).after?.status)
    expect(jobAudit.filter((s) => s === 'completed')).toHaveLength(1)
    const afterDone = await stack.request(SET_STATUS, { id: job.id, status: 'FAILED' })
    expect(errorOf(afterDone)).toMatchObject({ code: 'BAD_USER_INPUT', status: 'completed' })
  })
})

describe('with catalog down', () => {
  it('answers SERVICE_UNAVAILABLE for createExportJob and writes nothing', async () => {
    const platform = await createPlatform()
    const catalog = stack.subgraphs.catalog
    const port = catalog.server.http.port
    await catalog.server.stop()
    try {
      await stack.subgraphs.exports.server.auditRelay.flush()
      const before = await counts()
      const res = await stack.request(CREATE_JOB, {
        input: { platformId: platform.id, jobType: 'FULL_SYNC', productIds: productIds.slice(0, 5) },
      })
      expect(errorOf(res)).toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
      expect(await counts()).toEqual(before)
      expect(await stack.subgraphs.exports.server.auditRelay.pending()).toBe(0)
    } finally {
      catalog.server = await startSubgraph(catalogSubgraph, {
        database: catalog.database,
        port,
        logger: createLogger({ service: 'catalog-again' }, 'error'),
        peers: {},
        signingSecret: stack.secrets.signing,
      })
    }
    await createJob(productIds.slice(0, 5), platform.id)
  })
})
