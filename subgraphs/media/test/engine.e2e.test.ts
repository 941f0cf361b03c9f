import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { JobHelpers, RunningWorker } from '@pm/jobs'
import { createLogger } from '@pm/service-kit'
import { createStorage, loadStorageConfig } from '@pm/storage'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileForUpdate, lockContent } from '../src/db/writes'
import { processMediaFile } from '../src/engine/process'
import { loadMediaSettings } from '../src/engine/settings'
import { jpegWithOrientationAndGps, pngClaiming, SVG_WITH_SCRIPT, testImage } from './images'

let stack: TestStack<'catalog' | 'media' | 'analytics'>
let worker: RunningWorker | undefined
let storageDir = ''
let http: Server
let httpUrl = ''
const served = new Map<string, { type: string; body: Buffer } | { redirect: string }>()

const FILE = `id productId fileName fileHash mimeType fileSizeBytes width height format imageType isPrimary
  processingStatus processingError sourceUrl url objectKey
  thumbnails { sizeName format width height url fileSizeBytes }`
const ATTACH = `mutation($input: AttachProductImageInput!) {
  attachProductImage(input: $input) { deduplicated reusedStoredFile mediaFile { ${FILE} } }
}`
const MEDIA = `query($id: UUID!) { mediaFile(id: $id) { ${FILE}
  small: thumbnail(size: SMALL) { width height format url }
  smallWebp: thumbnail(size: SMALL, format: WEBP) { width height format url }
} }`

const storage = () => createStorage(loadStorageConfig(process.env))

async function newProduct(title = 'Produit') {
  const id = randomUUID()
  await stack.subgraphs.catalog.database.db.insertInto('products').values({ id, title }).execute()
  return id
}

async function upload(content: Buffer, filename: string) {
  const response = await fetch(`${stack.gatewayUrl}/uploads?filename=${encodeURIComponent(filename)}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.tokenFor({ userId: stack.superuserId, superuser: true })}`,
      'content-type': 'application/octet-stream',
      'x-apollo-operation-name': 'upload',
    },
    body: new Uint8Array(content),
  })
  expect(response.status).toBe(201)
  return ((await response.json()) as { id: string }).id
}

async function attach(input: Record<string, unknown>) {
  const res = await stack.request(ATTACH, { input })
  expect(res.errors).toBeUndefined()
  return res.data.attachProductImage
}

async function refused(input: Record<string, unknown>) {
  const res = await stack.request(ATTACH, { input })
  expect(res.data).toBeNull()
  return res.errors![0]!
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read()
    if (done(value)) return value
    await new Promise((r) => setTimeout(r, 100))
  }
}

const mediaFile = async (id: string) => {
  const res = await stack.request(MEDIA, { id })
  expect(res.errors).toBeUndefined()
  return res.data.mediaFile
}
const processed = (id: string) =>
  waitFor(
    () => mediaFile(id),
    (f) => f.processingStatus === 'COMPLETED' || f.processingStatus === 'FAILED',
  )

/** The signed URL fetched from the test gateway (PUBLIC_URL names the deployed one). */
async function download(url: string, headers: Record<string, string> = {}) {
  const signed = new URL(url)
  return fetch(`${stack.gatewayUrl}${signed.pathname}${signed.search}`, { headers })
}

async function keysUnder(prefix: string) {
  const keys: string[] = []
  for await (const o of storage().list(prefix)) keys.push(o.key)
  return keys.sort()
}

beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'pm-media-storage-'))
  process.env.STORAGE_DIR = storageDir
  // Loopback only: the test's own image server; any other private address stays refused.
  process.env.FETCH_ALLOW_PRIVATE = '127.0.0.1/32'
  http = createServer((req, res) => {
    const entry = served.get(req.url ?? '')
    if (!entry) return res.writeHead(404).end()
    if ('redirect' in entry) return res.writeHead(302, { location: entry.redirect }).end()
    res.writeHead(200, { 'content-type': entry.type, 'content-length': entry.body.length }).end(entry.body)
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  httpUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}`
  process.env.GATEWAY_CACHE_NAME = `media-e2e-${randomUUID().slice(0, 8)}`
  stack = await startTestStack({
    only: ['catalog', 'media', 'analytics'],
    gateway: { redisUrl: process.env.REDIS_URL!, cache: { name: process.env.GATEWAY_CACHE_NAME } },
  })
  // The queue's schema exists once a worker has started on the database.
  worker = await stack.startWorker('media')
}, 120_000)

afterAll(async () => {
  await worker?.stop()
  await stack?.stop()
  await new Promise((r) => http?.close(r))
  if (storageDir) await rm(storageDir, { recursive: true, force: true })
})

describe('attach, process, serve', () => {
  it('attaches an upload, processes it into thumbnails and serves them through signed URLs', async () => {
    const productId = await newProduct()
    const bytes = await testImage(1600, 1000, 'png')
    const uploadId = await upload(bytes, 'photo-named-anything.bin')
    const { mediaFile: file, deduplicated, reusedStoredFile } = await attach({ productId, uploadId })
    expect(deduplicated).toBe(false)
    expect(reusedStoredFile).toBe(false)
    expect(file).toMatchObject({
      productId,
      fileName: 'photo-named-anything.bin',
      mimeType: 'image/png',
      format: 'png',
      width: 1600,
      height: 1000,
      fileSizeBytes: bytes.length,
      imageType: 'MAIN',
      isPrimary: true,
      url: null,
    })
    expect(file.fileHash).toMatch(/^[0-9a-f]{64}$/)
    expect(['PENDING', 'PROCESSING', 'COMPLETED']).toContain(file.processingStatus)

    const done = await processed(file.id)
    expect(done.processingStatus).toBe('COMPLETED')
    expect(done.processingError).toBeNull()
    const summary = done.thumbnails.map((t: any) => `${t.sizeName}/${t.format}/${t.width}x${t.height}`).sort()
    expect(summary).toEqual([
      'LARGE/png/1000x625',
      'LARGE/webp/1000x625',
      'MEDIUM/png/400x250',
      'MEDIUM/webp/400x250',
      'SMALL/png/150x94',
      'SMALL/webp/150x94',
    ])
    expect(done.small).toMatchObject({ width: 150, format: 'png' })
    expect(done.smallWebp).toMatchObject({ width: 150, format: 'webp' })

    // The full-size image and a thumbnail load like a browser would load them.
    const full = await download(done.url)
    expect(full.status).toBe(200)
    expect(full.headers.get('content-type')).toBe('image/png')
    expect(full.headers.get('cache-control')).toMatch(/max-age=\d+/)
    const etag = full.headers.get('etag')!
    expect(etag).toBeTruthy()
    expect(Buffer.from(await full.arrayBuffer()).equals(bytes)).toBe(true)
    expect((await download(done.url, { 'if-none-match': etag })).status).toBe(304)
    const webp = await download(done.smallWebp.url)
    expect(webp.headers.get('content-type')).toBe('image/webp')
    const meta = await sharp(Buffer.from(await webp.arrayBuffer())).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 150, 94])
    // A tampered link is refused.
    const forged = new URL(done.url)
    forged.searchParams.set('sig', 'x'.repeat(43))
    expect((await download(forged.toString())).status).toBe(403)
  })

  it('applies EXIF orientation and strips GPS from everything it serves', async () => {
    const productId = await newProduct()
    const bytes = await jpegWithOrientationAndGps(600, 400)
    expect((await sharp(bytes).metadata()).exif).toBeDefined()
    const { mediaFile: file } = await attach({ productId, uploadId: await upload(bytes, 'side.jpg') })
    expect([file.width, file.height]).toEqual([400, 600])
    const done = await processed(file.id)
    expect(done.processingStatus).toBe('COMPLETED')
    for (const url of [done.url, ...done.thumbnails.map((t: any) => t.url)]) {
      const image = Buffer.from(await (await download(url)).arrayBuffer())
      const meta = await sharp(image).metadata()
      expect(meta.exif).toBeUndefined()
      expect(meta.orientation ?? 1).toBe(1)
      expect(meta.height! > meta.width!).toBe(true)
    }
  })

  it('deduplicates by content: same product answers the existing file, another product shares the bytes', async () => {
    const first = await newProduct()
    const second = await newProduct()
    const bytes = await testImage(300, 300, 'jpeg', 7)
    const a = await attach({ productId: first, uploadId: await upload(bytes, 'a.jpg') })
    const again = await attach({ productId: first, uploadId: await upload(bytes, 'b.jpg') })
    expect(again.deduplicated).toBe(true)
    expect(again.mediaFile.id).toBe(a.mediaFile.id)
    const shared = await attach({ productId: second, uploadId: await upload(bytes, 'c.jpg') })
    expect(shared.deduplicated).toBe(false)
    expect(shared.reusedStoredFile).toBe(true)
    expect(shared.mediaFile.id).not.toBe(a.mediaFile.id)
    expect(shared.mediaFile.fileHash).toBe(a.mediaFile.fileHash)
    const hash = a.mediaFile.fileHash as string
    await processed(a.mediaFile.id)
    await processed(shared.mediaFile.id)
    const rows = await stack.subgraphs.media.database.db
      .selectFrom('media_files')
      .select('id')
      .where('file_hash', '=', hash)
      .execute()
    expect(rows).toHaveLength(2)
    // One stored original and one set of thumbnails for both files.
    expect(await keysUnder(`media/originals/${hash}`)).toEqual([`media/originals/${hash}`])
    expect(await keysUnder(`media/thumbnails/${hash}/`)).toHaveLength(6)

    // Deleting one keeps the bytes the other still uses; deleting the last removes them all.
    const DELETE = `mutation($id: UUID!) { deleteMediaFile(id: $id) { deletedMediaFileId } }`
    expect((await stack.request(DELETE, { id: a.mediaFile.id })).errors).toBeUndefined()
    expect(await keysUnder(`media/originals/${hash}`)).toHaveLength(1)
    expect((await download((await mediaFile(shared.mediaFile.id)).url)).status).toBe(200)
    expect((await stack.request(DELETE, { id: shared.mediaFile.id })).errors).toBeUndefined()
    expect(await keysUnder(`media/originals/${hash}`)).toEqual([])
    expect(await keysUnder(`media/thumbnails/${hash}/`)).toEqual([])
  })

  it('fetches an image from a URL; reprocessing after a size change replaces the thumbnails, one call per product', async () => {
    const productId = await newProduct()
    served.set('/catalogue/photo.webp', { type: 'image/jpeg', body: await testImage(900, 600, 'webp', 3) })
    const { mediaFile: file } = await attach({ productId, url: `${httpUrl}/catalogue/photo.webp` })
    // The bytes say WebP, whatever the server's Content-Type said.
    expect(file).toMatchObject({
      format: 'webp',
      fileName: 'photo.webp',
      sourceUrl: `${httpUrl}/catalogue/photo.webp`,
    })
    const second = (await attach({ productId, uploadId: await upload(await testImage(500, 500), 'x.png') }))
      .mediaFile
    await processed(file.id)
    await processed(second.id)
    expect((await mediaFile(file.id)).thumbnails).toHaveLength(3)

    // The sizes change (a worker started with other settings), then one call reprocesses the product.
    await worker!.stop()
    worker = await stack.startWorker('media', { env: { MEDIA_THUMBNAIL_SIZES: 'large:800,small:100' } })
    const REPROCESS = `mutation($p: UUID!) { reprocessProductMedia(productId: $p) { id processingStatus } }`
    const res = await stack.request(REPROCESS, { p: productId })
    expect(res.errors).toBeUndefined()
    expect(res.data.reprocessProductMedia).toEqual([
      { id: file.id, processingStatus: 'PENDING' },
      { id: second.id, processingStatus: 'PENDING' },
    ])
    const after = await processed(file.id)
    expect(after.processingStatus).toBe('COMPLETED')
    // Re-running does not duplicate: still one thumbnail per size and format, at the new sizes.
    expect(after.thumbnails.map((t: any) => `${t.sizeName}/${t.width}x${t.height}`)).toEqual([
      'SMALL/100x67',
      'MEDIUM/400x267',
      'LARGE/800x533',
    ])
    const large = await download(after.thumbnails[2].url)
    expect((await sharp(Buffer.from(await large.arrayBuffer())).metadata()).width).toBe(800)
    const single = await stack.request(
      `mutation($id: UUID!) { reprocessMedia(id: $id) { processingStatus } }`,
      {
        id: second.id,
      },
    )
    expect(single.data.reprocessMedia.processingStatus).toBe('PENDING')
    expect((await processed(second.id)).thumbnails).toHaveLength(6)
  })
})

describe('a file deleted while it is processed', () => {
  it('waits for the delete in the order deleteMediaFile locks (row, then content): no deadlock, nothing left', async () => {
    const productId = await newProduct()
    const uploadId = await upload(await testImage(900, 600, 'jpeg'), 'deleted-while-processed.jpg')
    const { mediaFile: file } = await attach({ productId, uploadId })
    await processed(file.id)
    const { db } = stack.subgraphs.media.database
    await db
      .updateTable('media_files')
      .set({ processing_status: 'pending' })
      .where('id', '=', file.id)
      .execute()

    // The run reads the original only once it has claimed the file; it waits there until the delete holds the row.
    let reading!: () => void
    const claimed = new Promise<void>((r) => {
      reading = r
    })
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const real = storage()
    const gated = Object.assign(Object.create(real), {
      get: async (key: string, range?: { start: number; end?: number }) => {
        reading()
        await gate
        return real.get(key, range)
      },
    })
    const helpers = {
      jobId: 'test',
      attempts: 1,
      maxAttempts: 1,
      logger: createLogger({ test: 'media' }, 'error'),
      signal: new AbortController().signal,
    } as JobHelpers
    const run = processMediaFile(
      { db, storage: gated, settings: loadMediaSettings(process.env), logger: helpers.logger },
      file.id,
      helpers,
    )
    await claimed

    const deleted = db.transaction().execute(async (trx) => {
      expect(await fileForUpdate(trx, file.id)).toBeDefined()
      release()
      // The run has rendered and now waits on a lock; the delete takes the content's lock next, as it does.
      await waitFor(
        () =>
          sql<{ waiting: number }>`SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`.execute(
            trx,
          ),
        (r) => r.rows[0]!.waiting > 0,
      )
      await lockContent(trx, file.fileHash)
      await trx.deleteFrom('media_files').where('id', '=', file.id).execute()
    })
    await expect(deleted).resolves.toBeUndefined()
    await expect(run).resolves.toBeUndefined()
    expect(
      await db.selectFrom('media_thumbnails').select('id').where('media_file_id', '=', file.id).execute(),
    ).toEqual([])
  })
})

describe('hostile and broken input', () => {
  let productId = ''
  beforeAll(async () => {
    productId = await newProduct('Cible')
  })
  const rowsOfProduct = () =>
    stack.subgraphs.media.database.db
      .selectFrom('media_files')
      .select('id')
      .where('product_id', '=', productId)
      .execute()

  it('refuses a text file named .jpg, an SVG with script and a PNG claiming 100,000×100,000, writing nothing', async () => {
    const storedBefore = await keysUnder('media/')
    const text = await refused({
      productId,
      uploadId: await upload(Buffer.from('not an image\n'), 'photo.jpg'),
    })
    expect(text.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'NOT_AN_IMAGE',
      field: 'input.uploadId',
    })
    const svg = await refused({ productId, uploadId: await upload(SVG_WITH_SCRIPT, 'logo.svg') })
    expect(svg.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'SVG_REFUSED' })
    const bomb = await refused({
      productId,
      uploadId: await upload(pngClaiming(100_000, 100_000), 'bomb.png'),
    })
    expect(bomb.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_MANY_PIXELS' })
    expect(bomb.message).toMatch(/100000×100000/)
    expect(await rowsOfProduct()).toEqual([])
    expect(await keysUnder('media/')).toEqual(storedBefore)
  })

  it('refuses a URL that redirects to a private address, and a URL on one when not allowed', async () => {
    served.set('/redirect', { redirect: 'http://10.0.0.1/internal.png' })
    const redirected = await refused({ productId, url: `${httpUrl}/redirect` })
    expect(redirected.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'FORBIDDEN_ADDRESS',
      field: 'input.url',
    })
    expect(await rowsOfProduct()).toEqual([])
  })

  it('marks a truncated JPEG failed with the reason kept; the worker keeps working', async () => {
    const whole = await testImage(800, 600, 'jpeg', 9)
    const truncated = whole.subarray(0, Math.floor(whole.length * 0.6))
    const { mediaFile: file } = await attach({ productId, uploadId: await upload(truncated, 'cut.jpg') })
    const failed = await processed(file.id)
    expect(failed.processingStatus).toBe('FAILED')
    expect(failed.processingError).toMatch(/damaged or truncated/)
    expect(failed.thumbnails).toEqual([])
    expect(failed.url).toBeNull()
    // The same worker processes the next image.
    const next = await attach({ productId, uploadId: await upload(await testImage(200, 200), 'ok.png') })
    expect((await processed(next.mediaFile.id)).processingStatus).toBe('COMPLETED')
  })

  it('refuses a missing or foreign upload, both sources at once, and an unknown product', async () => {
    const missing = await refused({ productId, uploadId: randomUUID() })
    expect(missing.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'input.uploadId' })
    const both = await refused({ productId, uploadId: randomUUID(), url: `${httpUrl}/x` })
    expect(both.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input' })
    const uploadId = await upload(await testImage(10, 10), 'x.png')
    const unknown = await refused({ productId: randomUUID(), uploadId })
    expect(unknown.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'input.productId' })
    // Someone else's upload is not found either.
    const other = stack.tokenFor({ userId: randomUUID(), permissions: ['media:create', 'product:read'] })
    const res = await stack.request(
      ATTACH,
      { input: { productId, uploadId } },
      { authorization: `Bearer ${other}` },
    )
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'input.uploadId' })
  })
})

describe('permissions', () => {
  it('mints URLs only for callers who may read products', async () => {
    const productId = await newProduct()
    const { mediaFile: file } = await attach({
      productId,
      uploadId: await upload(await testImage(40, 40), 'p.png'),
    })
    await processed(file.id)
    const mediaOnly = stack.tokenFor({ userId: randomUUID(), permissions: ['media:read'] })
    const res = await stack.request(
      `query($id: UUID!) { mediaFile(id: $id) { id url } }`,
      { id: file.id },
      { authorization: `Bearer ${mediaOnly}` },
    )
    expect(res.data?.mediaFile?.url ?? null).toBeNull()
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    const reader = stack.tokenFor({ userId: randomUUID(), permissions: ['media:read', 'product:read'] })
    const ok = await stack.request(
      `query($id: UUID!) { mediaFile(id: $id) { id url } }`,
      { id: file.id },
      { authorization: `Bearer ${reader}` },
    )
    expect(ok.errors).toBeUndefined()
    expect(ok.data.mediaFile.url).toMatch(/\/files\/media\//)
  })
})
