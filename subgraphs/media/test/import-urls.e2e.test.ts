import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunningWorker } from '@pm/jobs'
import { createLogger, postPeer, signedPeers } from '@pm/service-kit'
import { createStorage, loadStorageConfig } from '@pm/storage'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { importEngine } from '../../imports/src/jobs'
import { runImportJob } from '../../imports/src/run/import-job'
import { testImage } from './images'

// The import engine hands the image URLs of a supplier file to media, whose worker downloads and processes
// them: imports, catalog and media through the gateway, both workers running, images on a loopback server.

type Domains = 'core' | 'catalog' | 'imports' | 'media'
let stack: TestStack<Domains>
let importsWorker: RunningWorker | undefined
let mediaWorker: RunningWorker | undefined
let storageDir = ''
let http: Server
let httpUrl = ''
const served = new Map<string, { type: string; body: Buffer }>()
/** Requests the image server answered, by path. */
const hits = new Map<string, number>()
const SUPPLIER = 'IMG-SUP'

const JOB = `query($id: UUID!) { importJob(id: $id) {
  status productsCreated productsUnchanged failedRows lastError
  logs(first: 100) { edges { node { logLevel message context } } }
} }`
const START = `mutation($configId: UUID!, $source: ImportSourceInput!, $force: Boolean) {
  startImport(configId: $configId, source: $source, force: $force) { id }
}`
const PRODUCT = `query($sku: String!) { productBySku(sku: $sku) { id
  media { id fileName fileHash processingStatus processingError sourceUrl isPrimary displayOrder imageType width
    url thumbnails { sizeName format url } }
} }`

const HAND_OVER = `mutation($products: [ProductImageUrlsInput!]!) {
  importProductImageUrls(products: $products) { queued known refused { reason count } }
}`

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read()
    if (done(value)) return value
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function upload(content: string, filename: string) {
  const response = await fetch(`${stack.gatewayUrl}/uploads?filename=${encodeURIComponent(filename)}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.tokenFor({ userId: stack.superuserId, superuser: true })}`,
      'content-type': 'application/octet-stream',
      'x-apollo-operation-name': 'upload',
    },
    body: Buffer.from(content),
  })
  expect(response.status).toBe(201)
  return ((await response.json()) as { id: string }).id
}

const job = async (id: string) => {
  const res = await stack.request(JOB, { id })
  expect(res.errors).toBeUndefined()
  return res.data.importJob
}
const finished = (id: string) =>
  waitFor(
    () => job(id),
    (j) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(j.status),
  )

async function product(sku: string) {
  const res = await stack.request(PRODUCT, { sku })
  expect(res.errors).toBeUndefined()
  return res.data.productBySku
}

/** The product's files once none is waiting for its download or processing. */
const settled = (sku: string, files: number) =>
  waitFor(
    () => product(sku),
    (p) =>
      p.media.length === files &&
      p.media.every((f: any) => f.processingStatus === 'COMPLETED' || f.processingStatus === 'FAILED'),
  )

/** A signed media URL loaded from the test gateway (PUBLIC_URL names the deployed one). */
async function download(url: string) {
  const signed = new URL(url)
  return fetch(`${stack.gatewayUrl}${signed.pathname}${signed.search}`)
}

async function createConfig() {
  const row = await stack.subgraphs.imports.database.db
    .insertInto('import_configs')
    .values({
      supplier_code: SUPPLIER,
      import_type: 'products',
      config_name: `Images ${randomUUID().slice(0, 8)}`,
      connection_config: JSON.stringify({ type: 'http', url: `${httpUrl}/feed.csv` }),
      file_format: 'csv',
      encoding: 'UTF-8',
      delimiter: ';',
      field_mapping: JSON.stringify({ Ref: 'sku', Titre: 'title', Prix: 'price', Images: 'image_url' }),
      transformation_rules: JSON.stringify([
        { field: 'price', op: 'number', locale: 'fr' },
        { field: 'image_url', op: 'split', separator: '|' },
      ]),
      validation_rules: JSON.stringify([{ field: 'title', rule: 'required' }]),
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

const csv = (rows: [string, string[]][]) =>
  `${['Ref;Titre;Prix;Images', ...rows.map(([sku, images]) => `${sku};Article ${sku};12,50;${images.map((p) => (p.startsWith('/') ? `${httpUrl}${p}` : p)).join('|')}`)].join('\n')}\n`

const mediaDb = () => stack.subgraphs.media.database.db
async function mediaCounts() {
  const files = await mediaDb()
    .selectFrom('media_files')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  const urls = await mediaDb()
    .selectFrom('media_source_urls')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM graphile_worker._private_jobs`.execute(
    mediaDb(),
  )
  return { files: Number(files.n), urls: Number(urls.n), queued: Number(rows[0]!.n) }
}
const totalHits = () => [...hits.values()].reduce((n, c) => n + c, 0)
const logText = (j: any) => j.logs.edges.map((e: any) => e.node.message).join('\n')

beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'pm-import-urls-storage-'))
  process.env.STORAGE_DIR = storageDir
  // Loopback only: the test's own image server; any other private address stays refused.
  process.env.FETCH_ALLOW_PRIVATE = '127.0.0.1/32'
  process.env.IMPORT_BATCH_ROWS = '2'
  const png = await testImage(900, 600, 'png', 1)
  served.set('/img/a.png', { type: 'image/png', body: png })
  served.set('/img/a-again.png', { type: 'image/png', body: png })
  served.set('/img/b.jpg', { type: 'image/jpeg', body: await testImage(640, 480, 'jpeg', 2) })
  served.set('/img/c.webp', { type: 'image/webp', body: await testImage(500, 500, 'webp', 3) })
  served.set('/img/text.jpg', { type: 'image/jpeg', body: Buffer.from('this is not a picture at all\n') })
  http = createServer((req, res) => {
    hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1)
    const entry = served.get(req.url ?? '')
    if (!entry) return res.writeHead(404).end()
    res.writeHead(200, { 'content-type': entry.type, 'content-length': entry.body.length }).end(entry.body)
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  httpUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}`
  process.env.GATEWAY_CACHE_NAME = `import-urls-e2e-${randomUUID().slice(0, 8)}`
  stack = await startTestStack({
    only: ['core', 'catalog', 'imports', 'media'],
    gateway: { redisUrl: process.env.REDIS_URL!, cache: { name: process.env.GATEWAY_CACHE_NAME } },
  })
  const supplier = await stack.request(
    `mutation { createSupplier(input: { code: "${SUPPLIER}", name: "Image supplier" }) { id } }`,
  )
  expect(supplier.errors).toBeUndefined()
  // The queues' schemas exist once a worker has started on each database.
  ;[importsWorker, mediaWorker] = await Promise.all([
    stack.startWorker('imports'),
    stack.startWorker('media'),
  ])
}, 120_000)

afterAll(async () => {
  await importsWorker?.stop()
  await mediaWorker?.stop()
  await stack?.stop()
  await new Promise((r) => http?.close(r))
  if (storageDir) await rm(storageDir, { recursive: true, force: true })
})

describe('image URLs of a supplier file', () => {
  let configId = ''
  let file = ''

  it('end as the products processed media; a broken URL leaves a failed file and the import completed', async () => {
    configId = await createConfig()
    file = csv([
      ['P-1', ['/img/a.png', '/img/b.jpg']],
      ['P-2', ['/img/a.png']],
      ['P-3', ['/img/missing.png', '/img/c.webp']],
      ['P-4', ['/img/text.jpg']],
      ['P-5', ['/img/a.png', '/img/a-again.png']],
      ['P-6', ['https://images.supplier.example/6.jpg']],
    ])
    const started = await stack.request(START, {
      configId,
      source: { uploadId: await upload(file, 'f.csv') },
    })
    expect(started.errors).toBeUndefined()
    const done = await finished(started.data.startImport.id)
    expect(done).toMatchObject({ status: 'COMPLETED', productsCreated: 6, failedRows: 0 })
    expect(logText(done)).toMatch(
      /8 image URLs handed to media \(8 new, 0 already known\), 1 not handed over \(1: refused by media: .*reserved never to exist\)/,
    )

    const p1 = await settled('P-1', 2)
    expect(
      p1.media.map((f: any) => [f.sourceUrl, f.processingStatus, f.isPrimary, f.displayOrder, f.imageType]),
    ).toEqual([
      [`${httpUrl}/img/a.png`, 'COMPLETED', true, 0, 'MAIN'],
      [`${httpUrl}/img/b.jpg`, 'COMPLETED', false, 1, 'GALLERY'],
    ])
    for (const f of p1.media) {
      expect(f.thumbnails.map((t: any) => `${t.sizeName}/${t.format}`).sort()).toEqual(
        expect.arrayContaining(['SMALL/webp', 'MEDIUM/webp', 'LARGE/webp']),
      )
      const full = await download(f.url)
      expect(full.status).toBe(200)
      expect(full.headers.get('content-type')).toMatch(/^image\//)
      for (const t of f.thumbnails) expect((await download(t.url)).status).toBe(200)
    }
    expect(p1.media[0]).toMatchObject({ fileName: 'a.png', width: 900 })

    // The same bytes for another product: its own file, sharing the stored content.
    const p2 = await settled('P-2', 1)
    expect(p2.media[0]).toMatchObject({
      processingStatus: 'COMPLETED',
      isPrimary: true,
      fileHash: p1.media[0].fileHash,
    })

    // A 404 fails its file (the reason kept) and passes the primary role to the next URL.
    const p3 = await settled('P-3', 2)
    expect(p3.media.map((f: any) => [f.sourceUrl, f.processingStatus, f.isPrimary])).toEqual([
      [`${httpUrl}/img/missing.png`, 'FAILED', false],
      [`${httpUrl}/img/c.webp`, 'COMPLETED', true],
    ])
    expect(p3.media[0].processingError).toMatch(/HTTP 404/)
    expect(p3.media[0].url).toBeNull()

    const p4 = await settled('P-4', 1)
    expect(p4.media[0]).toMatchObject({ processingStatus: 'FAILED', url: null })
    expect(p4.media[0].processingError).toMatch(/not an image/)

    // Two URLs serving the same bytes: one file, both URLs remembered for it.
    const p5 = await settled('P-5', 1)
    expect(p5.media[0]).toMatchObject({ processingStatus: 'COMPLETED', isPrimary: true })
    const remembered = await mediaDb()
      .selectFrom('media_source_urls')
      .select(['url', 'media_file_id'])
      .where('product_id', '=', p5.id)
      .orderBy('url')
      .execute()
    expect(remembered).toEqual([
      { url: `${httpUrl}/img/a-again.png`, media_file_id: p5.media[0].id },
      { url: `${httpUrl}/img/a.png`, media_file_id: p5.media[0].id },
    ])

    expect((await product('P-6')).media).toEqual([])
    // Each URL was fetched once per product that names it (a.png by three products).
    expect(hits.get('/img/a.png')).toBe(3)
    expect(hits.get('/img/missing.png')).toBe(1)
  })

  it('downloads a failed URL again on reprocessMedia, once it serves an image', async () => {
    const p3 = await product('P-3')
    const failed = p3.media[0]
    expect(failed.processingStatus).toBe('FAILED')
    served.set('/img/missing.png', { type: 'image/png', body: await testImage(300, 200, 'png', 4) })
    const res = await stack.request(`mutation($id: UUID!) { reprocessMedia(id: $id) { processingStatus } }`, {
      id: failed.id,
    })
    expect(res.errors).toBeUndefined()
    expect(res.data.reprocessMedia.processingStatus).toBe('PENDING')
    const again = await waitFor(
      () => product('P-3'),
      (p) => p.media[0].processingStatus === 'COMPLETED',
    )
    // c.webp keeps the primary role it took when this one failed.
    expect(again.media.map((f: any) => [f.processingStatus, f.isPrimary, f.width])).toEqual([
      ['COMPLETED', false, 300],
      ['COMPLETED', true, 500],
    ])
    expect(again.media[0].processingError).toBeNull()
  })

  it('a re-import of the same file fetches and creates nothing', async () => {
    await waitFor(mediaCounts, (c) => c.queued === 0)
    const before = await mediaCounts()
    const fetched = totalHits()
    const started = await stack.request(START, {
      configId,
      source: { uploadId: await upload(file, 'f-again.csv') },
      force: true,
    })
    expect(started.errors).toBeUndefined()
    const done = await finished(started.data.startImport.id)
    expect(done).toMatchObject({ status: 'COMPLETED', productsUnchanged: 6 })
    expect(logText(done)).toMatch(/8 image URLs handed to media \(0 new, 8 already known\)/)
    expect(await mediaCounts()).toEqual(before)
    expect(totalHits()).toBe(fetched)
  })

  it('completes the import when media is down, saying how many image URLs were not handed over and why', async () => {
    // The running worker reaches media; this run's does not (nothing listens on port 9).
    await importsWorker!.stop()
    importsWorker = undefined
    const before = await mediaCounts()
    const started = await stack.request(START, {
      configId,
      source: {
        uploadId: await upload(
          csv([
            ['P-7', ['/img/b.jpg']],
            ['P-8', ['/img/c.webp']],
          ]),
          'g.csv',
        ),
      },
    })
    expect(started.errors).toBeUndefined()
    const peers = signedPeers(
      {
        catalog: stack.subgraphs.catalog.server.graphqlUrl,
        core: stack.subgraphs.core.server.graphqlUrl,
        media: 'http://127.0.0.1:9/graphql',
      },
      stack.secrets.signing,
    )
    const deps = importEngine({
      domain: 'imports',
      database: stack.subgraphs.imports.database,
      storage: createStorage(loadStorageConfig(process.env)),
      peers,
      gatewayUrl: stack.gatewayUrl,
      env: process.env,
      logger: createLogger({ service: 'import-urls-no-media' }, 'error'),
    })
    await runImportJob(deps, started.data.startImport.id)
    const done = await job(started.data.startImport.id)
    expect(done).toMatchObject({ status: 'COMPLETED', productsCreated: 2, failedRows: 0 })
    const warning = done.logs.edges.find(
      (e: any) => e.node.logLevel === 'WARNING' && /not handed over/.test(e.node.message),
    )
    expect(warning.node.message).toMatch(
      /0 image URLs handed to media .*2 not handed over \(2: media unavailable: /,
    )
    expect(warning.node.context).toMatchObject({ imageUrlsHanded: 0, imageUrlsNotHanded: 2 })
    expect(await mediaCounts()).toEqual(before)
    expect((await product('P-7')).media).toEqual([])
  })

  it("takes a batch of 2,000 products' URLs in one call, and finds them all known when sent again", async () => {
    // Recorded only: no worker downloads them (the media worker stops; their jobs stay queued).
    await mediaWorker!.stop()
    mediaWorker = undefined
    const peers = signedPeers({ media: stack.subgraphs.media.server.graphqlUrl }, stack.secrets.signing)
    const products = Array.from({ length: 2_000 }, (_, i) => ({
      productId: randomUUID(),
      urls: Array.from({ length: 1 + (i % 3) }, (_, k) => `https://cdn.supplier.com/${i}/${k}.jpg`),
    }))
    const urls = products.reduce((n, p) => n + p.urls.length, 0)
    const call = async () => {
      const started = performance.now()
      const body = await postPeer<any>(peers, 'media', HAND_OVER, { products }, 120_000)
      expect(body.errors).toBeUndefined()
      return { ...body.data.importProductImageUrls, ms: performance.now() - started }
    }
    const before = await mediaCounts()
    const first = await call()
    expect(first).toMatchObject({ queued: urls, known: 0, refused: [] })
    const after = await mediaCounts()
    expect(after.files - before.files).toBe(urls)
    expect(after.urls - before.urls).toBe(urls)
    expect(after.queued - before.queued).toBe(urls)
    const pending = await mediaDb()
      .selectFrom('media_files')
      .select(['display_order', 'is_primary', 'image_type', 'processing_status'])
      .where('product_id', '=', products[2]!.productId)
      .orderBy('display_order')
      .execute()
    expect(pending).toEqual([
      { display_order: 0, is_primary: true, image_type: 'main', processing_status: 'pending' },
      { display_order: 1, is_primary: false, image_type: 'gallery', processing_status: 'pending' },
      { display_order: 2, is_primary: false, image_type: 'gallery', processing_status: 'pending' },
    ])
    const again = await call()
    expect(again).toMatchObject({ queued: 0, known: urls, refused: [] })
    expect(await mediaCounts()).toEqual(after)
    console.info(
      `importProductImageUrls: ${urls} new URLs of 2,000 products in ${Math.round(first.ms)} ms; all known again in ${Math.round(again.ms)} ms`,
    )
  })

  it('takes image URLs up to 2,048 bytes, and refuses alone one that is longer or holds a control character', async () => {
    const peers = signedPeers({ media: stack.subgraphs.media.server.graphqlUrl }, stack.secrets.signing)
    const signed = `https://cdn.supplier.com/photo.jpg?${'sig=abcdef0123456789&'.repeat(70)}w=1000`
    const products = [
      {
        productId: randomUUID(),
        urls: [
          signed,
          'https://cdn.supplier.com/bell\u0007.jpg',
          `https://cdn.supplier.com/${'z'.repeat(2_100)}.jpg`,
        ],
      },
      { productId: randomUUID(), urls: ['https://cdn.supplier.com/plain.jpg'] },
    ]
    const body = await postPeer<any>(peers, 'media', HAND_OVER, { products }, 60_000)
    expect(body.errors).toBeUndefined()
    expect(body.data.importProductImageUrls).toEqual({
      queued: 2,
      known: 0,
      refused: [
        { reason: 'the image URL holds a control or bidirectional formatting character', count: 1 },
        { reason: 'the image URL is longer than 2048 bytes', count: 1 },
      ],
    })
    const kept = await mediaDb()
      .selectFrom('media_source_urls')
      .select('url')
      .where('url', 'in', [signed, 'https://cdn.supplier.com/plain.jpg'])
      .execute()
    expect(kept).toHaveLength(2)
    expect(signed.length).toBeGreaterThan(1_000)
  })
})
