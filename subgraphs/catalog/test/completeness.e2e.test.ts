import { createHash, randomInt, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'
import { postPeer, signedPeers } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

type Domains = 'core' | 'catalog' | 'media' | 'analytics'
let stack: TestStack<Domains>
let storageDir = ''

async function ok<T = any>(query: string, variables: Record<string, unknown> = {}) {
  const response = await stack.request<T>(query, variables)
  expect(response.errors).toBeUndefined()
  return response.data as T
}

const COMPLETENESS = `query($id: UUID!) { product(id: $id) { id completeness { score missing computedAt } } }`
const completeness = async (id: string) => (await ok(COMPLETENESS, { id })).product.completeness
const LIST = `query($filter: ProductFilter) { products(filter: $filter, first: 100) { totalCount edges { node { id } } } }`
const SUMMARY = `query($by: CompletenessGroupBy!) { completenessSummary(by: $by) {
  supplierId supplier { code } categoryId category { name } productsCount averageScore completeCount belowHalfCount
} }`
const SET = `mutation($input: SetAppSettingInput!) { setAppSetting(input: $input) { key } }`

const ids = { supplier: '', brand: '', category: '', full: '', bare: '' }

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'ascii'), data])))
  return Buffer.concat([length, Buffer.from(type, 'ascii'), data, crc])
}

/** A 4×4 PNG of one colour: a real image for media to measure. */
function png(rgb: [number, number, number]): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(4, 0)
  ihdr.writeUInt32BE(4, 4)
  ihdr.writeUInt8(8, 8)
  ihdr.writeUInt8(2, 9)
  const row = Buffer.concat([Buffer.from([0]), ...Array.from({ length: 4 }, () => Buffer.from(rgb))])
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.concat([row, row, row, row]))),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

/** Uploads an image through the gateway (POST /uploads): its upload id. */
async function uploadImage(): Promise<string> {
  const response = await fetch(`${stack.gatewayUrl}/uploads?filename=front.png`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.tokenFor({ userId: stack.superuserId, superuser: true })}`,
      'content-type': 'application/octet-stream',
      'x-apollo-operation-name': 'upload',
    },
    body: new Uint8Array(png([randomInt(256), randomInt(256), randomInt(256)])),
  })
  expect(response.status).toBe(201)
  return ((await response.json()) as { id: string }).id
}

beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'pm-completeness-storage-'))
  process.env.STORAGE_DIR = storageDir
  stack = await startTestStack({ only: ['core', 'catalog', 'media', 'analytics'] })
  await stack.startWorker('analytics')
  await stack.startWorker('media')
  const s = await ok(`mutation { createSupplier(input: { code: "CMP-A", name: "Completude A" }) { id } }`)
  ids.supplier = s.createSupplier.id
  ids.brand = (await ok(`mutation { createBrand(input: { name: "Marque C" }) { id } }`)).createBrand.id
  ids.category = (
    await ok(`mutation { createCategory(input: { name: "Complets" }) { id } }`)
  ).createCategory.id
  const create = `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`
  ids.full = (
    await ok(create, {
      input: {
        title: 'Produit presque complet',
        description: 'Une description',
        ean: '4006381333931',
        supplierId: ids.supplier,
        brandId: ids.brand,
        categoryId: ids.category,
      },
    })
  ).createProduct.id
  ids.bare = (await ok(create, { input: { title: 'Produit nu', supplierId: ids.supplier } })).createProduct.id
})

afterAll(async () => {
  await stack?.stop()
  if (storageDir) await rm(storageDir, { recursive: true, force: true })
})

describe('completeness through the gateway', () => {
  it('scores a new product from the default rules and follows product, price and stock writes', async () => {
    // TITLE, DESCRIPTION, EAN, BRAND present; PRICE, STOCK, IMAGE missing: 4 of 7.
    expect(await completeness(ids.full)).toMatchObject({ score: 57, missing: ['PRICE', 'STOCK', 'IMAGE'] })
    expect(await completeness(ids.bare)).toMatchObject({
      score: 14,
      missing: ['DESCRIPTION', 'EAN', 'BRAND', 'PRICE', 'STOCK', 'IMAGE'],
    })
    await ok(`mutation($id: UUID!) { setProductPrice(input: { productId: $id, price: "19.90" }) { id } }`, {
      id: ids.full,
    })
    await ok(`mutation($id: UUID!) { setStock(input: { productId: $id, quantity: 3 }) { id } }`, {
      id: ids.full,
    })
    expect(await completeness(ids.full)).toMatchObject({ score: 86, missing: ['IMAGE'] })
    // An edit that clears a field lowers the score at once.
    await ok(`mutation($id: UUID!) { updateProduct(id: $id, input: { description: null }) { id } }`, {
      id: ids.full,
    })
    expect(await completeness(ids.full)).toMatchObject({ score: 71, missing: ['DESCRIPTION', 'IMAGE'] })
    await ok(`mutation($id: UUID!) { updateProduct(id: $id, input: { description: "De retour" }) { id } }`, {
      id: ids.full,
    })
    expect((await completeness(ids.full)).score).toBe(86)
  })

  it('scores the products of a bulk upsert once per chunk, as the triggers would have', async () => {
    const UPSERT = `mutation($rows: [ProductUpsertInput!]!) {
      upsertProducts(rows: $rows) { results { status productId } } }`
    // A supplier of its own: the other tests count CMP-A's products.
    const supplierId = (
      await ok(`mutation { createSupplier(input: { code: "CMP-BULK", name: "Completude en lot" }) { id } }`)
    ).createSupplier.id
    const rows = [
      {
        sku: 'CMP-BULK-1',
        title: 'Lot complet',
        description: 'Décrit',
        ean: '4006381333931',
        brandId: ids.brand,
      },
      { sku: 'CMP-BULK-2', title: 'Lot avec prix', price: '12.50' },
      { sku: 'CMP-BULK-3', title: 'Lot nu' },
    ].map((r) => ({ ...r, supplierId }))
    const first = (await ok(UPSERT, { rows })).upsertProducts.results
    expect(first.map((r: any) => r.status)).toEqual(['CREATED', 'CREATED', 'CREATED'])
    const [full, priced, bare] = first.map((r: any) => r.productId as string)
    expect(await completeness(full!)).toMatchObject({ score: 57, missing: ['PRICE', 'STOCK', 'IMAGE'] })
    expect(await completeness(priced!)).toMatchObject({
      score: 29,
      missing: ['DESCRIPTION', 'EAN', 'BRAND', 'STOCK', 'IMAGE'],
    })
    expect((await completeness(bare!)).score).toBe(14)
    // A second call: a price for the first, the description cleared on the second, the third unchanged.
    const second = (
      await ok(UPSERT, {
        rows: [{ ...rows[0], price: '30.00' }, { ...rows[1], description: 'Maintenant décrit' }, rows[2]],
      })
    ).upsertProducts.results
    expect(second.map((r: any) => r.status)).toEqual(['UPDATED', 'UPDATED', 'UNCHANGED'])
    expect(await completeness(full!)).toMatchObject({ score: 71, missing: ['STOCK', 'IMAGE'] })
    expect(await completeness(priced!)).toMatchObject({
      score: 43,
      missing: ['EAN', 'BRAND', 'STOCK', 'IMAGE'],
    })
    // Single writes after a bulk one are scored by the triggers again.
    await ok(`mutation($id: UUID!) { setStock(input: { productId: $id, quantity: 2 }) { id } }`, { id: full })
    expect(await completeness(full!)).toMatchObject({ score: 86, missing: ['IMAGE'] })
    // The tests below count every product: these go.
    for (const id of [full, priced, bare]) await ok(`mutation($id: UUID!) { deleteProduct(id: $id) }`, { id })
  })

  it('follows an image attached in media, then deleted', async () => {
    const attached = await ok(
      `mutation($input: AttachProductImageInput!) { attachProductImage(input: $input) { mediaFile { id } } }`,
      { input: { productId: ids.full, uploadId: await uploadImage() } },
    )
    expect(await completeness(ids.full)).toMatchObject({ score: 100, missing: [] })
    await ok(`mutation($id: UUID!) { deleteMediaFile(id: $id) { deletedMediaFileId } }`, {
      id: attached.attachProductImage.mediaFile.id,
    })
    expect(await completeness(ids.full)).toMatchObject({ score: 86, missing: ['IMAGE'] })
  })

  it('filters the product list by score, with bounds checked', async () => {
    const below = (await ok(LIST, { filter: { supplierId: ids.supplier, completenessBelow: 50 } })).products
    expect(below.edges.map((e: any) => e.node.id)).toEqual([ids.bare])
    const atLeast = (await ok(LIST, { filter: { completenessAtLeast: 80 } })).products
    expect(atLeast.edges.map((e: any) => e.node.id)).toEqual([ids.full])
    const between = (await ok(LIST, { filter: { completenessAtLeast: 10, completenessBelow: 90 } })).products
    expect(between.totalCount).toBe(2)
    const bad = await stack.request(LIST, { filter: { completenessBelow: 101 } })
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('summarises per supplier and per category', async () => {
    const bySupplier = (await ok(SUMMARY, { by: 'SUPPLIER' })).completenessSummary
    expect(bySupplier).toEqual([
      {
        supplierId: ids.supplier,
        supplier: { code: 'CMP-A' },
        categoryId: null,
        category: null,
        productsCount: 2,
        averageScore: '50.00',
        completeCount: 0,
        belowHalfCount: 1,
      },
    ])
    const byCategory = (await ok(SUMMARY, { by: 'CATEGORY' })).completenessSummary
    expect(byCategory).toEqual([
      expect.objectContaining({ categoryId: null, productsCount: 1, averageScore: '14.00' }),
      expect.objectContaining({
        categoryId: ids.category,
        category: { name: 'Complets' },
        averageScore: '86.00',
      }),
    ])
  })

  it("rescores a category's products when its rules change", async () => {
    const rules = await ok(
      `mutation($id: UUID!) { updateCategory(id: $id, input: { completenessRules: [TITLE, EAN, PRICE] }) {
        completenessRules completenessRulesAreDefault } }`,
      { id: ids.category },
    )
    expect(rules.updateCategory).toEqual({
      completenessRules: ['TITLE', 'EAN', 'PRICE'],
      completenessRulesAreDefault: false,
    })
    expect(await completeness(ids.full)).toMatchObject({ score: 100, missing: [] })
    await ok(`mutation($id: UUID!) { updateCategory(id: $id, input: { completenessRules: null }) { id } }`, {
      id: ids.category,
    })
    expect((await completeness(ids.full)).score).toBe(86)
  })

  it('recomputes everything from media when asked as a service', async () => {
    // Media's state changed behind catalog's back (a write straight to its database).
    await stack.subgraphs.media.database.db
      .insertInto('media_files')
      .values({
        product_id: ids.bare,
        file_name: 'x.jpg',
        file_hash: createHash('sha256').update(randomUUID()).digest('hex'),
        mime_type: 'image/jpeg',
        file_size_bytes: 10,
        storage_type: 'local',
        bucket_name: 'media',
        object_key: 'x.jpg',
        storage_url: '/files/x.jpg',
        width: 1,
        height: 1,
        format: 'jpeg',
        image_type: 'main',
      })
      .execute()
    expect((await completeness(ids.bare)).score).toBe(14)
    // Analytics' daily task has catalog recompute (queued here as its crontab would).
    await sql`SELECT graphile_worker.add_job('analytics:completeness')`.execute(
      stack.subgraphs.analytics.database.db,
    )
    const stored = stack.subgraphs.catalog.database.db
      .selectFrom('product_completeness')
      .select(['score', 'missing', 'has_image'])
      .where('product_id', '=', ids.bare)
    for (;;) {
      if ((await stored.executeTakeFirstOrThrow()).has_image) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const peers = signedPeers({ catalog: stack.subgraphs.catalog.server.graphqlUrl }, stack.secrets.signing)
    const answer = await postPeer<any>(
      peers,
      'catalog',
      'mutation { recomputeCompleteness { productsCount averageScore } }',
      {},
    )
    expect(answer.errors).toBeUndefined()
    expect(answer.data.recomputeCompleteness).toEqual({ productsCount: 2, averageScore: '57.50' })
    // (The gateway may still serve its cached answer: the analytics job invalidates it in Redis.)
    expect(await stored.executeTakeFirstOrThrow()).toEqual({
      score: 29,
      missing: ['DESCRIPTION', 'EAN', 'BRAND', 'PRICE', 'STOCK'],
      has_image: true,
    })
    // Not reachable through the gateway.
    const refused = await stack.request('mutation { recomputeCompleteness { productsCount } }')
    expect(refused.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED')
  })

  it('generates the catalog_completeness report per supplier', async () => {
    const created = await ok(
      `mutation($input: CreateReportInput!) { createReport(input: $input) { id status } }`,
      { input: { name: 'Complétude', reportType: 'CATALOG_COMPLETENESS', format: 'JSON' } },
    )
    const id = created.createReport.id
    let report: any
    for (;;) {
      report = (
        await ok(`query($id: UUID!) { report(id: $id) { status rowCount errorMessage downloadUrl } }`, { id })
      ).report
      if (!['PENDING', 'RUNNING'].includes(report.status)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(report).toMatchObject({ status: 'COMPLETED', rowCount: 1, errorMessage: null })
    const { pathname, search } = new URL(report.downloadUrl)
    const file = await fetch(`${stack.gatewayUrl}${pathname}${search}`)
    expect(file.status).toBe(200)
    const body = JSON.stringify(await file.json())
    expect(body).toContain('CMP-A')
    expect(body).toContain('57.50')
    // A period is refused: the report covers the current state.
    const refused = await stack.request(
      `mutation($input: CreateReportInput!) { createReport(input: $input) { id } }`,
      { input: { name: 'x', reportType: 'catalog_completeness', parameters: { from: '2026-01-01' } } },
    )
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('refuses every completeness field when the module is disabled', async () => {
    await ok(SET, { input: { key: 'module.completeness', category: 'modules', value: { enabled: false } } })
    for (const query of [
      `{ completenessSummary(by: SUPPLIER) { productsCount } }`,
      `{ product(id: "${ids.full}") { id completeness { score } } }`,
    ]) {
      const refused = await (async () => {
        for (;;) {
          const res = await stack.send(query)
          if (res.status === 403) return res
          await new Promise((r) => setTimeout(r, 100))
        }
      })()
      expect(refused.body.errors?.[0]?.extensions).toEqual({
        code: 'MODULE_DISABLED',
        module: 'completeness',
      })
    }
    // The rest of the product is served.
    expect((await ok(`{ product(id: "${ids.full}") { id } }`)).product.id).toBe(ids.full)
    await ok(SET, { input: { key: 'module.completeness', category: 'modules', value: { enabled: true } } })
  })
})
