import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let stack: TestStack<'catalog' | 'media' | 'analytics'>
const productA = randomUUID()
const productB = randomUUID()
const productC = randomUUID()

let worker: Awaited<ReturnType<typeof stack.startWorker>> | undefined
let storageDir = ''
let seq = 0

const FILE_FIELDS = `id productId fileName fileHash mimeType fileSizeBytes storageType objectKey
  width height format imageType displayOrder isPrimary altText processingStatus isValid`

const ATTACH = `mutation($input: AttachProductImageInput!) {
  attachProductImage(input: $input) { deduplicated reusedStoredFile mediaFile { ${FILE_FIELDS} product { id title } } }
}`

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const head = Buffer.alloc(4)
  head.writeUInt32BE(data.length)
  const tail = Buffer.alloc(4)
  tail.writeUInt32BE(crc32(body))
  return Buffer.concat([head, body, tail])
}

/** A valid width × 4 RGB PNG of one colour. */
function png(width: number, rgb: [number, number, number]): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(4, 4)
  ihdr.writeUInt8(8, 8)
  ihdr.writeUInt8(2, 9)
  const row = Buffer.concat([Buffer.from([0]), ...Array.from({ length: width }, () => Buffer.from(rgb))])
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.concat([row, row, row, row]))),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

/** A small PNG of its own (a different colour per seed), uploaded through the gateway: the upload id. */
async function uploadImage(seed = ++seq): Promise<string> {
  const bytes = png(8 + (seed % 50), [seed % 256, (seed >> 8) % 256, 7])
  const response = await fetch(`${stack.gatewayUrl}/uploads?filename=image-${seed}.png`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.tokenFor({ userId: stack.superuserId, superuser: true })}`,
      'content-type': 'application/octet-stream',
      'x-apollo-operation-name': 'upload',
    },
    body: new Uint8Array(bytes),
  })
  expect(response.status).toBe(201)
  return ((await response.json()) as { id: string }).id
}

async function register(overrides: Record<string, unknown> = {}) {
  const res = await stack.request(ATTACH, {
    input: { productId: productA, uploadId: await uploadImage(), ...overrides },
  })
  expect(res.errors).toBeUndefined()
  return res.data.attachProductImage.mediaFile as { id: string; displayOrder: number; isPrimary: boolean }
}

async function productMedia(productId: string) {
  const res = await stack.request(
    `query($id: UUID!) {
      product(id: $id) { id primaryImage { id } media { id displayOrder isPrimary thumbnails { sizeName width } } }
    }`,
    { id: productId },
  )
  expect(res.errors).toBeUndefined()
  return res.data.product as {
    primaryImage: { id: string } | null
    media: { id: string; displayOrder: number; isPrimary: boolean; thumbnails: { sizeName: string }[] }[]
  }
}

const mediaDb = () => stack.subgraphs.media.database.db

async function expectError(query: string, variables: Record<string, unknown>, code: string, field?: string) {
  const res = await stack.request(query, variables)
  expect(res.data?.[Object.keys(res.data ?? {})[0] ?? ''] ?? null).toBeNull()
  expect(res.errors?.[0]?.extensions).toMatchObject({ code, ...(field ? { field } : {}) })
  return res.errors![0]!
}

beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'pm-media-mutations-'))
  process.env.STORAGE_DIR = storageDir
  stack = await startTestStack({ only: ['catalog', 'media', 'analytics'] })
  // Attaching queues processing: the queue exists once a media worker has started on the database.
  worker = await stack.startWorker('media')
  await stack.subgraphs.catalog.database.db
    .insertInto('products')
    .values([
      { id: productA, title: 'Product A' },
      { id: productB, title: 'Product B' },
      { id: productC, title: 'Product C' },
    ])
    .execute()
}, 120_000)
afterAll(async () => {
  await worker?.stop()
  await stack?.stop()
  if (storageDir) await rm(storageDir, { recursive: true, force: true })
})

describe('attachProductImage', () => {
  it('attaches an image measured from its bytes and records an audit entry in analytics', async () => {
    const res = await stack.request(ATTACH, {
      input: { productId: productA, uploadId: await uploadImage(), altText: 'Front view' },
    })
    expect(res.errors).toBeUndefined()
    const { mediaFile, deduplicated } = res.data.attachProductImage
    expect(deduplicated).toBe(false)
    expect(mediaFile).toMatchObject({
      productId: productA,
      mimeType: 'image/png',
      format: 'png',
      storageType: 'LOCAL',
      displayOrder: 0,
      // The product's first file becomes its primary image.
      isPrimary: true,
      imageType: 'MAIN',
      altText: 'Front view',
      isValid: true,
      product: { id: productA, title: 'Product A' },
    })
    expect(mediaFile.fileHash).toMatch(/^[0-9a-f]{64}$/)

    await stack.subgraphs.media.server.auditRelay.flush()
    const audit = await stack.subgraphs.analytics.database.db
      .selectFrom('audit_logs')
      .select(['action', 'entity_type', 'changes'])
      .where('entity_id', '=', mediaFile.id)
      .execute()
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ action: 'create', entity_type: 'media_file' })
    expect((audit[0]!.changes as any).after.fileHash).toBe(mediaFile.fileHash)
  })

  it('keeps one row when five attachments of the same bytes to one product race', async () => {
    const uploads = await Promise.all([1, 2, 3, 4, 5].map(() => uploadImage(9_999)))
    const results = await Promise.all(
      uploads.map((uploadId) => stack.request(ATTACH, { input: { productId: productB, uploadId } })),
    )
    for (const r of results) expect(r.errors).toBeUndefined()
    const ids = new Set(results.map((r) => r.data.attachProductImage.mediaFile.id))
    expect(ids.size).toBe(1)
    expect(results.filter((r) => !r.data.attachProductImage.deduplicated)).toHaveLength(1)
  })

  it('answers NOT_FOUND for a product the catalog does not have, and writes nothing', async () => {
    const ghost = randomUUID()
    await expectError(
      ATTACH,
      { input: { productId: ghost, uploadId: await uploadImage() } },
      'NOT_FOUND',
      'input.productId',
    )
    const rows = await mediaDb()
      .selectFrom('media_files')
      .select('id')
      .where('product_id', '=', ghost)
      .execute()
    expect(rows).toHaveLength(0)
  })

  it('refuses bad input naming the field', async () => {
    const uploadId = await uploadImage()
    const cases: [Record<string, unknown>, string][] = [
      [{ fileName: 'x'.repeat(501) }, 'input.fileName'],
      [{ displayOrder: -1 }, 'input.displayOrder'],
      [{ url: 'https://example.com/a.jpg' }, 'input'],
    ]
    for (const [override, field] of cases) {
      const error = await expectError(
        ATTACH,
        { input: { productId: productA, uploadId, ...override } },
        'BAD_USER_INPUT',
        field,
      )
      expect(error.message).toContain(field)
    }
    // A value outside the ImageType enum is refused before any resolver runs.
    const res = await stack.request(ATTACH, {
      input: { productId: productA, uploadId, imageType: 'Main Image' },
    })
    expect(res.data ?? null).toBeNull()
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(res.errors?.[0]?.message).toMatch(/"Main Image" does not exist in "ImageType" enum/)
  })
})

describe('primary image and display order', () => {
  it('keeps exactly one primary image per product', async () => {
    const a = await register({ productId: productB })
    const b = await register({ productId: productB })
    const c = await register({ productId: productB, isPrimary: true })
    expect(b.isPrimary).toBe(false)
    expect([a.displayOrder, b.displayOrder, c.displayOrder]).toEqual([1, 2, 3])
    let media = await productMedia(productB)
    expect(media.media.filter((m) => m.isPrimary).map((m) => m.id)).toEqual([c.id])

    const SET = `mutation($id: UUID!) { setPrimaryMediaFile(mediaFileId: $id) { id isPrimary } }`
    const res = await stack.request(SET, { id: a.id })
    expect(res.data.setPrimaryMediaFile).toEqual({ id: a.id, isPrimary: true })
    media = await productMedia(productB)
    expect(media.primaryImage?.id).toBe(a.id)
    expect(media.media.filter((m) => m.isPrimary).map((m) => m.id)).toEqual([a.id])

    // Concurrent calls still leave one primary.
    await Promise.all([b.id, c.id, a.id, b.id].map((id) => stack.request(SET, { id })))
    const primaries = await mediaDb()
      .selectFrom('media_files')
      .select('id')
      .where('product_id', '=', productB)
      .where('is_primary', '=', true)
      .execute()
    expect(primaries).toHaveLength(1)

    await expectError(SET, { id: randomUUID() }, 'NOT_FOUND', 'mediaFileId')
  })

  it('reorders a product’s files and validates the list', async () => {
    const files = await Promise.all([1, 2, 3].map(() => register({ productId: productC })))
    const [x, y, z] = files.map((f) => f.id) as [string, string, string]
    const REORDER = `mutation($p: UUID!, $ids: [UUID!]!) {
      reorderProductMedia(productId: $p, mediaFileIds: $ids) { id displayOrder }
    }`
    const res = await stack.request(REORDER, { p: productC, ids: [z, x, y] })
    expect(res.errors).toBeUndefined()
    expect(res.data.reorderProductMedia).toEqual([
      { id: z, displayOrder: 0 },
      { id: x, displayOrder: 1 },
      { id: y, displayOrder: 2 },
    ])
    expect((await productMedia(productC)).media.map((m) => m.id)).toEqual([z, x, y])

    await expectError(REORDER, { p: productC, ids: [z, x] }, 'BAD_USER_INPUT', 'mediaFileIds')
    await expectError(REORDER, { p: productC, ids: [z, x, x] }, 'BAD_USER_INPUT', 'mediaFileIds[2]')
    const other = (await productMedia(productB)).media[0]!.id
    await expectError(REORDER, { p: productC, ids: [z, x, y, other] }, 'BAD_USER_INPUT', 'mediaFileIds[3]')
    expect((await productMedia(productC)).media.map((m) => m.displayOrder)).toEqual([0, 1, 2])
  })
})

describe('updateMediaFile and deleteMediaFile', () => {
  const UPDATE = `mutation($id: UUID!, $input: UpdateMediaFileInput!) {
    updateMediaFile(id: $id, input: $input) { id altText imageType isValid }
  }`

  it('changes only the fields given; null clears', async () => {
    const file = await register({ altText: 'old', imageType: 'GALLERY' })
    const res = await stack.request(UPDATE, {
      id: file.id,
      input: { isValid: false, altText: null },
    })
    expect(res.errors).toBeUndefined()
    expect(res.data.updateMediaFile).toEqual({
      id: file.id,
      altText: null,
      imageType: 'GALLERY',
      isValid: false,
    })
    await expectError(UPDATE, { id: file.id, input: {} }, 'BAD_USER_INPUT', 'input')
    await expectError(UPDATE, { id: file.id, input: { isValid: null } }, 'BAD_USER_INPUT', 'input.isValid')
    await expectError(UPDATE, { id: randomUUID(), input: { altText: 'x' } }, 'NOT_FOUND', 'id')
  })

  it('deletes a file with its thumbnails; a deleted primary hands over to the next by display order', async () => {
    const product = randomUUID()
    await stack.subgraphs.catalog.database.db
      .insertInto('products')
      .values({ id: product, title: 'D' })
      .execute()
    const [first, second, third] = await Promise.all([1, 2, 3].map(() => register({ productId: product })))
    // Registered concurrently: put them in a known order, the first primary.
    await stack.request(
      `mutation($p: UUID!, $ids: [UUID!]!) { reorderProductMedia(productId: $p, mediaFileIds: $ids) { id } }`,
      { p: product, ids: [first!.id, second!.id, third!.id] },
    )
    await stack.request(`mutation($id: UUID!) { setPrimaryMediaFile(mediaFileId: $id) { id } }`, {
      id: first!.id,
    })
    const DELETE = `mutation($id: UUID!) {
      deleteMediaFile(id: $id) { deletedMediaFileId promotedPrimary { id isPrimary } product { id media { id } } }
    }`
    const res = await stack.request(DELETE, { id: first!.id })
    expect(res.errors).toBeUndefined()
    expect(res.data.deleteMediaFile).toEqual({
      deletedMediaFileId: first!.id,
      promotedPrimary: { id: second!.id, isPrimary: true },
      product: { id: product, media: [{ id: second!.id }, { id: third!.id }] },
    })
    const thumbs = await mediaDb()
      .selectFrom('media_thumbnails')
      .select('id')
      .where('media_file_id', '=', first!.id)
      .execute()
    expect(thumbs).toHaveLength(0)

    const notPrimary = await stack.request(DELETE, { id: third!.id })
    expect(notPrimary.data.deleteMediaFile.promotedPrimary).toBeNull()
    expect((await productMedia(product)).primaryImage?.id).toBe(second!.id)
    await expectError(DELETE, { id: first!.id }, 'NOT_FOUND', 'id')
  })
})

describe('with catalog down', () => {
  it('answers SERVICE_UNAVAILABLE for an attachment that needs it, and a retry of known bytes still works', async () => {
    const uploadId = await uploadImage(4_242)
    const first = await stack.request(ATTACH, { input: { productId: productA, uploadId } })
    expect(first.errors).toBeUndefined()
    await stack.subgraphs.catalog.server.stop()
    await expectError(
      ATTACH,
      { input: { productId: productA, uploadId: await uploadImage() } },
      'SERVICE_UNAVAILABLE',
    )
    const known = await stack.request(ATTACH, { input: { productId: productA, uploadId } })
    expect(known.data.attachProductImage.deduplicated).toBe(true)
  })
})
