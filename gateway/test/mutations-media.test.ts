import { createHash, randomUUID } from 'node:crypto'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let stack: TestStack<'catalog' | 'media' | 'analytics'>
const productA = randomUUID()
const productB = randomUUID()
const productC = randomUUID()

const sha = (text: string) => createHash('sha256').update(text).digest('hex')

const FILE_FIELDS = `id productId fileName fileHash mimeType fileSizeBytes storageType bucketName objectKey
  storageUrl width height format imageType displayOrder isPrimary altText processingStatus isValid`

const REGISTER = `mutation($input: RegisterMediaFileInput!) {
  registerMediaFile(input: $input) { deduplicated mediaFile { ${FILE_FIELDS} product { id title } } }
}`

function fileInput(name: string, overrides: Record<string, unknown> = {}) {
  return {
    productId: productA,
    fileName: `${name}.jpg`,
    fileHash: sha(name),
    mimeType: 'image/jpeg',
    fileSizeBytes: 123_456,
    storageType: 'minio',
    bucketName: 'product-media',
    objectKey: `products/${name}.jpg`,
    storageUrl: `https://minio.example.com/product-media/products/${name}.jpg`,
    width: 1200,
    height: 900,
    format: 'jpeg',
    imageType: 'gallery',
    ...overrides,
  }
}

async function register(name: string, overrides: Record<string, unknown> = {}) {
  const res = await stack.request(REGISTER, { input: fileInput(name, overrides) })
  expect(res.errors).toBeUndefined()
  return res.data.registerMediaFile.mediaFile as { id: string; displayOrder: number; isPrimary: boolean }
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
  stack = await startTestStack({ only: ['catalog', 'media', 'analytics'] })
  await stack.subgraphs.catalog.database.db
    .insertInto('products')
    .values([
      { id: productA, title: 'Product A' },
      { id: productB, title: 'Product B' },
      { id: productC, title: 'Product C' },
    ])
    .execute()
}, 120_000)
afterAll(() => stack?.stop())

describe('registerMediaFile', () => {
  it('registers a file, normalising its input, and records an audit entry in analytics', async () => {
    const res = await stack.request(REGISTER, {
      input: fileInput('first', {
        fileHash: ` ${sha('first').toUpperCase()} `,
        mimeType: 'IMAGE/JPEG',
        storageType: 'MinIO',
        altText: 'Front view',
      }),
    })
    expect(res.errors).toBeUndefined()
    const { mediaFile, deduplicated } = res.data.registerMediaFile
    expect(deduplicated).toBe(false)
    expect(mediaFile).toMatchObject({
      productId: productA,
      fileHash: sha('first'),
      mimeType: 'image/jpeg',
      fileSizeBytes: 123_456,
      storageType: 'minio',
      displayOrder: 0,
      // The product's first file becomes its primary image.
      isPrimary: true,
      altText: 'Front view',
      processingStatus: 'pending',
      isValid: true,
      product: { id: productA, title: 'Product A' },
    })

    await stack.subgraphs.media.server.auditRelay.flush()
    const audit = await stack.subgraphs.analytics.database.db
      .selectFrom('audit_logs')
      .select(['action', 'entity_type', 'changes'])
      .where('entity_id', '=', mediaFile.id)
      .execute()
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ action: 'create', entity_type: 'media_file' })
    expect((audit[0]!.changes as any).after.fileHash).toBe(sha('first'))
  })

  it('returns the existing file for a hash registered twice: one row, same id', async () => {
    const first = await stack.request(REGISTER, { input: fileInput('twice') })
    const again = await stack.request(REGISTER, {
      input: fileInput('twice', { fileHash: sha('twice').toUpperCase(), fileName: 'renamed.jpg' }),
    })
    expect(again.errors).toBeUndefined()
    expect(again.data.registerMediaFile.deduplicated).toBe(true)
    expect(again.data.registerMediaFile.mediaFile.id).toBe(first.data.registerMediaFile.mediaFile.id)
    // Returned unchanged: the first registration's name stays.
    expect(again.data.registerMediaFile.mediaFile.fileName).toBe('twice.jpg')
    const rows = await mediaDb()
      .selectFrom('media_files')
      .select('id')
      .where('file_hash', '=', sha('twice'))
      .execute()
    expect(rows).toHaveLength(1)
  })

  it('returns the existing file unchanged when the same hash comes for another product', async () => {
    const first = await register('shared-content', { productId: productB })
    const res = await stack.request(REGISTER, { input: fileInput('shared-content', { productId: productC }) })
    expect(res.data.registerMediaFile).toMatchObject({
      deduplicated: true,
      mediaFile: { id: first.id, productId: productB },
    })
  })

  it('keeps one row when five registrations of one hash race', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => stack.request(REGISTER, { input: fileInput('race') })),
    )
    for (const r of results) expect(r.errors).toBeUndefined()
    const ids = new Set(results.map((r) => r.data.registerMediaFile.mediaFile.id))
    expect(ids.size).toBe(1)
    expect(results.filter((r) => !r.data.registerMediaFile.deduplicated)).toHaveLength(1)
    const rows = await mediaDb()
      .selectFrom('media_files')
      .select('id')
      .where('file_hash', '=', sha('race'))
      .execute()
    expect(rows.map((r) => r.id)).toEqual([...ids])
    // Also without a product (no product lock: the unique hash alone decides).
    const loose = await Promise.all(
      Array.from({ length: 5 }, () =>
        stack.request(REGISTER, { input: fileInput('race-loose', { productId: null }) }),
      ),
    )
    expect(new Set(loose.map((r) => r.data.registerMediaFile.mediaFile.id)).size).toBe(1)
  })

  it('answers NOT_FOUND for a product the catalog does not have, and writes nothing', async () => {
    await expectError(
      REGISTER,
      { input: fileInput('ghost', { productId: randomUUID() }) },
      'NOT_FOUND',
      'input.productId',
    )
    const rows = await mediaDb()
      .selectFrom('media_files')
      .select('id')
      .where('file_hash', '=', sha('ghost'))
      .execute()
    expect(rows).toHaveLength(0)
  })

  it('refuses bad input naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ fileHash: 'abc123' }, 'input.fileHash'],
      [{ fileHash: 'z'.repeat(64) }, 'input.fileHash'],
      [{ fileName: 'x'.repeat(501) }, 'input.fileName'],
      [{ mimeType: 'jpeg' }, 'input.mimeType'],
      [{ fileSizeBytes: 0 }, 'input.fileSizeBytes'],
      [{ storageType: 'dropbox' }, 'input.storageType'],
      [{ bucketName: 'b'.repeat(101) }, 'input.bucketName'],
      [{ storageUrl: 'ftp://example.com/a.jpg' }, 'input.storageUrl'],
      [{ width: 0 }, 'input.width'],
      [{ format: 'j p g' }, 'input.format'],
      [{ imageType: 'Main Image' }, 'input.imageType'],
      [{ displayOrder: -1 }, 'input.displayOrder'],
      [{ productId: null, isPrimary: true }, 'input.isPrimary'],
    ]
    for (const [override, field] of cases) {
      const error = await expectError(
        REGISTER,
        { input: fileInput('bad', override) },
        'BAD_USER_INPUT',
        field,
      )
      expect(error.message).toContain(field)
    }
  })
})

describe('primary image and display order', () => {
  it('keeps exactly one primary image per product', async () => {
    const a = await register('p1', { productId: productB })
    const b = await register('p2', { productId: productB })
    const c = await register('p3', { productId: productB, isPrimary: true })
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
    const loose = await register('no-product', { productId: null })
    await expectError(SET, { id: loose.id }, 'BAD_USER_INPUT', 'mediaFileId')
  })

  it('reorders a product’s files and validates the list', async () => {
    const files = await Promise.all(['r1', 'r2', 'r3'].map((n) => register(n, { productId: productC })))
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

describe('thumbnails', () => {
  const ADD = `mutation($id: UUID!, $input: MediaThumbnailInput!) {
    addMediaThumbnail(mediaFileId: $id, input: $input) { id sizeName width height objectKey storageUrl }
  }`
  const SET = `mutation($id: UUID!, $sizes: [MediaThumbnailInput!]!) {
    setMediaThumbnails(mediaFileId: $id, sizes: $sizes) { id thumbnails { sizeName width objectKey } }
  }`
  const thumb = (sizeName: string, width: number, key = sizeName) => ({
    sizeName,
    width,
    height: width,
    objectKey: `thumbs/${key}.webp`,
  })

  it('keeps one thumbnail per size name: re-adding replaces, identical re-adds keep the row', async () => {
    const file = await register('thumbs', { productId: null })
    const small = await stack.request(ADD, { id: file.id, input: thumb('small', 100) })
    expect(small.errors).toBeUndefined()
    const same = await stack.request(ADD, { id: file.id, input: thumb('small', 100) })
    expect(same.data.addMediaThumbnail.id).toBe(small.data.addMediaThumbnail.id)
    const replaced = await stack.request(ADD, { id: file.id, input: thumb('SMALL', 120, 'small-v2') })
    expect(replaced.data.addMediaThumbnail).toMatchObject({ sizeName: 'small', width: 120 })
    await stack.request(ADD, { id: file.id, input: thumb('large', 800) })
    // Concurrent adds of one size still leave one row.
    await Promise.all(
      [200, 210, 220].map((w) => stack.request(ADD, { id: file.id, input: thumb('medium', w) })),
    )
    const rows = await mediaDb()
      .selectFrom('media_thumbnails')
      .select(['size_name', 'width'])
      .where('media_file_id', '=', file.id)
      .orderBy('width')
      .execute()
    expect(rows.map((r) => r.size_name)).toEqual(['small', 'medium', 'large'])
    expect(rows[0]!.width).toBe(120)

    const set = await stack.request(SET, {
      id: file.id,
      sizes: [thumb('small', 120, 'small-v2'), thumb('xl', 1600)],
    })
    expect(set.errors).toBeUndefined()
    expect(set.data.setMediaThumbnails.thumbnails).toEqual([
      { sizeName: 'small', width: 120, objectKey: 'thumbs/small-v2.webp' },
      { sizeName: 'xl', width: 1600, objectKey: 'thumbs/xl.webp' },
    ])

    await expectError(
      SET,
      { id: file.id, sizes: [thumb('small', 1), thumb('small', 2)] },
      'BAD_USER_INPUT',
      'sizes[1].sizeName',
    )
    await expectError(ADD, { id: file.id, input: thumb('small', 0) }, 'BAD_USER_INPUT', 'input.width')
    await expectError(
      ADD,
      { id: file.id, input: thumb('x'.repeat(21), 10) },
      'BAD_USER_INPUT',
      'input.sizeName',
    )
    await expectError(ADD, { id: randomUUID(), input: thumb('small', 10) }, 'NOT_FOUND', 'mediaFileId')
  })
})

describe('updateMediaFile and deleteMediaFile', () => {
  const UPDATE = `mutation($id: UUID!, $input: UpdateMediaFileInput!) {
    updateMediaFile(id: $id, input: $input) { id altText imageType processingStatus isValid }
  }`

  it('changes only the fields given; null clears', async () => {
    const file = await register('update-me', { productId: null, altText: 'old' })
    const res = await stack.request(UPDATE, {
      id: file.id,
      input: { processingStatus: 'COMPLETED', isValid: false, altText: null },
    })
    expect(res.errors).toBeUndefined()
    expect(res.data.updateMediaFile).toEqual({
      id: file.id,
      altText: null,
      imageType: 'gallery',
      processingStatus: 'completed',
      isValid: false,
    })
    await expectError(UPDATE, { id: file.id, input: {} }, 'BAD_USER_INPUT', 'input')
    await expectError(
      UPDATE,
      { id: file.id, input: { processingStatus: 'done' } },
      'BAD_USER_INPUT',
      'input.processingStatus',
    )
    await expectError(UPDATE, { id: file.id, input: { isValid: null } }, 'BAD_USER_INPUT', 'input.isValid')
    await expectError(UPDATE, { id: randomUUID(), input: { altText: 'x' } }, 'NOT_FOUND', 'id')
  })

  it('deletes a file with its thumbnails; a deleted primary hands over to the next by display order', async () => {
    const product = randomUUID()
    await stack.subgraphs.catalog.database.db
      .insertInto('products')
      .values({ id: product, title: 'D' })
      .execute()
    const [first, second, third] = await Promise.all(
      ['d1', 'd2', 'd3'].map((n) => register(n, { productId: product })),
    )
    // Registered concurrently: put them in a known order, the first primary.
    await stack.request(
      `mutation($p: UUID!, $ids: [UUID!]!) { reorderProductMedia(productId: $p, mediaFileIds: $ids) { id } }`,
      { p: product, ids: [first!.id, second!.id, third!.id] },
    )
    await stack.request(`mutation($id: UUID!) { setPrimaryMediaFile(mediaFileId: $id) { id } }`, {
      id: first!.id,
    })
    await stack.request(
      `mutation($id: UUID!) { addMediaThumbnail(mediaFileId: $id, input: { sizeName: "small", width: 10, height: 10, objectKey: "k" }) { id } }`,
      { id: first!.id },
    )
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
  it('answers SERVICE_UNAVAILABLE for a registration that needs it, and a retry of a known hash still works', async () => {
    await stack.subgraphs.catalog.server.stop()
    await expectError(REGISTER, { input: fileInput('while-catalog-sleeps') }, 'SERVICE_UNAVAILABLE')
    const known = await stack.request(REGISTER, { input: fileInput('twice') })
    expect(known.data.registerMediaFile.deduplicated).toBe(true)
  })
})
