import { randomUUID } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { JobInterruptedError, type RunningWorker } from '@pm/jobs'
import { createLogger, signedPeers } from '@pm/service-kit'
import { createStorage, loadStorageConfig, type Storage } from '@pm/storage'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import ExcelJS from 'exceljs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSftpServer, type TestSftpServer } from '../../../packages/connectors/test/sftp-server'
import { exportEngine } from '../src/jobs'
import { runExportJob } from '../src/run/export-job'

type Domains = 'core' | 'catalog' | 'exports' | 'media' | 'code2asin'
let stack: TestStack<Domains>
let worker: RunningWorker | undefined
const dirs: string[] = []
let shop: Server
let shopUrl = ''
let sftp: TestSftpServer
let sftpRoot = ''
const userId = randomUUID()
let token = ''
let supplierId = ''
let otherSupplierId = ''
const PRODUCTS = 230

/** What the loopback WooCommerce saw, holds and how it answers. */
const woo = {
  batches: [] as { auth: string; create: Record<string, unknown>[]; update: Record<string, unknown>[] }[],
  /** The shop's products: like WooCommerce, a SKU is unique (a second create of it is refused). */
  store: [] as { id: number; sku: string; name?: unknown }[],
  /** SKUs asked for with GET products?sku=. */
  lookups: [] as string[][],
  mode: 'ok' as 'ok' | 'fail-all',
  throttleOnce: false,
  /** Runs once a batch is applied, before it is answered (the next batch only). */
  afterApply: undefined as (() => Promise<void>) | undefined,
  nextId: 1001,
}

const PLATFORM = `mutation($input: CreateExportPlatformInput!) {
  createExportPlatform(input: $input) { id name platformType config fieldMappings }
}`
const START = `mutation($input: StartExportInput!) { startExport(input: $input) { id status format phase jobType } }`
const JOB = `query($id: UUID!, $first: Int) { exportJob(id: $id) {
  id status format phase totalItems successItems failedItems lastError fileSize deliveredTo selection
  downloadUrl(expiresInSeconds: 600)
  items(first: $first) { totalCount edges { node { productId status errorMessage exportedData responseData } } }
} }`
const SET_STATUS = `mutation($id: UUID!, $status: ExportJobStatus!) { setExportJobStatus(id: $id, status: $status) { id status } }`
const RESUME = `mutation($id: UUID!) { resumeExport(id: $id) { id status phase } }`

const asUser = () => ({ authorization: `Bearer ${token}` })

async function ok<T = any>(query: string, variables: Record<string, unknown>) {
  const response = await stack.request<T>(query, variables, asUser())
  expect(response.errors).toBeUndefined()
  return response.data as T
}

/** Polls until the condition holds (the test's timeout bounds it; no time is asserted). */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, pauseMs = 100): Promise<T> {
  for (;;) {
    const value = await read()
    if (done(value)) return value
    await new Promise((r) => setTimeout(r, pauseMs))
  }
}

const job = async (id: string, first = 0) => (await ok(JOB, { id, first })).exportJob
const finished = (id: string) =>
  waitFor(
    async () => {
      return job(id)
    },
    (j) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(j.status),
  )

const mapping = {
  fields: [
    { source: 'sku', target: 'id' },
    { source: 'title', target: 'title', rules: [{ op: 'uppercase' }, { op: 'truncate', maxLength: 30 }] },
    {
      source: 'price',
      target: 'price',
      rules: [
        { op: 'applyVat', rate: '0.2' },
        { op: 'round', decimals: 2 },
      ],
    },
    { source: 'currency', target: 'currency' },
    { source: 'quantity', target: 'stock' },
    { source: 'image_url', target: 'image_link' },
    { source: 'asin', target: 'asin' },
    { source: 'brand', target: 'brand', rules: [{ op: 'default', value: 'Sans marque' }] },
  ],
}

async function platform(input: Record<string, unknown>) {
  return (
    await ok(PLATFORM, {
      input: {
        name: `P ${randomUUID().slice(0, 8)}`,
        platformType: 'CSV',
        config: { kind: 'feed' },
        ...input,
      },
    })
  ).createExportPlatform
}

/** A WooCommerce platform on the loopback shop with this field mapping. */
const wooPlatform = (fieldMappings: Record<string, unknown>) =>
  platform({
    platformType: 'WOOCOMMERCE',
    config: { base_url: shopUrl, consumer_key: 'ck_test', consumer_secret: 'cs_test' },
    fieldMappings,
  })

async function start(platformId: string, format: string, selection?: Record<string, unknown>) {
  return (await ok(START, { input: { platformId, format, ...(selection ? { selection } : {}) } })).startExport
}

/** The signed URL, sent to the test gateway (PUBLIC_URL, the address clients use, is not its port here). */
async function download(url: string) {
  const at = new URL(url)
  const response = await fetch(`${stack.gatewayUrl}${at.pathname}${at.search}`)
  expect(response.status).toBe(200)
  return Buffer.from(await response.arrayBuffer())
}

async function readBody(req: IncomingMessage) {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

beforeAll(async () => {
  const storageDir = await mkdtemp(join(tmpdir(), 'pm-export-storage-'))
  sftpRoot = await mkdtemp(join(tmpdir(), 'pm-export-sftp-'))
  dirs.push(storageDir, sftpRoot)
  process.env.STORAGE_DIR = storageDir
  process.env.FETCH_ALLOW_PRIVATE = 'true'
  process.env.EXPORT_PAGE_SIZE = '50'
  process.env.EXPORT_LEASE_SECONDS = '2'
  // WooCommerce REST v3 as documented: POST products/batch ({ create, update }) and GET products?sku=a,b.
  shop = createServer(async (req, res) => {
    const body = await readBody(req)
    const url = new URL(req.url ?? '/', 'http://shop')
    const batch = req.method === 'POST' && url.pathname === '/wp-json/wc/v3/products/batch'
    const list = req.method === 'GET' && url.pathname === '/wp-json/wc/v3/products'
    if (!batch && !list) return res.writeHead(404).end()
    const expected = `Basic ${Buffer.from('ck_test:cs_test').toString('base64')}`
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ code: 'woocommerce_rest_cannot_create', message: 'Sorry' }))
    }
    if (woo.mode === 'fail-all') {
      res.writeHead(500, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ code: 'internal', message: 'boom' }))
    }
    if (list) {
      const skus = (url.searchParams.get('sku') ?? '').split(',').filter(Boolean)
      woo.lookups.push(skus)
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(JSON.stringify(woo.store.filter((p) => skus.includes(p.sku))))
    }
    if (woo.throttleOnce) {
      woo.throttleOnce = false
      res.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' })
      return res.end('{}')
    }
    const { create = [], update = [] } = JSON.parse(body) as {
      create?: Record<string, unknown>[]
      update?: Record<string, unknown>[]
    }
    woo.batches.push({ auth: req.headers.authorization ?? '', create, update })
    const created = create.map((p) => {
      const sku = String(p.sku)
      if (sku.endsWith('7') || woo.store.some((s) => s.sku === sku)) {
        return { id: 0, error: { code: 'product_invalid_sku', message: 'Invalid or duplicated SKU.' } }
      }
      const product = { id: woo.nextId++, sku, name: p.name }
      woo.store.push(product)
      return product
    })
    const updated = update.map((p) => {
      const product = woo.store.find((s) => s.id === p.id)
      if (!product)
        return { id: 0, error: { code: 'woocommerce_rest_product_invalid_id', message: 'Invalid ID.' } }
      product.name = p.name
      return product
    })
    const after = woo.afterApply
    woo.afterApply = undefined
    await after?.()
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ create: created, update: updated }))
  })
  await new Promise<void>((r) => shop.listen(0, '127.0.0.1', r))
  shopUrl = `http://127.0.0.1:${(shop.address() as { port: number }).port}`
  sftp = await startSftpServer({ root: sftpRoot, username: 'feeds', password: 'sftp-pass' })

  // The gateway caches through Redis under a name of its own; the worker invalidates it there.
  process.env.GATEWAY_CACHE_NAME = `export-e2e-${randomUUID().slice(0, 8)}`
  stack = await startTestStack({
    only: ['core', 'catalog', 'exports', 'media', 'code2asin'],
    gateway: { redisUrl: process.env.REDIS_URL!, cache: { name: process.env.GATEWAY_CACHE_NAME } },
    env: { core: { MODULE_CODE2ASIN_ENABLED: 'true', MODULE_EXPORTS_ENABLED: 'true' } },
  })
  await stack.subgraphs.core.database.db
    .insertInto('users')
    .values({
      id: userId,
      email: `exporter-${userId.slice(0, 8)}@example.com`,
      username: `exp${userId.slice(0, 8)}`,
      hashed_password: 'x',
    })
    .execute()
  token = stack.tokenFor({
    userId,
    permissions: ['export:create', 'export:read', 'export:update', 'product:read'],
  })
  const catalog = stack.subgraphs.catalog.database.db
  const suppliers = await catalog
    .insertInto('suppliers')
    .values([
      { code: 'EXP-A', name: 'Export A' },
      { code: 'EXP-B', name: 'Export B' },
    ])
    .returning(['id'])
    .execute()
  supplierId = suppliers[0]!.id
  otherSupplierId = suppliers[1]!.id
  const brand = await catalog
    .insertInto('brands')
    .values({ name: 'Bosch' })
    .returning(['id'])
    .executeTakeFirstOrThrow()
  const rows = Array.from({ length: PRODUCTS }, (_, i) => ({
    sku: `EXP-${i}`,
    title: `Perceuse n°${i} "pro", été`,
    ean: null,
    asin: i % 2 === 0 ? `B0${String(i).padStart(8, '0')}` : null,
    status: i % 10 === 0 ? 'draft' : 'active',
    supplier_id: i < 200 ? supplierId : otherSupplierId,
    brand_id: i % 3 === 0 ? null : brand.id,
  }))
  const products = await catalog.insertInto('products').values(rows).returning(['id', 'sku']).execute()
  await catalog
    .insertInto('product_prices')
    .values(
      products.map((p, i) => ({
        product_id: p.id,
        price_type: 'retail',
        price: `${10 + i}.50`,
        currency: 'EUR',
      })),
    )
    .execute()
  await catalog
    .insertInto('product_stocks')
    .values(products.map((p, i) => ({ product_id: p.id, quantity: i % 17 })))
    .execute()
  worker = await stack.startWorker('exports')
}, 180_000)

afterAll(async () => {
  await worker?.stop()
  await stack?.stop()
  shop?.closeAllConnections()
  await new Promise((r) => shop?.close(r))
  await sftp?.close()
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

describe('export platforms are checked when saved', () => {
  it('refuses a mapping naming a field that does not exist, with the path', async () => {
    const res = await stack.request(
      PLATFORM,
      {
        input: {
          name: 'bad map',
          platformType: 'CSV',
          config: { a: 1 },
          fieldMappings: {
            fields: [
              { source: 'sku', target: 'id' },
              { source: 'colour', target: 'c' },
            ],
          },
        },
      },
      asUser(),
    )
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(res.errors?.[0]?.extensions?.field).toBe('input.fieldMappings.fields[1].source')
    expect(res.errors?.[0]?.message).toContain('"colour" is not a product field')
  })

  it('refuses the same mapping on an update, keeping the stored one', async () => {
    const p = await platform({ fieldMappings: { fields: [{ source: 'sku', target: 'id' }] } })
    const res = await stack.request(
      `mutation($id: UUID!, $input: UpdateExportPlatformInput!) { updateExportPlatform(id: $id, input: $input) { id } }`,
      { id: p.id, input: { fieldMappings: { fields: [{ source: 'price_with_tax', target: 'price' }] } } },
      asUser(),
    )
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.fieldMappings.fields[0].source',
    })
    expect(res.errors?.[0]?.message).toContain('"price_with_tax" is not a product field')
    const stored = await stack.subgraphs.exports.database.db
      .selectFrom('export_platforms')
      .select(['field_mappings'])
      .where('id', '=', p.id)
      .executeTakeFirstOrThrow()
    expect(stored.field_mappings).toEqual({ fields: [{ source: 'sku', target: 'id' }] })
  })

  it('refuses an unknown transformation, a target twice and a WooCommerce platform without keys', async () => {
    const bad = async (input: Record<string, unknown>) =>
      (await stack.request(PLATFORM, { input: { name: `x${randomUUID()}`, ...input } }, asUser())).errors?.[0]
    const rule = await bad({
      platformType: 'CSV',
      config: { a: 1 },
      fieldMappings: { fields: [{ source: 'sku', target: 'id', rules: [{ op: 'explode' }] }] },
    })
    expect(rule?.extensions?.field).toBe('input.fieldMappings.fields[0].rules[0].op')
    const twice = await bad({
      platformType: 'CSV',
      config: { a: 1 },
      fieldMappings: {
        fields: [
          { source: 'sku', target: 'id' },
          { source: 'ean', target: 'id' },
        ],
      },
    })
    expect(twice?.extensions?.field).toBe('input.fieldMappings.fields[1].target')
    const woo = await bad({ platformType: 'WOOCOMMERCE', config: { base_url: 'https://shop.example' } })
    expect(woo?.message).toContain('consumer_key')
    const destination = await bad({ platformType: 'CSV', config: { destination: { type: 'sftp' } } })
    expect(destination?.extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('masks the shop keys and the destination password', async () => {
    const p = await platform({
      platformType: 'WOOCOMMERCE',
      config: { base_url: shopUrl, consumer_key: 'ck_test', consumer_secret: 'cs_test' },
    })
    expect(p.config).toEqual({ base_url: shopUrl, consumer_key: '***', consumer_secret: '***' })
  })
})

describe('feeds', () => {
  it('writes a CSV feed of one supplier with the mapping and its rules, downloadable from the gateway', async () => {
    const p = await platform({ fieldMappings: mapping })
    const started = await start(p.id, 'CSV', { supplierId })
    expect(started).toMatchObject({ status: 'PENDING', format: 'CSV', jobType: 'FULL_SYNC' })
    const done = await finished(started.id)
    expect(done).toMatchObject({
      status: 'COMPLETED',
      phase: 'DONE',
      totalItems: 200,
      successItems: 200,
      failedItems: 0,
    })
    expect(done.downloadUrl).toMatch(/\/files\//)
    const csv = (await download(done.downloadUrl)).toString('utf8')
    const lines = csv
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n')
    expect(lines[0]).toBe('id,title,price,currency,stock,image_link,asin,brand')
    expect(lines).toHaveLength(201)
    const row7 = lines.find((l) => l.startsWith('EXP-7,'))!
    // 17.50 × 1.2 = 21.00; title upper-cased and cut to 30 characters, quoted (it holds a comma and quotes).
    expect(row7).toBe('EXP-7,"PERCEUSE N°7 ""PRO"", ÉTÉ",21.00,EUR,7,,,Bosch')
    const row0 = lines.find((l) => l.startsWith('EXP-0,'))!
    expect(row0).toBe('EXP-0,"PERCEUSE N°0 ""PRO"", ÉTÉ",12.60,EUR,0,,B000000000,Sans marque')
    // Each item keeps the row as written.
    const withItems = await job(started.id, 100)
    expect(withItems.items.totalCount).toBe(200)
    // The page holds 100 of the 200 items, in no particular order: each is checked against its own row.
    for (const { node } of withItems.items.edges as { node: any }[]) {
      const n = Number(/^EXP-(\d+)$/.exec(node.exportedData.id)![1])
      expect(node).toMatchObject({
        status: 'SUCCESS',
        exportedData: { price: ((10.5 + n) * 1.2).toFixed(2), stock: String(n % 17) },
      })
    }
    // The signed URL is bound to its file: another path with the same signature is refused.
    const forged = done.downloadUrl.replace('feed.csv', 'feed.xml')
    const at = new URL(forged)
    expect((await fetch(`${stack.gatewayUrl}${at.pathname}${at.search}`)).status).toBeGreaterThanOrEqual(400)
  })

  it('selects by status and by ids, and only what changed since the last export', async () => {
    const p = await platform({ fieldMappings: { fields: [{ source: 'sku', target: 'sku' }] } })
    const drafts = await finished((await start(p.id, 'JSON', { status: 'DRAFT' })).id)
    expect(drafts.totalItems).toBe(23)
    const feed = JSON.parse((await download(drafts.downloadUrl)).toString('utf8')) as { sku: string }[]
    expect(feed.map((r) => r.sku).sort()).toEqual(
      Array.from({ length: 23 }, (_, i) => `EXP-${i * 10}`).sort(),
    )
    const catalog = stack.subgraphs.catalog.database.db
    const two = await catalog
      .selectFrom('products')
      .select(['id'])
      .where('sku', 'in', ['EXP-1', 'EXP-2'])
      .execute()
    const byIds = await finished((await start(p.id, 'JSON', { productIds: two.map((r) => r.id) })).id)
    expect(byIds.totalItems).toBe(2)
    // Nothing changed since the last completed export of this platform, then one product does.
    const none = await finished((await start(p.id, 'CSV', { changedSinceLastExport: true })).id)
    expect(none).toMatchObject({ status: 'COMPLETED', totalItems: 0 })
    await catalog
      .updateTable('products')
      .set({ title: 'Changée', updated_at: new Date(Date.now() + 60_000) })
      .where('sku', '=', 'EXP-3')
      .execute()
    const changed = await finished((await start(p.id, 'CSV', { changedSinceLastExport: true })).id)
    expect(changed.totalItems).toBe(1)
  })

  it('a product the mapping cannot map gets its error on its item and stays out of the feed', async () => {
    const p = await platform({
      fieldMappings: {
        fields: [
          { source: 'sku', target: 'sku' },
          { source: 'title', target: 'volts', rules: [{ op: 'number' }] },
        ],
      },
    })
    const two = await stack.subgraphs.catalog.database.db
      .selectFrom('products')
      .select(['id'])
      .where('sku', 'in', ['EXP-4', 'EXP-5'])
      .execute()
    const done = await finished((await start(p.id, 'JSON', { productIds: two.map((r) => r.id) })).id)
    expect(done).toMatchObject({ status: 'COMPLETED', totalItems: 2, successItems: 0, failedItems: 2 })
    const items = await stack.subgraphs.exports.database.db
      .selectFrom('export_job_items')
      .select(['status', 'error_message', 'exported_data', 'processed_at'])
      .where('job_id', '=', done.id)
      .execute()
    expect(items).toHaveLength(2)
    for (const item of items) {
      expect(item).toMatchObject({ status: 'failed', exported_data: null })
      expect(item.error_message).toMatch(/^volts: number: /)
      expect(item.processed_at).not.toBeNull()
    }
    expect(JSON.parse((await download(done.downloadUrl)).toString('utf8'))).toEqual([])
  })

  it('writes the Google Merchant XML dialect and a streamed XLSX workbook', async () => {
    const p = await platform({
      fieldMappings: {
        fields: [
          { source: 'sku', target: 'id' },
          { source: 'title', target: 'title' },
          { source: 'price', target: 'price' },
        ],
      },
    })
    const xmlJob = await finished((await start(p.id, 'XML', { supplierId: otherSupplierId })).id)
    const xml = (await download(xmlJob.downloadUrl)).toString('utf8')
    expect(xml).toContain('<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">')
    expect(xml).toContain(
      '<item><g:id>EXP-229</g:id><g:title>Perceuse n°229 "pro", été</g:title><g:price>239.50</g:price></item>',
    )
    expect(xml.match(/<item>/g)).toHaveLength(30)
    const typed = await platform({
      fieldMappings: {
        fields: [
          { source: 'sku', target: 'id' },
          { source: 'title', target: 'title' },
          { source: 'price', target: 'price' },
          { source: 'quantity', target: 'stock' },
        ],
      },
    })
    const xlsxJob = await finished((await start(typed.id, 'XLSX', { supplierId: otherSupplierId })).id)
    const workbook = new ExcelJS.Workbook()
    await workbook.xlsx.load(new Uint8Array(await download(xlsxJob.downloadUrl)).buffer)
    const sheet = workbook.worksheets[0]!
    expect(sheet.rowCount).toBe(31)
    expect(sheet.getRow(1).values).toEqual([undefined, 'id', 'title', 'price', 'stock'])
    // Read back: prices and stock are numeric cells, the SKU and the title text.
    const rows = sheet.getRows(2, 30)!
    const row229 = rows.find((r) => r.getCell(1).value === 'EXP-229')!
    expect(row229.getCell(1).type).toBe(ExcelJS.ValueType.String)
    expect(row229.getCell(2).type).toBe(ExcelJS.ValueType.String)
    expect(row229.getCell(3)).toMatchObject({ type: ExcelJS.ValueType.Number, value: 239.5 })
    expect(row229.getCell(4)).toMatchObject({ type: ExcelJS.ValueType.Number, value: 229 % 17 })
  })
})

describe('delivery', () => {
  it('pushes to WooCommerce products/batch in batches of 100, honours 429 Retry-After, maps per-item errors', async () => {
    woo.batches.length = 0
    woo.throttleOnce = true
    const p = await wooPlatform({
      fields: [
        { source: 'sku', target: 'sku' },
        { source: 'title', target: 'name' },
        { source: 'price', target: 'regular_price' },
        { source: 'quantity', target: 'stock_quantity' },
        { source: 'image_url', target: 'images.0.src' },
      ],
    })
    const done = await finished((await start(p.id, 'JSON', { supplierId })).id)
    expect(woo.batches.map((b) => b.create.length)).toEqual([100, 100])
    expect(woo.batches[0]!.create[0]).toHaveProperty('sku')
    // EXP-7, -17, …, -197: 20 products the shop refuses.
    expect(done).toMatchObject({ status: 'COMPLETED', totalItems: 200, successItems: 180, failedItems: 20 })
    const items = stack.subgraphs.exports.database.db
    const failed = await items
      .selectFrom('export_job_items')
      .select(['status', 'error_message', 'response_data', 'exported_data'])
      .where('job_id', '=', done.id)
      .where('status', '=', 'failed')
      .execute()
    expect(failed).toHaveLength(20)
    expect(failed[0]!.error_message).toBe('product_invalid_sku: Invalid or duplicated SKU.')
    expect((failed[0]!.exported_data as { sku: string }).sku).toMatch(/7$/)
    const success = await items
      .selectFrom('export_job_items')
      .select(['response_data'])
      .where('job_id', '=', done.id)
      .where('status', '=', 'success')
      .executeTakeFirstOrThrow()
    expect((success.response_data as { id: number }).id).toBeGreaterThan(1000)

    // The same export again: the 180 products the shop has are updated in place, never refused as duplicates.
    woo.batches.length = 0
    const again = await finished((await start(p.id, 'JSON', { supplierId })).id)
    expect(again).toMatchObject({ status: 'COMPLETED', totalItems: 200, successItems: 180, failedItems: 20 })
    const sum = (f: (b: (typeof woo.batches)[number]) => number) => woo.batches.reduce((n, b) => n + f(b), 0)
    expect(woo.batches).toHaveLength(2)
    expect([sum((b) => b.create.length), sum((b) => b.update.length)]).toEqual([20, 180])
    expect(new Set(woo.store.map((s) => s.sku)).size).toBe(woo.store.length)
  })

  it('a shop answering 500 to everything fails the job with a clear error on it and its items; the worker stays up and resumeExport finishes the job', async () => {
    woo.mode = 'fail-all'
    // The worker retries with back-off; this one retries once, to keep the test short.
    await worker?.stop()
    worker = await stack.startWorker('exports', { env: { EXPORT_SHOP_RETRIES: '1' } })
    const p = await wooPlatform({ fields: [{ source: 'sku', target: 'sku' }] })
    const jobRow = await start(p.id, 'CSV', { supplierId: otherSupplierId })
    const failed = await finished(jobRow.id)
    expect(failed).toMatchObject({ status: 'FAILED', totalItems: 30, successItems: 0, failedItems: 30 })
    expect(failed.lastError).toBe('SHOP_REFUSED: WooCommerce answered 500 2 times in a row')
    const items = await stack.subgraphs.exports.database.db
      .selectFrom('export_job_items')
      .select(['status', 'error_message'])
      .where('job_id', '=', jobRow.id)
      .execute()
    expect(items).toHaveLength(30)
    // The batch was sent: the shop may have acted on it before answering 500, so it is "not confirmed".
    for (const item of items) {
      expect(item).toEqual({
        status: 'failed',
        error_message: 'not confirmed by the shop: WooCommerce answered 500 2 times in a row',
      })
    }
    // The same worker is still up: the shop is back, the failed job is resumed and delivered.
    woo.mode = 'ok'
    woo.store.length = 0
    woo.batches.length = 0
    expect((await ok(RESUME, { id: jobRow.id })).resumeExport).toMatchObject({ status: 'PENDING' })
    const done = await finished(jobRow.id)
    // EXP-207, -217 and -227: the shop refuses SKUs ending in 7.
    expect(done).toMatchObject({ status: 'COMPLETED', totalItems: 30, successItems: 27, failedItems: 3 })
    expect(woo.store).toHaveLength(27)
    expect(woo.batches.map((b) => b.create.length)).toEqual([30])
  })

  it('a batch sent to WooCommerce just before the worker dies is never created twice: the next run looks it up by SKU and updates it', async () => {
    woo.store.length = 0
    woo.batches.length = 0
    woo.lookups.length = 0
    const p = await wooPlatform({
      fields: [
        { source: 'sku', target: 'sku' },
        { source: 'title', target: 'name' },
      ],
    })
    // The shop applies the batch, then the worker stops before the answer arrives (so before it is committed).
    let stopped: Promise<void> | undefined
    const applied = new Promise<void>((resolve) => {
      woo.afterApply = async () => {
        stopped = worker!.stop()
        resolve()
        await stopped
      }
    })
    const started = await start(p.id, 'JSON', { supplierId: otherSupplierId })
    await applied
    await stopped
    worker = undefined
    expect(woo.store).toHaveLength(27)
    const db = stack.subgraphs.exports.database.db
    const midway = await db
      .selectFrom('export_job_items')
      .select(['status', 'sent_at'])
      .where('job_id', '=', started.id)
      .execute()
    expect(midway).toHaveLength(30)
    for (const item of midway) {
      expect(item.status).toBe('pending')
      expect(item.sent_at).not.toBeNull()
    }
    expect(await job(started.id)).toMatchObject({ status: 'RUNNING', phase: 'DELIVER', successItems: 0 })

    worker = await stack.startWorker('exports')
    const done = await finished(started.id)
    expect(done).toMatchObject({ status: 'COMPLETED', totalItems: 30, successItems: 27, failedItems: 3 })
    // Each product is on the shop once; each run asked for all 30 SKUs first: the first found none and created
    // them, the second updated the 27 it found there and created the 3 it did not (which the shop refuses: they
    // end in 7).
    expect(new Set(woo.store.map((s) => s.sku)).size).toBe(27)
    expect(woo.store).toHaveLength(27)
    expect(woo.lookups.map((l) => l.length)).toEqual([30, 30])
    expect(woo.batches).toHaveLength(2)
    expect(woo.batches[1]!.update).toHaveLength(27)
    expect(woo.batches[1]!.create.map((c) => c.sku).sort()).toEqual(['EXP-207', 'EXP-217', 'EXP-227'])
    const ids = new Map(woo.store.map((s) => [s.sku, s.id]))
    const items = await db
      .selectFrom('export_job_items')
      .select(['status', 'response_data', 'exported_data'])
      .where('job_id', '=', started.id)
      .where('status', '=', 'success')
      .execute()
    expect(items).toHaveLength(27)
    for (const item of items) {
      const sku = (item.exported_data as { sku: string }).sku
      expect(item.response_data).toEqual({ id: ids.get(sku), updated: true })
    }
  })

  it('pushes the feed file to an SFTP destination', async () => {
    const p = await platform({
      config: {
        file_name: 'catalogue.csv',
        destination: {
          type: 'sftp',
          host: '127.0.0.1',
          port: sftp.port,
          username: 'feeds',
          password: 'sftp-pass',
          path: '/',
        },
      },
      fieldMappings: { fields: [{ source: 'sku', target: 'sku' }] },
    })
    expect(p.config.destination.password).toBe('***')
    const done = await finished((await start(p.id, 'CSV', { supplierId: otherSupplierId })).id)
    expect(done.status).toBe('COMPLETED')
    expect(done.deliveredTo).toBe('sftp://127.0.0.1/catalogue.csv')
    const pushed = await readFile(join(sftpRoot, 'catalogue.csv'), 'utf8')
    expect(pushed.replace(/^\uFEFF/, '').split('\r\n')[0]).toBe('sku')
    expect(pushed).toContain('EXP-229\r\n')
  })
})

function workerContext() {
  return {
    domain: 'exports' as const,
    database: stack.subgraphs.exports.database,
    storage: createStorage(loadStorageConfig(process.env)),
    peers: signedPeers({}, stack.secrets.signing),
    gatewayUrl: stack.gatewayUrl,
    env: process.env,
    logger: createLogger({ service: 'export-test' }, 'error'),
  }
}

/** A storage that runs `onPut` before each staged page is stored (to stop or cancel a job at a known point). */
function watchedStorage(
  inner: Storage,
  onPut: (key: string, count: number) => Promise<void> | void,
): Storage {
  let count = 0
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'put') {
        return async (key: string, ...rest: unknown[]) => {
          if (key.includes('/parts/')) await onPut(key, ++count)
          return (target.put as (...a: unknown[]) => unknown).call(target, key, ...rest)
        }
      }
      return Reflect.get(target, prop, receiver)
    },
  })
}

/** The job completes with every product once: one item each, one line each in its CSV feed. */
async function completedWithEachProductOnce(id: string) {
  const done = await finished(id)
  expect(done).toMatchObject({ status: 'COMPLETED', totalItems: PRODUCTS, successItems: PRODUCTS })
  const counts = await stack.subgraphs.exports.database.db
    .selectFrom('export_job_items')
    .select((eb) => [
      eb.fn.countAll<string>().as('n'),
      eb.fn.count<string>('product_id').distinct().as('distinct'),
    ])
    .where('job_id', '=', id)
    .executeTakeFirstOrThrow()
  expect(Number(counts.n)).toBe(PRODUCTS)
  expect(Number(counts.distinct)).toBe(PRODUCTS)
  const csv = (await download(done.downloadUrl)).toString('utf8').trimEnd().split('\r\n')
  expect(csv).toHaveLength(PRODUCTS + 1)
  expect(new Set(csv).size).toBe(PRODUCTS + 1)
}

describe('jobs', () => {
  it('resumes after the worker stops mid-way without exporting a product twice', async () => {
    const p = await platform({ fieldMappings: { fields: [{ source: 'sku', target: 'sku' }] } })
    await worker?.stop()
    worker = undefined
    const started = await start(p.id, 'CSV')
    const abort = new AbortController()
    const deps = exportEngine(workerContext())
    const stopping = runExportJob(
      {
        ...deps,
        storage: watchedStorage(deps.storage, (_, n) => {
          // The third page is being staged: the worker is told to stop; pages 1 and 2 are committed.
          if (n === 3) abort.abort()
        }),
      },
      started.id,
      abort.signal,
    ).catch((e) => e)
    expect(await stopping).toBeInstanceOf(JobInterruptedError)
    const midway = await job(started.id)
    expect(midway).toMatchObject({ status: 'RUNNING', phase: 'COLLECT', successItems: 150 })
    worker = await stack.startWorker('exports')
    // The job's queue entry is still there (the run was interrupted): the worker picks it up again.
    await completedWithEachProductOnce(started.id)
  })

  it('a cancelled job stops at the next page and keeps no file; resumeExport finishes it without a product twice', async () => {
    const p = await platform({ fieldMappings: { fields: [{ source: 'sku', target: 'sku' }] } })
    await worker?.stop()
    worker = undefined
    const started = await start(p.id, 'CSV')
    const deps = exportEngine(workerContext())
    await runExportJob(
      {
        ...deps,
        storage: watchedStorage(deps.storage, async (_, n) => {
          if (n === 2) await ok(SET_STATUS, { id: started.id, status: 'CANCELLED' })
        }),
      },
      started.id,
    )
    const cancelled = await job(started.id)
    expect(cancelled).toMatchObject({ status: 'CANCELLED', downloadUrl: null, successItems: 50 })
    // No feed; the one committed page stays staged for a resume.
    const left: string[] = []
    for await (const o of deps.storage.list(`exports/${started.id}/`)) left.push(o.key)
    expect(left).toEqual([`exports/${started.id}/parts/000000.jsonl`])

    worker = await stack.startWorker('exports')
    expect((await ok(RESUME, { id: started.id })).resumeExport).toMatchObject({ status: 'PENDING' })
    await completedWithEachProductOnce(started.id)
    // Once completed, the staged pages are gone.
    const after: string[] = []
    for await (const o of deps.storage.list(`exports/${started.id}/parts/`)) after.push(o.key)
    expect(after).toEqual([])

    // A completed job is not resumed.
    const again = await stack.request(RESUME, { id: started.id }, asUser())
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', status: 'completed' })
    expect(again.errors?.[0]?.message).toContain('the job is completed')
  })

  it('resumeExport refuses a running job, an unknown one, a caller-recorded one, and a caller without export:update', async () => {
    const db = stack.subgraphs.exports.database.db
    const p = await platform({ fieldMappings: { fields: [{ source: 'sku', target: 'sku' }] } })
    const running = await db
      .insertInto('export_jobs')
      .values({
        platform_id: p.id,
        job_type: 'full_sync',
        status: 'running',
        format: 'csv',
        phase: 'collect',
        runner_id: randomUUID(),
        heartbeat_at: new Date(),
      })
      .returning(['id'])
      .executeTakeFirstOrThrow()
    const busy = await stack.request(RESUME, { id: running.id }, asUser())
    expect(busy.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', status: 'running' })
    expect(busy.errors?.[0]?.message).toContain('the job is running')
    const missing = await stack.request(RESUME, { id: randomUUID() }, asUser())
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND')
    const recorded = await db
      .insertInto('export_jobs')
      .values({ platform_id: p.id, job_type: 'full_sync', status: 'failed' })
      .returning(['id'])
      .executeTakeFirstOrThrow()
    const manual = await stack.request(RESUME, { id: recorded.id }, asUser())
    expect(manual.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(manual.errors?.[0]?.message).toContain('not started by startExport')
    const reader = stack.tokenFor({ userId, permissions: ['export:read', 'export:create'] })
    const denied = await stack.request(RESUME, { id: running.id }, { authorization: `Bearer ${reader}` })
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    // Nothing changed.
    const still = await db
      .selectFrom('export_jobs')
      .select(['status'])
      .where('id', 'in', [running.id, recorded.id])
      .orderBy('status')
      .execute()
    expect(still.map((j) => j.status)).toEqual(['failed', 'running'])
  })
})
