import { randomUUID } from 'node:crypto'
import { startTestSubgraph, type TestSubgraph } from '@pm/testing/subgraph'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subgraph } from '../src/module'

let sg: TestSubgraph<'media'>
const sameInstant = new Date('2026-01-01T00:00:00Z')
const hash = (n: number) => n.toString(16).padStart(64, '0')

// 50 products with three files each (display orders 2, 0, 1, none primary) and three thumbnails per file.
const products = Array.from({ length: 50 }, () => randomUUID())
const files = products.flatMap((productId, p) =>
  [2, 0, 1].map((displayOrder, i) => ({
    id: randomUUID(),
    product_id: productId,
    file_name: `p${p}-${displayOrder}.jpg`,
    file_hash: hash(p * 10 + i + 1),
    mime_type: 'image/jpeg',
    file_size_bytes: '5000000000',
    image_type: 'gallery',
    display_order: displayOrder,
    processing_status: p % 2 === 0 ? 'completed' : 'pending',
    // Every file shares one created_at: pagination must still neither skip nor repeat.
    created_at: sameInstant,
  })),
)
const thumbnails = files.flatMap((f) =>
  [
    { size_name: 'large', width: 800 },
    { size_name: 'small', width: 100 },
    { size_name: 'medium', width: 300 },
  ].map((t) => ({ media_file_id: f.id, ...t, height: t.width, object_key: `${f.id}/${t.size_name}` })),
)
// Special products for primaryImage: one with an explicit primary, one with tied display orders and NULL flags.
const withPrimary = randomUUID()
const primaryFile = randomUUID()
const tiedProduct = randomUUID()
const [tieLow, tieHigh] = [randomUUID(), randomUUID()].sort()
const orphanFile = randomUUID()

beforeAll(async () => {
  sg = await startTestSubgraph(subgraph)
  const db = sg.database.db
  await db.insertInto('media_files').values(files).execute()
  await db.insertInto('media_thumbnails').values(thumbnails).execute()
  await db
    .insertInto('media_files')
    .values([
      {
        product_id: withPrimary,
        file_name: 'a.jpg',
        display_order: 0,
        is_primary: false,
        image_type: 'main',
      },
      { product_id: withPrimary, file_name: 'b.jpg', display_order: 1, is_primary: null, image_type: 'main' },
      {
        id: primaryFile,
        product_id: withPrimary,
        file_name: 'c.jpg',
        display_order: 5,
        is_primary: true,
        image_type: 'main',
      },
      { id: tieHigh!, product_id: tiedProduct, file_name: 'y.jpg', display_order: 3, is_primary: null },
      { id: tieLow!, product_id: tiedProduct, file_name: 'x.jpg', display_order: 3, is_primary: null },
      { product_id: tiedProduct, file_name: 'z.jpg', display_order: null, is_primary: false },
      { id: orphanFile, product_id: null, file_name: 'loose.png', file_hash: hash(999_999) },
    ])
    .execute()
})
afterAll(() => sg?.stop())

describe('media subgraph', () => {
  it('resolves MediaFile entities, null for a missing id', async () => {
    const res = await sg.request(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on MediaFile { id fileName product { id } } } }`,
      {
        r: [
          { __typename: 'MediaFile', id: files[0]!.id },
          { __typename: 'MediaFile', id: randomUUID() },
          { __typename: 'MediaFile', id: orphanFile },
        ],
      },
    )
    expect(res.errors).toBeUndefined()
    expect(res.data._entities).toEqual([
      { id: files[0]!.id, fileName: 'p0-2.jpg', product: { id: products[0] } },
      null,
      { id: orphanFile, fileName: 'loose.png', product: null },
    ])
  })

  it('resolves Product entities; a product without media gets an empty list and no primary image', async () => {
    const missing = randomUUID()
    const res = await sg.request(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id media { fileName } primaryImage { id } } } }`,
      {
        r: [
          { __typename: 'Product', id: withPrimary },
          { __typename: 'Product', id: missing },
        ],
      },
    )
    expect(res.errors).toBeUndefined()
    expect(res.data._entities).toEqual([
      {
        id: withPrimary,
        media: [{ fileName: 'a.jpg' }, { fileName: 'b.jpg' }, { fileName: 'c.jpg' }],
        primaryImage: { id: primaryFile },
      },
      { id: missing, media: [], primaryImage: null },
    ])
  })

  it('orders Product.media by display order and falls back to the lowest one when no file is primary', async () => {
    const res = await sg.request(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { media { id displayOrder } primaryImage { id displayOrder } } } }`,
      {
        r: [
          { __typename: 'Product', id: products[3] },
          { __typename: 'Product', id: tiedProduct },
        ],
      },
    )
    expect(res.errors).toBeUndefined()
    const [plain, tied] = res.data._entities
    expect(plain.media.map((m: any) => m.displayOrder)).toEqual([0, 1, 2])
    expect(plain.primaryImage).toEqual(plain.media[0])
    // Equal display orders break ties by id; a NULL display order sorts last; NULL is_primary is not primary.
    expect(tied.media.map((m: any) => m.id).slice(0, 2)).toEqual([tieLow, tieHigh])
    expect(tied.media[2].displayOrder).toBeNull()
    expect(tied.primaryImage).toEqual({ id: tieLow, displayOrder: 3 })
  })

  it('reads primaryImage alone (no media asked) as it picks it from the list, thumbnails included, in one statement', async () => {
    const r = [withPrimary, tiedProduct, products[3], randomUUID()].map((id) => ({
      __typename: 'Product',
      id,
    }))
    const picked = await sg.request(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { media { id } primaryImage { id displayOrder isPrimary thumbnails { sizeName width } } } } }`,
      { r },
    )
    expect(picked.errors).toBeUndefined()
    const before = sg.queryCount()
    const alone = await sg.request(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { primaryImage { id displayOrder isPrimary thumbnails { sizeName width } } } } }`,
      { r },
    )
    expect(sg.queryCount() - before).toBe(1)
    expect(alone.errors).toBeUndefined()
    expect(alone.data._entities).toEqual(
      picked.data._entities.map(({ primaryImage }: any) => ({ primaryImage })),
    )
    expect(alone.data._entities.map((p: any) => p.primaryImage?.id ?? null)).toEqual([
      primaryFile,
      tieLow,
      picked.data._entities[2].media[0].id,
      null,
    ])
    expect(alone.data._entities[2].primaryImage.thumbnails.map((t: any) => t.sizeName)).toEqual([
      'SMALL',
      'MEDIUM',
      'LARGE',
    ])
  })

  it('looks files up by id and by hash, null when missing, and refuses a malformed hash', async () => {
    const file = files[6]!
    const res = await sg.request(
      `{ a: mediaFile(id: "${file.id}") { fileHash fileSizeBytes createdAt processingStatus }
         b: mediaFileByHash(fileHash: "${file.file_hash.toUpperCase()}") { id }
         c: mediaFile(id: "${randomUUID()}") { id }
         d: mediaFileByHash(fileHash: "${hash(123_456_789)}") { id } }`,
    )
    expect(res.errors).toBeUndefined()
    expect(res.data).toEqual({
      a: {
        fileHash: file.file_hash,
        fileSizeBytes: 5_000_000_000,
        createdAt: '2026-01-01T00:00:00.000Z',
        processingStatus: 'COMPLETED',
      },
      b: { id: file.id },
      c: null,
      d: null,
    })
    const bad = await sg.request('{ mediaFileByHash(fileHash: "abc") { id } }')
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('lists thumbnails narrowest first and picks one by size', async () => {
    const res = await sg.request(
      `{ mediaFile(id: "${files[0]!.id}") { thumbnails { sizeName width } medium: thumbnail(size: MEDIUM) { width } webp: thumbnail(size: MEDIUM, format: WEBP) { width } } }`,
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.mediaFile).toEqual({
      thumbnails: [
        { sizeName: 'SMALL', width: 100 },
        { sizeName: 'MEDIUM', width: 300 },
        { sizeName: 'LARGE', width: 800 },
      ],
      medium: { width: 300 },
      webp: null,
    })
    const unknown = await sg.request(
      `{ mediaFile(id: "${files[0]!.id}") { thumbnail(size: "huge") { width } } }`,
    )
    expect(unknown.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED')
    expect(unknown.errors?.[0]?.message).toMatch(/ThumbnailSize/)
  })

  it('filters media files by product, status, image type and primary flag', async () => {
    const res = await sg.request(
      `{ byProduct: mediaFiles(filter: { productId: "${products[1]}" }, orderBy: { field: DISPLAY_ORDER, direction: ASC }) { totalCount edges { node { displayOrder } } }
         completed: mediaFiles(filter: { processingStatus: COMPLETED, imageType: GALLERY }) { totalCount }
         primary: mediaFiles(filter: { isPrimary: true }) { totalCount edges { node { id } } }
         notPrimary: mediaFiles(filter: { isPrimary: false, productId: "${withPrimary}" }) { totalCount } }`,
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.byProduct).toEqual({
      totalCount: 3,
      edges: [{ node: { displayOrder: 0 } }, { node: { displayOrder: 1 } }, { node: { displayOrder: 2 } }],
    })
    expect(res.data.completed.totalCount).toBe(75)
    expect(res.data.primary).toEqual({ totalCount: 1, edges: [{ node: { id: primaryFile } }] })
    expect(res.data.notPrimary.totalCount).toBe(2)
  })

  it('walks media files seven by seven across ties in created_at without skipping or repeating', async () => {
    const seen: string[] = []
    let after: string | null = null
    for (let page = 0; page < 30; page++) {
      const res: any = await sg.request(
        'query($after: String) { mediaFiles(filter: { imageType: GALLERY }, first: 7, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      )
      expect(res.errors).toBeUndefined()
      seen.push(...res.data.mediaFiles.edges.map((e: any) => e.node.id))
      if (!res.data.mediaFiles.pageInfo.hasNextPage) break
      after = res.data.mediaFiles.pageInfo.endCursor
    }
    expect(seen).toHaveLength(files.length)
    expect(new Set(seen)).toEqual(new Set(files.map((f) => f.id)))
  })

  it('walks by a nullable display order too', async () => {
    const seen: string[] = []
    let after: string | null = null
    for (let page = 0; page < 10; page++) {
      const res: any = await sg.request(
        `query($after: String) { mediaFiles(filter: { productId: "${tiedProduct}" }, orderBy: { field: DISPLAY_ORDER, direction: DESC }, first: 1, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
        { after },
      )
      expect(res.errors).toBeUndefined()
      seen.push(...res.data.mediaFiles.edges.map((e: any) => e.node.id))
      if (!res.data.mediaFiles.pageInfo.hasNextPage) break
      after = res.data.mediaFiles.pageInfo.endCursor
    }
    expect(seen).toHaveLength(3)
    expect(seen.slice(1)).toEqual([tieHigh, tieLow])
  })

  it('rejects a forged cursor and an oversized page with BAD_USER_INPUT', async () => {
    const forged = Buffer.from(JSON.stringify(['CREATED_AT:DESC', 'not-a-date', randomUUID()])).toString(
      'base64url',
    )
    const a = await sg.request(`{ mediaFiles(after: "${forged}") { totalCount } }`)
    expect(a.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    const b = await sg.request('{ mediaFiles(after: "garbage") { totalCount } }')
    expect(b.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    const c = await sg.request('{ mediaFiles(first: 101) { totalCount } }')
    expect(c.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('runs the same number of statements for 5 and for 50 products', async () => {
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id media { id thumbnails { sizeName } } primaryImage { id } } } }`
    const run = async (n: number) => {
      const before = sg.queryCount()
      const res = await sg.request(query, {
        r: products.slice(0, n).map((id) => ({ __typename: 'Product', id })),
      })
      expect(res.errors).toBeUndefined()
      expect(res.data._entities).toHaveLength(n)
      for (const p of res.data._entities) {
        expect(p.media).toHaveLength(3)
        expect(p.media[0].thumbnails.map((t: any) => t.sizeName)).toEqual(['SMALL', 'MEDIUM', 'LARGE'])
        expect(p.primaryImage.id).toBe(p.media[0].id)
      }
      return sg.queryCount() - before
    }
    const five = await run(5)
    const fifty = await run(50)
    expect(five).toBe(1) // media (primaryImage picked from it), thumbnails in the same statement
    expect(fifty).toBe(five)
  })
})

describe('thumbnails fetched with the media files', () => {
  const THUMB = 'id mediaFileId sizeName width height objectKey storageUrl createdAt'
  async function statements(query: string, variables: Record<string, unknown>) {
    const before = sg.queryCount()
    const res = await sg.request(query, variables)
    expect(res.errors).toBeUndefined()
    return { used: sg.queryCount() - before, data: res.data }
  }
  const refs = (ids: string[]) => ids.map((id) => ({ __typename: 'Product', id }))

  it('answers what the thumbnail loader answers, in the files statement', async () => {
    const ids = [...products.slice(0, 3), withPrimary, tiedProduct, randomUUID()]
    const prefetched = await statements(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product {
        id media { id thumbnails { ${THUMB} } small: thumbnail(size: SMALL) { ${THUMB} } none: thumbnail(size: MEDIUM, format: WEBP) { id } }
        primaryImage { id thumbnail(size: LARGE) { ${THUMB} } }
      } } }`,
      { r: refs(ids) },
    )
    expect(prefetched.used).toBe(1)
    // mediaFile(id:) reads thumbnails through thumbnailsByMediaFileId's own statement.
    const files = prefetched.data._entities.flatMap((p: any) => p.media)
    expect(files.length).toBeGreaterThan(9)
    const lookups = files.map(
      (f: any, i: number) =>
        `f${i}: mediaFile(id: "${f.id}") { id thumbnails { ${THUMB} } small: thumbnail(size: SMALL) { ${THUMB} } none: thumbnail(size: MEDIUM, format: WEBP) { id } }`,
    )
    const viaLoader = await statements(`{ ${lookups.join('\n')} }`, {})
    expect(viaLoader.used).toBe(2)
    expect(files).toEqual(files.map((_: unknown, i: number) => viaLoader.data[`f${i}`]))
    expect(files.some((f: any) => f.thumbnails.length === 3)).toBe(true)
    for (const p of prefetched.data._entities) {
      if (p.primaryImage) {
        const file = p.media.find((f: any) => f.id === p.primaryImage.id)
        expect(p.primaryImage.thumbnail).toEqual(
          file.thumbnails.find((t: any) => t.sizeName === 'LARGE') ?? null,
        )
      }
    }
  })

  it('fetches thumbnails only when some field asks for them, through fragments, aliases and directives', async () => {
    const query = `query($r: [_Any!]!, $on: Boolean!) { _entities(representations: $r) { ...Images } }
      fragment Images on Product { pics: media { id } main: primaryImage { id ... on MediaFile { t: thumbnail(size: SMALL) @include(if: $on) { width } } } }`
    const withThumbs = await statements(query, { r: refs(products.slice(0, 5)), on: true })
    expect(withThumbs.used).toBe(1)
    expect(withThumbs.data._entities[0].main.t).toEqual({ width: 100 })
    const without = await statements(query, { r: refs(products.slice(0, 5)), on: false })
    expect(without.used).toBe(1)
    expect(without.data._entities[0].main).not.toHaveProperty('t')
    expect(without.data._entities.map((p: any) => p.pics)).toEqual(
      withThumbs.data._entities.map((p: any) => p.pics),
    )
  })
})
