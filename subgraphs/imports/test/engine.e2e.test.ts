import { randomUUID } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunningWorker } from '@pm/jobs'
import { supplierFileConfig, writeSupplierFile } from '@pm/seed'
import { createLogger, signedPeers } from '@pm/service-kit'
import { createStorage, loadStorageConfig } from '@pm/storage'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import iconv from 'iconv-lite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { importEngine } from '../src/jobs'

type Domains = 'core' | 'catalog' | 'imports'
let stack: TestStack<Domains>
let worker: RunningWorker | undefined
let dirs: string[] = []
let http: Server
let httpUrl = ''
const files = new Map<string, Buffer>()
const userId = randomUUID()
let token = ''
const SUPPLIER = 'ENGINE-SUP'

const JOB = `query($id: UUID!) { importJob(id: $id) {
  id status processedRows totalRows successfulRows failedRows productsCreated productsUpdated productsUnchanged
  percent etaSeconds checkpointRow cancelRequested errorCount lastError createdBy { id }
  errors(first: 50) { totalCount edges { node { rowNumber columnName errorCode message rawValue } } }
  logs(first: 100) { totalCount edges { node { logLevel message } } }
  files { fileName fileHash source rowCount fileFormat }
  statistics { productsUnchanged errorsByCode rowsPerSecond fileCount }
} }`
const START = `mutation($configId: UUID!, $source: ImportSourceInput!, $force: Boolean) {
  startImport(configId: $configId, source: $source, force: $force) { id status }
}`
const PREVIEW = `mutation($configId: UUID!, $source: ImportSourceInput!, $limit: Int) {
  previewImport(configId: $configId, source: $source, limit: $limit) {
    format encoding delimiter columns missingColumns warnings
    rows { rowNumber verdict values mapped issues { column rule message rawValue severity } }
  }
}`
const CANCEL = `mutation($id: UUID!) { cancelImport(jobId: $id) { id status cancelRequested } }`
const RESUME = `mutation($id: UUID!) { resumeImport(jobId: $id) { id status } }`

const asUser = () => ({ authorization: `Bearer ${token}` })

async function ok<T = any>(query: string, variables: Record<string, unknown>) {
  const response = await stack.request<T>(query, variables, asUser())
  expect(response.errors).toBeUndefined()
  return response.data as T
}

/** Polls until the condition holds (no time assertion: the test's own timeout bounds it). */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, pauseMs = 100): Promise<T> {
  for (;;) {
    const value = await read()
    if (done(value)) return value
    await new Promise((r) => setTimeout(r, pauseMs))
  }
}

const job = async (id: string) => (await ok(JOB, { id })).importJob
const finished = (id: string) =>
  waitFor(
    async () => {
      return job(id)
    },
    (j) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(j.status),
  )

/** Starts the import of an upload with a configuration (startImport) and waits for the job to end: the job read back. */
const importUpload = async (configId: string, uploadId: string) =>
  finished((await ok(START, { configId, source: { uploadId } })).startImport.id)

/** CSV lines as a file: CRLF after each, as spreadsheets write them. */
const csvText = (lines: readonly string[]) => `${lines.join('\r\n')}\r\n`

/** A supplier CSV: `bad` rows of three kinds (bad EAN, no title, a price that is not a number). */
function csv(
  rows: number,
  o: { prefix?: string; bad?: number[]; delimiter?: string; priceShift?: number } = {},
) {
  const d = o.delimiter ?? ';'
  const lines = [['Référence', 'Désignation', 'EAN', 'Prix HT', 'Stock', 'Marque'].join(d)]
  for (let i = 1; i <= rows; i++) {
    const bad = o.bad?.includes(i)
    const kind = i % 3
    const price = `${10 + (i % 7) + (o.priceShift ?? 0)},50`
    lines.push(
      [
        `${o.prefix ?? 'R'}-${i}`,
        bad && kind === 1 ? '' : `Article n°${i} été`,
        bad && kind === 0 ? '4006381333932' : '',
        bad && kind === 2 ? 'abc' : price,
        String(i % 40),
        i % 2 ? 'Bosch' : 'Makita',
      ].join(d),
    )
  }
  return csvText(lines)
}

async function createConfig(overrides: Record<string, unknown> = {}) {
  const row = await stack.subgraphs.imports.database.db
    .insertInto('import_configs')
    .values({
      supplier_code: SUPPLIER,
      import_type: 'products',
      config_name: `Engine ${randomUUID().slice(0, 8)}`,
      connection_config: JSON.stringify({ type: 'http', url: `${httpUrl}/feed.csv` }),
      file_format: 'csv',
      encoding: 'UTF-8',
      delimiter: ';',
      field_mapping: JSON.stringify({
        Référence: 'sku',
        Désignation: 'title',
        EAN: 'ean',
        'Prix HT': 'price',
        Stock: 'quantity',
        Marque: 'brand',
      }),
      transformation_rules: JSON.stringify([
        { field: 'title', op: 'trim' },
        { field: 'price', op: 'number', locale: 'fr' },
      ]),
      validation_rules: JSON.stringify([{ field: 'title', rule: 'required' }]),
      create_brands: true,
      ...overrides,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

const storage = () => createStorage(loadStorageConfig(process.env))

/** POST /uploads on the gateway, as the test user: the upload id. */
async function upload(content: string | Buffer, filename: string) {
  const response = await fetch(`${stack.gatewayUrl}/uploads?filename=${encodeURIComponent(filename)}`, {
    method: 'POST',
    headers: { ...asUser(), 'content-type': 'application/octet-stream', 'x-apollo-operation-name': 'upload' },
    body: Buffer.from(content),
  })
  expect(response.status).toBe(201)
  return ((await response.json()) as { id: string }).id
}

function workerContext(service: string) {
  const imports = stack.subgraphs.imports
  const peers = signedPeers(
    {
      catalog: stack.subgraphs.catalog.server.graphqlUrl,
      core: stack.subgraphs.core.server.graphqlUrl,
    },
    stack.secrets.signing,
  )
  const logger = createLogger({ service }, 'error')
  return {
    domain: 'imports' as const,
    database: imports.database,
    storage: storage(),
    peers,
    gatewayUrl: stack.gatewayUrl,
    env: process.env,
    logger,
  }
}

const runWorker = () => stack.startWorker('imports')

/**
 * A supplier CSV of `rows` rows over 40 SKUs (`<prefix>-1` … `<prefix>-40`, each in every 40-row batch): row i is
 * titled `<title> i`, priced i,00 with a stock of i, so the row of a SKU that won shows in its title and price.
 */
function cycledCsv(prefix: string, title: string, rows: number): string {
  const lines = ['Référence;Désignation;EAN;Prix HT;Stock;Marque']
  for (let i = 1; i <= rows; i++)
    lines.push(`${prefix}-${((i - 1) % 40) + 1};${title} ${i};;${i},00;${i};Bosch`)
  return csvText(lines)
}

/** The title and price(s) catalog holds for a SKU. */
const pricesOf = (sku: string) =>
  stack.subgraphs.catalog.database.db
    .selectFrom('products')
    .innerJoin('product_prices', 'product_prices.product_id', 'products.id')
    .select(['products.title', 'product_prices.price'])
    .where('products.sku', '=', sku)
    .execute()

interface BatchOptionsSent {
  batch?: number
  after?: number
}

/**
 * A catalog instance as the worker sees it: an HTTP server on loopback in front of the stack's catalog. Each request
 * goes on as it came, after `hold` (when given) has resolved for its batch options; `seen` is told each batch's
 * options and its answer's first error code. Its URL is catalog's path on the server's port.
 */
async function catalogInstance(o: {
  hold?: (options: BatchOptionsSent) => Promise<void>
  seen: (options: BatchOptionsSent, code: string | undefined) => void
}): Promise<{ server: Server; url: string }> {
  const target = new URL(stack.subgraphs.catalog.server.graphqlUrl)
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const options: BatchOptionsSent | undefined = JSON.parse(body.toString()).variables?.options
    if (options?.batch !== undefined) await o.hold?.(options)
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)),
    ) as Record<string, string>
    const answer = await fetch(target, { method: 'POST', headers, body })
    const text = await answer.text()
    if (options?.batch !== undefined) o.seen(options, JSON.parse(text).errors?.[0]?.extensions?.code)
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}${target.pathname}` }
}

beforeAll(async () => {
  const storageDir = await mkdtemp(join(tmpdir(), 'pm-import-storage-'))
  const filesRoot = await mkdtemp(join(tmpdir(), 'pm-import-files-'))
  dirs = [storageDir, filesRoot]
  process.env.STORAGE_DIR = storageDir
  process.env.IMPORT_FILES_ROOT = filesRoot
  process.env.FETCH_ALLOW_PRIVATE = 'true'
  process.env.IMPORT_BATCH_ROWS = '40'
  process.env.IMPORT_LEASE_SECONDS = '2'
  // Every XLSX's shared strings go through the spill file; a table over 1 MiB fails its job.
  process.env.IMPORT_XLSX_SHARED_STRINGS_MEMORY_MB = '0'
  process.env.IMPORT_XLSX_SHARED_STRINGS_MAX_MB = '1'
  http = createServer((req, res) => {
    const body = files.get(req.url ?? '')
    if (!body) return res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'text/csv', 'content-length': body.length }).end(body)
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  httpUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}`
  // The gateway caches through Redis under a name of its own; the worker invalidates it there.
  process.env.GATEWAY_CACHE_NAME = `import-e2e-${randomUUID().slice(0, 8)}`
  stack = await startTestStack({
    only: ['core', 'catalog', 'imports'],
    gateway: { redisUrl: process.env.REDIS_URL!, cache: { name: process.env.GATEWAY_CACHE_NAME } },
  })
  await stack.subgraphs.core.database.db
    .insertInto('users')
    .values({
      id: userId,
      email: `importer-${userId.slice(0, 8)}@example.com`,
      username: `imp${userId.slice(0, 8)}`,
      hashed_password: 'x',
    })
    .execute()
  token = stack.tokenFor({
    userId,
    permissions: ['import:create', 'import:read', 'import:update', 'product:read'],
  })
  const supplier = await stack.request(
    `mutation { createSupplier(input: { code: "${SUPPLIER}", name: "Engine supplier" }) { id } }`,
  )
  expect(supplier.errors).toBeUndefined()
  // The queue's schema exists once a worker has started on the database.
  worker = await runWorker()
}, 120_000)

afterAll(async () => {
  await worker?.stop()
  await stack?.stop()
  await new Promise((r) => http?.close(r))
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

describe('import engine end to end', () => {
  let configId = ''
  let firstUpload = ''

  it('previews the first rows with their verdicts and writes nothing', async () => {
    configId = await createConfig()
    firstUpload = await upload(csv(200, { bad: [5, 6, 7] }), 'catalogue.csv')
    const { previewImport } = await ok(PREVIEW, { configId, source: { uploadId: firstUpload }, limit: 8 })
    expect(previewImport).toMatchObject({ format: 'CSV', delimiter: ';', missingColumns: [] })
    expect(previewImport.rows.map((r: any) => r.verdict)).toEqual([
      'CREATED',
      'CREATED',
      'CREATED',
      'CREATED',
      'FAILED',
      'FAILED',
      'FAILED',
      'CREATED',
    ])
    expect(previewImport.rows[0].mapped).toMatchObject({
      sku: 'R-1',
      price: '11.50',
      title: 'Article n°1 été',
    })
    expect(previewImport.rows[4].issues[0]).toMatchObject({ column: 'Prix HT', rawValue: 'abc' })
    expect(previewImport.rows[5].issues[0]).toMatchObject({ column: 'EAN', rawValue: '4006381333932' })
    expect(previewImport.rows[6].issues[0]).toMatchObject({ column: 'Désignation' })
    const count = await stack.subgraphs.catalog.database.db
      .selectFrom('products')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    expect(Number(count.n)).toBe(0)
  })

  it('imports an upload: products with prices and stock in the graph, bad rows in importErrors', async () => {
    const started = (await ok(START, { configId, source: { uploadId: firstUpload } })).startImport
    expect(started.status).toBe('PENDING')
    const done = await finished(started.id)
    expect(done).toMatchObject({
      status: 'COMPLETED',
      processedRows: 200,
      totalRows: 200,
      productsCreated: 197,
      failedRows: 3,
      percent: 100,
      checkpointRow: 200,
      createdBy: { id: userId },
    })
    expect(done.errors.edges.map((e: any) => e.node.rowNumber)).toEqual([5, 6, 7])
    expect(done.errors.edges.map((e: any) => e.node.columnName)).toEqual(['Prix HT', 'EAN', 'Désignation'])
    expect(done.files).toMatchObject([{ fileName: 'catalogue.csv', source: 'UPLOAD' }])
    expect(done.statistics).toMatchObject({ fileCount: 1 })
    expect(done.logs.edges.map((e: any) => e.node.message).join('\n')).toMatch(/import completed: 200 rows/)

    const product = await stack.request(
      `query { productBySku(sku: "R-8") { title brand { name } prices { price currency } stocks { quantity } } }`,
    )
    expect(product.errors).toBeUndefined()
    expect(product.data.productBySku).toMatchObject({
      title: 'Article n°8 été',
      brand: { name: 'Makita' },
      prices: [{ price: '11.50', currency: 'EUR' }],
      stocks: [{ quantity: 8 }],
    })
    const notes = await stack.subgraphs.core.database.db
      .selectFrom('notifications')
      .select(['title', 'type'])
      .where('user_id', '=', userId)
      .execute()
    expect(notes).toEqual([expect.objectContaining({ type: 'warning' })])
  })

  it('refuses the same file again (CONFLICT with the earlier job), and with force finds every row unchanged', async () => {
    const again = await upload(csv(200, { bad: [5, 6, 7] }), 'catalogue-copy.csv')
    const refused = await stack.request(START, { configId, source: { uploadId: again } }, asUser())
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT' })
    const forced = (await ok(START, { configId, source: { uploadId: again }, force: true })).startImport
    const done = await finished(forced.id)
    expect(done).toMatchObject({
      status: 'COMPLETED',
      productsCreated: 0,
      productsUpdated: 0,
      productsUnchanged: 197,
      failedRows: 3,
    })
  })

  it('reads a server-side path and a URL, and refuses a path outside the root', async () => {
    await writeFile(join(dirs[1]!, 'by-path.csv'), csv(30, { prefix: 'P' }))
    const byPath = (await ok(START, { configId, source: { path: 'by-path.csv' } })).startImport
    expect(await finished(byPath.id)).toMatchObject({ status: 'COMPLETED', productsCreated: 30 })
    const outside = await stack.request(START, { configId, source: { path: '../etc/passwd' } }, asUser())
    expect(outside.errors?.[0]?.extensions).toMatchObject({ field: 'source.path' })

    files.set('/feed.csv', Buffer.from(csv(25, { prefix: 'U' })))
    // A presigned URL, as object stores give them: longer than 255 characters.
    const signed = `/feed.csv?${'X-Amz-Credential=AKIA0123456789%2F20261207%2Feu-west-3&'.repeat(6)}X-Amz-Signature=${'0f'.repeat(32)}`
    files.set(signed, files.get('/feed.csv')!)
    expect(`${httpUrl}${signed}`.length).toBeGreaterThan(255)
    const byUrl = (await ok(START, { configId, source: { url: `${httpUrl}${signed}` } })).startImport
    const done = await finished(byUrl.id)
    expect(done).toMatchObject({ status: 'COMPLETED', productsCreated: 25, files: [{ source: 'HTTP' }] })
    // The same bytes from the connection: the worker finds it imported already.
    const fromConnection = (await ok(START, { configId, source: { fromConnection: true } })).startImport
    const duplicate = await finished(fromConnection.id)
    expect(duplicate).toMatchObject({ status: 'FAILED' })
    expect(duplicate.lastError).toMatch(/^DUPLICATE_FILE: .*job /)
  })

  it('imports a French Windows-1252 file and an XLSX workbook', async () => {
    const latin = await createConfig({ encoding: 'Windows-1252' })
    const id = await upload(iconv.encode(csv(20, { prefix: 'W' }), 'win1252'), 'latin1.csv')
    const done = await importUpload(latin, id)
    expect(done).toMatchObject({ status: 'COMPLETED', productsCreated: 20 })
    const product = await stack.request(`query { productBySku(sku: "W-3") { title prices { price } } }`)
    expect(product.data.productBySku).toMatchObject({
      title: 'Article n°3 été',
      prices: [{ price: '13.50' }],
    })

    const ExcelJS = (await import('exceljs')).default
    const workbook = new ExcelJS.Workbook()
    const sheet = workbook.addWorksheet('Produits')
    sheet.addRow(['Référence', 'Désignation', 'EAN', 'Prix HT', 'Stock', 'Marque'])
    for (let i = 1; i <= 15; i++) sheet.addRow([`X-${i}`, `Classeur ${i}`, '', `${i},25`, i, 'Bosch'])
    const xlsxConfig = await createConfig({ file_format: 'xlsx', delimiter: null })
    const xlsx = await upload(Buffer.from(await workbook.xlsx.writeBuffer()), 'produits.xlsx')
    const xdone = await importUpload(xlsxConfig, xlsx)
    expect(xdone).toMatchObject({ status: 'COMPLETED', productsCreated: 15, failedRows: 0 })
  })

  it('fails an XLSX whose shared strings are over the cap as a job (SOURCE_TOO_LARGE); the worker goes on', async () => {
    const ExcelJS = (await import('exceljs')).default
    const workbook = new ExcelJS.Workbook()
    const sheet = workbook.addWorksheet('Produits')
    sheet.addRow(['Référence', 'Désignation', 'EAN', 'Prix HT', 'Stock', 'Marque'])
    // ~1.6 MB of distinct strings in the shared strings table.
    for (let i = 1; i <= 20_000; i++)
      sheet.addRow([
        `BIG-${i}`,
        `Désignation longue et unique du produit numéro ${i}`,
        '',
        '1,00',
        1,
        'Bosch',
      ])
    const config = await createConfig({ file_format: 'xlsx', delimiter: null })
    const big = await upload(Buffer.from(await workbook.xlsx.writeBuffer()), 'gros.xlsx')
    const failed = await importUpload(config, big)
    expect(failed.status).toBe('FAILED')
    expect(failed.lastError).toMatch(
      /^SOURCE_TOO_LARGE: the workbook's shared strings take \d+ bytes; at most 1048576 are read$/,
    )
    expect(failed.errors.edges.map((e: { node: { errorCode: string } }) => e.node.errorCode)).toEqual([
      'SOURCE_TOO_LARGE',
    ])
    expect(failed.productsCreated).toBe(0)

    const small = new ExcelJS.Workbook()
    const rows = small.addWorksheet('Produits')
    rows.addRow(['Référence', 'Désignation', 'EAN', 'Prix HT', 'Stock', 'Marque'])
    for (let i = 1; i <= 5; i++) rows.addRow([`AFTER-${i}`, `Après ${i}`, '', '2,00', i, 'Makita'])
    const after = await upload(Buffer.from(await small.xlsx.writeBuffer()), 'apres.xlsx')
    const done = await importUpload(config, after)
    expect(done).toMatchObject({ status: 'COMPLETED', productsCreated: 5, failedRows: 0 })
  })

  it('writes batches in file order while two are in flight: the last row of a key wins, history in order', async () => {
    // 40 SKUs, each in every one of the five 40-row batches, at a price that grows with the row.
    const id = await upload(cycledCsv('ORDER', 'Article', 200), 'order.csv')
    const done = await importUpload(configId, id)
    expect(done).toMatchObject({
      status: 'COMPLETED',
      processedRows: 200,
      productsCreated: 40,
      productsUpdated: 160,
      failedRows: 0,
      checkpointRow: 200,
    })
    const catalog = stack.subgraphs.catalog.database.db
    const prices = await catalog
      .selectFrom('products')
      .innerJoin('product_prices', 'product_prices.product_id', 'products.id')
      .select(['products.sku', 'products.title', 'product_prices.price'])
      .where('products.sku', 'like', 'ORDER-%')
      .execute()
    expect(prices).toHaveLength(40)
    for (const p of prices) {
      const row = 160 + Number(p.sku!.slice('ORDER-'.length))
      expect(p).toMatchObject({ title: `Article ${row}`, price: `${row}.00` })
    }
    const history = await catalog
      .selectFrom('price_history')
      .innerJoin('products', 'products.id', 'price_history.product_id')
      .select('price_history.new_price')
      .where('products.sku', '=', 'ORDER-7')
      .orderBy('price_history.changed_at')
      .execute()
    expect(history.map((h) => h.new_price)).toEqual(['7.00', '47.00', '87.00', '127.00', '167.00'])
  })

  it('sends a batch again when it reached catalog before the batch it follows, and keeps file order', async () => {
    await worker!.stop()
    worker = undefined
    // Between the worker and catalog: the first batch is held until catalog has refused the second one (sent
    // ahead of its turn, it finds no first batch committed nor being written).
    const seen: { batch: number; after?: number; code?: string }[] = []
    let refusedSecond: () => void = () => {}
    const secondRefused = new Promise<void>((r) => {
      refusedSecond = r
    })
    const proxy = await catalogInstance({
      hold: async (options) => {
        if (options.batch === 1) await secondRefused
      },
      seen: (options, code) => {
        seen.push({
          batch: options.batch!,
          ...(options.after ? { after: options.after } : {}),
          ...(code ? { code } : {}),
        })
        if (options.batch === 41 && code === 'CONFLICT') refusedSecond()
      },
    })
    try {
      const id = await upload(cycledCsv('TURN', 'Tour', 120), 'turn.csv')
      const started = (await ok(START, { configId, source: { uploadId: id } })).startImport
      const context = workerContext('out-of-turn')
      const peers = signedPeers(
        {
          catalog: proxy.url,
          core: stack.subgraphs.core.server.graphqlUrl,
        },
        stack.secrets.signing,
      )
      const { runImportJob } = await import('../src/run/import-job')
      await runImportJob(
        { ...importEngine({ ...context, peers }), batchRows: 40, batchesInFlight: 2 },
        started.id,
      )
      expect(await job(started.id)).toMatchObject({
        status: 'COMPLETED',
        processedRows: 120,
        productsCreated: 40,
        productsUpdated: 80,
        failedRows: 0,
      })
      // The second batch was refused once, then written after the first; the third followed in turn.
      expect(seen[0]).toEqual({ batch: 41, after: 1, code: 'CONFLICT' })
      expect(seen.filter((s) => !s.code)).toEqual([
        { batch: 1 },
        { batch: 41, after: 1 },
        { batch: 81, after: 41 },
      ])
      expect(await pricesOf('TURN-3')).toEqual([{ title: 'Tour 83', price: '83.00' }])
    } finally {
      await new Promise((r) => proxy.server.close(r))
      worker = await runWorker()
    }
  })

  it('writes its batches through each of IMPORT_CATALOG_URLS in turn, in file order', async () => {
    await worker!.stop()
    worker = undefined
    // Two catalog instances, as two proxies in front of the one catalog: each notes the batches it wrote (a batch
    // that reached catalog before the one it follows is refused and sent again: not noted).
    const seen: { instance: string; batch: number; after?: number }[] = []
    const instance = (name: string) =>
      catalogInstance({
        seen: (options, code) => {
          if (!code)
            seen.push({
              instance: name,
              batch: options.batch!,
              ...(options.after ? { after: options.after } : {}),
            })
        },
      })
    const proxies = [await instance('a'), await instance('b')]
    try {
      const id = await upload(cycledCsv('SPREAD', 'Lot', 200), 'spread.csv')
      const started = (await ok(START, { configId, source: { uploadId: id } })).startImport
      const { engineSettings, runImportJob } = await import('../src/run/import-job')
      const settings = engineSettings({
        IMPORT_CATALOG_URLS: ` ${proxies[0]!.url}, ${proxies[1]!.url} `,
      })
      await runImportJob(
        { ...importEngine(workerContext('two-catalogs')), ...settings, batchRows: 40, batchesInFlight: 2 },
        started.id,
      )
      expect(await job(started.id)).toMatchObject({
        status: 'COMPLETED',
        productsCreated: 40,
        productsUpdated: 160,
      })
      expect(seen).toEqual([
        { instance: 'a', batch: 1 },
        { instance: 'b', batch: 41, after: 1 },
        { instance: 'a', batch: 81, after: 41 },
        { instance: 'b', batch: 121, after: 81 },
        { instance: 'a', batch: 161, after: 121 },
      ])
      // Written in file order whichever instance wrote each batch: the last row of a SKU won.
      expect(await pricesOf('SPREAD-9')).toEqual([{ title: 'Lot 169', price: '169.00' }])
    } finally {
      await Promise.all(proxies.map((p) => new Promise((r) => p.server.close(r))))
      worker = await runWorker()
    }
  })

  it('writes the batches of an instance that does not answer through the other one', async () => {
    await worker!.stop()
    worker = undefined
    const seen: number[] = []
    // Written, not refused (a batch that got here before the one it follows is sent again).
    const live = await catalogInstance({
      seen: (options, code) => {
        if (!code) seen.push(options.batch!)
      },
    })
    // A port nothing listens on any more: the first instance is down.
    const gone = createServer()
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r))
    const dead = new URL(live.url)
    dead.port = String((gone.address() as { port: number }).port)
    await new Promise((r) => gone.close(r))
    try {
      const id = await upload(cycledCsv('DOWN', 'Panne', 120), 'down.csv')
      const started = (await ok(START, { configId, source: { uploadId: id } })).startImport
      const { engineSettings, runImportJob } = await import('../src/run/import-job')
      const settings = engineSettings({
        IMPORT_CATALOG_URLS: `${dead},${live.url}`,
      })
      await runImportJob(
        {
          ...importEngine(workerContext('one-catalog-down')),
          ...settings,
          batchRows: 40,
          batchesInFlight: 2,
        },
        started.id,
      )
      expect(await job(started.id)).toMatchObject({
        status: 'COMPLETED',
        productsCreated: 40,
        productsUpdated: 80,
      })
      expect(seen).toEqual([1, 41, 81])
      expect(await pricesOf('DOWN-5')).toEqual([{ title: 'Panne 85', price: '85.00' }])
    } finally {
      await new Promise((r) => live.server.close(r))
      worker = await runWorker()
    }
  })

  it('refuses an IMPORT_CATALOG_URLS entry that is not an http(s) URL', async () => {
    const { engineSettings } = await import('../src/run/import-job')
    expect(engineSettings({}).catalogUrls).toEqual([])
    expect(() =>
      engineSettings({ IMPORT_CATALOG_URLS: 'http://127.0.0.1:4002/graphql,catalog-bulk:4002' }),
    ).toThrow('IMPORT_CATALOG_URLS: "catalog-bulk:4002" is not an http(s) URL')
  })

  it('cancels a running import after its current batch; what was written stays', async () => {
    const id = await upload(csv(2_000, { prefix: 'C' }), 'big.csv')
    const started = (await ok(START, { configId, source: { uploadId: id } })).startImport
    await waitFor(
      () => job(started.id),
      (j) => j.checkpointRow > 0,
      20,
    )
    const cancel = (await ok(CANCEL, { id: started.id })).cancelImport
    expect(cancel).toMatchObject({ cancelRequested: true })
    const done = await finished(started.id)
    expect(done.status).toBe('CANCELLED')
    expect(done.processedRows).toBeLessThan(2_000)
    expect(done.productsCreated).toBe(done.processedRows)
    expect(done.checkpointRow).toBe(done.processedRows)
    const again = await stack.request(CANCEL, { id: started.id }, asUser())
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', status: 'cancelled' })
  })

  it('resumes a job whose worker died, from its checkpoint, never writing a row twice', async () => {
    await worker!.stop()
    worker = undefined
    const id = await upload(csv(400, { prefix: 'D', priceShift: 1 }), 'resume.csv')
    const started = (await ok(START, { configId, source: { uploadId: id } })).startImport
    // A worker that dies mid-way: its task is stopped hard after some batches (no lease handed back).
    const imports = stack.subgraphs.imports
    const { runImportJob } = await import('../src/run/import-job')
    const abort = new AbortController()
    const dying = runImportJob(
      { ...importEngine(workerContext('dying-worker')), batchRows: 40, leaseSeconds: 2 },
      started.id,
      abort.signal,
    ).catch((error) => error)
    await waitFor(
      () => job(started.id),
      (j) => j.checkpointRow >= 80,
      20,
    )
    abort.abort()
    await dying
    // Simulate the death: the lease was handed back on a clean stop; a dead worker leaves it held. It also
    // died between catalog's commit of its last batch and its own checkpoint: that batch is not counted here.
    const before = await job(started.id)
    expect(before.checkpointRow % 40).toBe(0)
    await imports.database.db
      .updateTable('import_jobs')
      .set((eb) => ({
        runner_id: randomUUID(),
        heartbeat_at: new Date(Date.now() - 60_000),
        checkpoint_row: eb('checkpoint_row', '-', 40),
        processed_rows: eb('processed_rows', '-', 40),
        successful_rows: eb('successful_rows', '-', 40),
        products_created: eb('products_created', '-', 40),
      }))
      .where('id', '=', started.id)
      .execute()
    const midway = await job(started.id)
    expect(midway.status).toBe('RUNNING')
    const resumed = await ok(RESUME, { id: midway.id })
    expect(resumed.resumeImport.status).toBe('RUNNING')
    worker = await runWorker()
    const done = await finished(started.id)
    expect(done).toMatchObject({
      status: 'COMPLETED',
      processedRows: 400,
      productsCreated: 400,
      failedRows: 0,
    })
    const history = await stack.subgraphs.catalog.database.db
      .selectFrom('price_history')
      .innerJoin('products', 'products.id', 'price_history.product_id')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('products.sku', 'like', 'D-%')
      .executeTakeFirstOrThrow()
    expect(Number(history.n)).toBe(400)
  })

  it("drops only what an import changed from the gateways' cache: another supplier's page stays", async () => {
    const PAGE = `query($s: UUID!) {
      products(filter: { supplierId: $s }, first: 20) { edges { node { id title prices { price } } } }
    }`
    // As a superuser (the importer's token may not create suppliers and products).
    const su = async (query: string, variables: Record<string, unknown> = {}) => {
      const response = await stack.request(query, variables)
      expect(response.errors).toBeUndefined()
      return response.data
    }
    const read = async (s: string) => (await su(PAGE, { s })).products
    const catalogStatements = () => stack.subgraphs.catalog.database.stats().queries
    const code = `OTHER-${randomUUID().slice(0, 6)}`
    const other = (await su(`mutation { createSupplier(input: { code: "${code}", name: "Other" }) { id } }`))
      .createSupplier.id as string
    await su('mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }', {
      input: { title: 'Not imported', sku: 'O-1', supplierId: other },
    })
    const own = (await su(`{ supplierByCode(code: "${SUPPLIER}") { id } }`)).supplierByCode.id as string
    const cached = await read(other)
    const ownBefore = await read(own)
    // New prices for rows the first import created.
    const id = await upload(csv(30, { priceShift: 5 }), 'new-prices.csv')
    const done = await importUpload(configId, id)
    expect(done).toMatchObject({ status: 'COMPLETED' })
    expect(done.productsUpdated).toBeGreaterThan(0)
    const before = catalogStatements()
    expect(await read(other)).toEqual(cached)
    expect(catalogStatements() - before).toBe(0)
    // The import's own supplier's page is read again and shows the new prices.
    expect(await read(own)).not.toEqual(ownBefore)
    expect(catalogStatements() - before).toBeGreaterThan(0)
  })

  it('imports a generated supplier file: exactly its bad rows fail, at their row numbers', async () => {
    const mapping = supplierFileConfig('csv', 'fr')
    const generatedConfig = await createConfig({
      field_mapping: JSON.stringify(mapping.fieldMapping),
      transformation_rules: JSON.stringify(mapping.transformationRules),
      validation_rules: JSON.stringify(mapping.validationRules),
      create_categories: true,
    })
    const file = join(dirs[1]!, 'generated.csv')
    const generated = await writeSupplierFile(file, {
      rows: 500,
      format: 'csv',
      badShare: 0.01,
      locale: 'fr',
    })
    const id = await upload(await readFile(file), 'generated.csv')
    const done = await importUpload(generatedConfig, id)
    expect(done).toMatchObject({
      status: 'COMPLETED',
      processedRows: 500,
      failedRows: generated.badRows.length,
    })
    expect(done.productsCreated).toBe(500 - generated.badRows.length)
    // The generator's file has both prices: the tax-included one is said not to be imported, by the job and by
    // a preview.
    const notImported =
      'column "Prix public TTC" (retail_price) is not imported: the price comes from column "Prix HT" (price); map retail_price alone to take the price from it'
    expect(done.logs.edges.map((e: any) => e.node.message)).toContain(notImported)
    const { previewImport } = await ok(PREVIEW, {
      configId: generatedConfig,
      source: { uploadId: id },
      limit: 2,
    })
    expect(previewImport.warnings).toContain(notImported)
    const failedRows = [...new Set(done.errors.edges.map((e: any) => e.node.rowNumber))]
    expect(failedRows).toEqual(generated.badRows.map((b) => b.rowNumber))
  })

  it('refuses to start a stored configuration that cannot run, naming the offending rule once', async () => {
    const broken = await createConfig({
      field_mapping: JSON.stringify({ Référence: 'sku', Désignation: 'title' }),
    })
    const id = await upload('Référence;Désignation\r\nX-1;Titre\r\n', 'broken.csv')
    const refused = await stack.request(START, { configId: broken, source: { uploadId: id } }, asUser())
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'configId' })
    expect(refused.errors?.[0]?.message).toBe(
      'configId: the configuration cannot run: transformationRules[1].field: no column feeds price; map a column to it in fieldMapping, or give it a default rule first',
    )
  })

  it("imports a stock's alert threshold (min_stock) with its quantity", async () => {
    const stockConfig = await createConfig({
      field_mapping: JSON.stringify({
        Référence: 'sku',
        Désignation: 'title',
        Stock: 'quantity',
        'Stock mini': 'min_stock',
        Entrepôt: 'warehouse',
      }),
      transformation_rules: JSON.stringify([{ field: 'title', op: 'trim' }]),
    })
    const file = [
      'Référence;Désignation;Stock;Stock mini;Entrepôt',
      'MIN-1;Seuil;12;4;PARIS-01',
      'MIN-2;Sans seuil;7;;PARIS-01',
      'MIN-3;Seuil sans stock;;2;',
    ]
    const id = await upload(csvText(file), 'min-stock.csv')
    const done = await importUpload(stockConfig, id)
    expect(done).toMatchObject({ status: 'COMPLETED', processedRows: 3, productsCreated: 2, failedRows: 1 })
    expect(done.errors.edges.map((e: any) => [e.node.rowNumber, e.node.columnName])).toEqual([
      [3, 'Stock mini'],
    ])
    const stocks = await stack.subgraphs.catalog.database.db
      .selectFrom('product_stocks')
      .innerJoin('products', 'products.id', 'product_stocks.product_id')
      .select(['products.sku', 'product_stocks.quantity', 'product_stocks.min_stock'])
      .where('products.sku', 'in', ['MIN-1', 'MIN-2'])
      .orderBy('products.sku')
      .execute()
    expect(stocks).toEqual([
      { sku: 'MIN-1', quantity: 12, min_stock: 4 },
      { sku: 'MIN-2', quantity: 7, min_stock: 0 },
    ])
  })

  it("imports a supplier's long titles and descriptions; a cell with a control character fails its row alone", async () => {
    const textConfig = await createConfig({
      field_mapping: JSON.stringify({
        Référence: 'sku',
        Désignation: 'title',
        Description: 'description',
        'Prix HT': 'price',
      }),
    })
    const title = 'Perceuse à percussion sans fil, '.repeat(14).trim()
    const description = 'Une description détaillée du produit, comme un fournisseur en écrit. '
      .repeat(40)
      .trim()
    const file = [
      'Référence;Désignation;Description;Prix HT',
      `LONG-1;${title};${description};12,50`,
      'LONG-2;Titre avec\u0007une cloche;Courte;3,00',
      'LONG-3;Simple;Courte;4,00',
    ]
    const id = await upload(csvText(file), 'long-texts.csv')
    const done = await importUpload(textConfig, id)
    expect(done).toMatchObject({ status: 'COMPLETED', processedRows: 3, productsCreated: 2, failedRows: 1 })
    expect(
      done.errors.edges.map((e: any) => [e.node.rowNumber, e.node.columnName, e.node.errorCode]),
    ).toEqual([[2, 'Désignation', 'BAD_USER_INPUT']])
    expect(done.errors.edges[0].node.message).toContain('U+0007')
    const stored = await stack.subgraphs.catalog.database.db
      .selectFrom('products')
      .select(['sku', 'title', 'description'])
      .where('sku', 'in', ['LONG-1', 'LONG-3'])
      .orderBy('sku')
      .execute()
    expect(stored).toEqual([
      { sku: 'LONG-1', title, description },
      { sku: 'LONG-3', title: 'Simple', description: 'Courte' },
    ])
    expect(title.length).toBeGreaterThan(255)
  })
})
