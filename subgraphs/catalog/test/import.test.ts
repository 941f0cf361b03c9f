import { randomUUID } from 'node:crypto'
import { startTestSubgraph, type TestSubgraph } from '@pm/testing/subgraph'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subgraph } from '../src/module'
import {
  STOCK_STATEMENTS_PER_CHUNK,
  UPSERT_CHUNK_ROWS,
  UPSERT_STATEMENTS_PER_CHUNK,
} from '../src/mutations/upsert'

let sg: TestSubgraph<'catalog'>
const supplierId = randomUUID()
const userId = randomUUID()
const jobId = randomUUID()
const warehouse = randomUUID()

const IMPORT = `mutation($supplierId: UUID!, $rows: [ProductImportRowInput!]!, $options: ProductImportOptions) {
  importProducts(supplierId: $supplierId, rows: $rows, options: $options) {
    created updated unchanged failed
    results { index status productId error { code field message } }
  }
}`

async function importRows(rows: object[], options: object = {}) {
  const response = await sg.request(IMPORT, { supplierId, rows, options: { userId, jobId, ...options } })
  expect(response.errors).toBeUndefined()
  return response.data.importProducts
}

const counts = async (table: 'products' | 'price_history' | 'stock_history' | 'product_stocks' | 'brands') =>
  Number(
    (
      await sg.database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  )

beforeAll(async () => {
  sg = await startTestSubgraph(subgraph)
  await sg.database.db
    .insertInto('suppliers')
    .values({ id: supplierId, code: 'IMP', name: 'Importer' })
    .execute()
  await sg.database.db.insertInto('brands').values({ name: 'Bosch', code: 'BOSCH' }).execute()
})
afterAll(() => sg?.stop())

describe('importProducts', () => {
  it('is refused to anyone but a service', async () => {
    const user = {
      kind: 'user',
      userId,
      apiKeyId: null,
      permissions: ['product:create', 'product:update'],
      superuser: false,
    } as const
    const response = await sg.request(IMPORT, { supplierId, rows: [] }, { caller: user })
    expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
  })

  it('refuses an unknown supplier as a whole', async () => {
    const response = await sg.request(IMPORT, { supplierId: randomUUID(), rows: [{ sku: 'X', title: 'x' }] })
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'supplierId' })
  })

  it('creates products with price, stock, brand and category by name, then finds them unchanged', async () => {
    const rows = [
      {
        sku: 'A-1',
        title: 'Drill',
        price: '12.50',
        cost: '8.00',
        brand: 'bosch',
        category: 'Outils',
        stockQuantity: 5,
        warehouse,
      },
      { sku: 'A-2', title: 'Saw', ean: '4006381333931', price: '20', brand: 'Makita', stockQuantity: 0 },
      { sku: 'A-3', title: 'Bad EAN', ean: '4006381333932' },
      { sku: 'A-4', price: '3' },
      { sku: 'A-5', title: 'Bad stock', stockQuantity: 1, warehouse: 'PARIS 1' },
    ]
    // Without creation, the unknown names fail their rows.
    const refused = await importRows(rows, { dryRun: true })
    expect(refused.results.map((r: any) => r.error?.field ?? r.status)).toEqual([
      'rows[0].category',
      'rows[1].brand',
      'rows[2].ean',
      'rows[3].title',
      'rows[4].warehouse',
    ])

    const dry = await importRows(rows, { dryRun: true, createBrands: true, createCategories: true })
    expect(dry).toMatchObject({ created: 2, failed: 3 })
    expect(await counts('products')).toBe(0)
    expect(await counts('brands')).toBe(1)

    const real = await importRows(rows, { createBrands: true, createCategories: true })
    expect(real).toMatchObject({ created: 2, updated: 0, unchanged: 0, failed: 3 })
    const drill = await sg.database.db
      .selectFrom('products')
      .innerJoin('brands', 'brands.id', 'products.brand_id')
      .innerJoin('categories', 'categories.id', 'products.category_id')
      .select(['products.id', 'brands.name as brand', 'categories.slug'])
      .where('sku', '=', 'A-1')
      .executeTakeFirstOrThrow()
    expect(drill).toMatchObject({ brand: 'Bosch', slug: 'outils' })
    const stock = await sg.database.db
      .selectFrom('product_stocks')
      .selectAll()
      .where('product_id', '=', drill.id)
      .execute()
    expect(stock).toMatchObject([{ warehouse_id: warehouse, quantity: 5 }])
    const history = await sg.database.db
      .selectFrom('stock_history')
      .selectAll()
      .where('product_id', '=', drill.id)
      .execute()
    expect(history).toMatchObject([
      {
        old_quantity: null,
        new_quantity: 5,
        reason: 'import',
        changed_by: userId,
        note: `import job ${jobId}`,
      },
    ])
    const prices = await sg.database.db
      .selectFrom('price_history')
      .selectAll()
      .where('product_id', '=', drill.id)
      .execute()
    expect(prices).toMatchObject([
      { old_price: null, new_price: '12.50', source: 'import', changed_by: userId },
    ])

    const again = await importRows(rows, { createBrands: true, createCategories: true })
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 2, failed: 3 })
    expect(await counts('brands')).toBe(2)

    // Only the stock changes: the product is updated and the stock history grows by one.
    const before = await counts('stock_history')
    const moved = await importRows([{ sku: 'A-1', stockQuantity: 7, warehouse }])
    expect(moved).toMatchObject({ updated: 1 })
    expect(await counts('stock_history')).toBe(before + 1)
    const level = await sg.database.db
      .selectFrom('product_stocks')
      .select('quantity')
      .where('product_id', '=', drill.id)
      .execute()
    expect(level).toEqual([{ quantity: 7 }])
  })

  it("takes a file's long texts up to their columns' sizes, and fails alone a row whose text breaks a rule", async () => {
    const longUrl = `https://img.example/${'p'.repeat(300)}.jpg`
    const rows = [
      {
        sku: 'TXT-1',
        title: 'T'.repeat(500),
        description: 'D'.repeat(20_000),
        shortDescription: 'S'.repeat(500),
        imageUrls: [longUrl],
      },
      { sku: 'TXT-2', title: 'Vertical\u000btab' },
      { sku: 'TXT-3', title: 'T'.repeat(501) },
      { sku: 'TXT-4', title: 'Plain', description: 'Line one\nline two\ttabbed' },
    ]
    const result = await importRows(rows)
    expect(result).toMatchObject({ created: 2, failed: 2 })
    expect(result.results.map((r: any) => r.error?.field ?? r.status)).toEqual([
      'CREATED',
      'rows[1].title',
      'rows[2].title',
      'CREATED',
    ])
    expect(result.results[1].error).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(result.results[1].error.message).toContain('U+000B')
    expect(result.results[2].error.message).toContain('at most 500')
    const stored = await sg.database.db
      .selectFrom('products')
      .select([
        'sku',
        sql<number>`length(title)`.as('title'),
        sql<number>`length(description)`.as('description'),
      ])
      .where('sku', 'in', ['TXT-1', 'TXT-4'])
      .orderBy('sku')
      .execute()
    expect(stored).toEqual([
      { sku: 'TXT-1', title: 500, description: 20_000 },
      { sku: 'TXT-4', title: 5, description: 'Line one\nline two\ttabbed'.length },
    ])
  })

  it("sets the stock's alert threshold (minStock) with its quantity; a threshold changed alone writes no history", async () => {
    const stock = () =>
      sg.database.db
        .selectFrom('product_stocks')
        .innerJoin('products', 'products.id', 'product_stocks.product_id')
        .select(['products.sku', 'product_stocks.quantity', 'product_stocks.min_stock'])
        .where('products.sku', 'in', ['MIN-1', 'MIN-2'])
        .orderBy('products.sku')
        .execute()
    const history = async () =>
      Number(
        (
          await sg.database.db
            .selectFrom('stock_history')
            .innerJoin('products', 'products.id', 'stock_history.product_id')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .where('products.sku', 'in', ['MIN-1', 'MIN-2'])
            .executeTakeFirstOrThrow()
        ).n,
      )
    const first = await importRows([
      { sku: 'MIN-1', title: 'Threshold', stockQuantity: 10, minStock: 3, warehouse: 'PARIS-01' },
      { sku: 'MIN-2', title: 'No threshold', stockQuantity: 4 },
      { sku: 'MIN-3', title: 'Threshold alone', minStock: 2 },
      { sku: 'MIN-4', title: 'Negative', stockQuantity: 1, minStock: -1 },
    ])
    expect(first.results.map((r: any) => r.error?.field ?? r.status)).toEqual([
      'CREATED',
      'CREATED',
      'rows[2].minStock',
      'rows[3].minStock',
    ])
    expect(await stock()).toEqual([
      { sku: 'MIN-1', quantity: 10, min_stock: 3 },
      { sku: 'MIN-2', quantity: 4, min_stock: 0 },
    ])
    expect(await history()).toBe(2)

    const again = await importRows([
      { sku: 'MIN-1', title: 'Threshold', stockQuantity: 10, minStock: 3, warehouse: 'PARIS-01' },
      { sku: 'MIN-2', title: 'No threshold', stockQuantity: 4 },
    ])
    expect(again).toMatchObject({ unchanged: 2, updated: 0 })

    const changed = await importRows([
      { sku: 'MIN-1', title: 'Threshold', stockQuantity: 10, minStock: 5, warehouse: 'PARIS-01' },
      { sku: 'MIN-2', title: 'No threshold', stockQuantity: 6 },
    ])
    expect(changed).toMatchObject({ updated: 2, unchanged: 0 })
    expect(await stock()).toEqual([
      { sku: 'MIN-1', quantity: 10, min_stock: 5 },
      { sku: 'MIN-2', quantity: 6, min_stock: 0 },
    ])
    // MIN-2's quantity changed (one more history row); MIN-1's threshold alone did not write one.
    expect(await history()).toBe(3)
  })

  it('gives a batch sent again under its key the verdicts it had, without applying it twice', async () => {
    const job = randomUUID()
    const rows = [
      { sku: 'R-1', title: 'Once', price: '1.00', stockQuantity: 3 },
      { sku: 'R-2', title: 'Bad', ean: '123' },
    ]
    const first = await importRows(rows, { jobId: job, batch: 1 })
    expect(first.results.map((r: any) => r.status)).toEqual(['CREATED', 'FAILED'])
    const history = await counts('price_history')
    const stock = await counts('stock_history')
    // Changed meanwhile: a replay still reports (and keeps) what the first call did.
    const replayed = await importRows([{ ...rows[0], price: '2.00' }, rows[1]!], { jobId: job, batch: 1 })
    expect(replayed).toMatchObject({ created: 1, failed: 1 })
    expect(replayed.results[1].error).toEqual(first.results[1].error)
    expect(await counts('price_history')).toBe(history)
    expect(await counts('stock_history')).toBe(stock)
    const other = await importRows(rows, { jobId: job, batch: 3 })
    expect(other).toMatchObject({ unchanged: 1, failed: 1 })
    const wrong = await sg.request(IMPORT, { supplierId, rows: [rows[0]], options: { jobId: job, batch: 1 } })
    expect(wrong.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'options.batch' })
  })

  it('writes a batch sent ahead of its turn after the batch it follows, or refuses it until that one is committed', async () => {
    const job = randomUUID()
    const batch = (price: string) => [{ sku: 'ORD-1', title: 'Ordered', price }]
    const send = (rows: object[], options: object) =>
      sg.request(IMPORT, { supplierId, rows, options: { userId, jobId: job, ...options } })
    // The batch it follows has not reached catalog: refused, nothing written.
    const early = await send(batch('2.00'), { batch: 3, after: 1 })
    expect(early.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'options.after' })
    expect(
      await sg.database.db.selectFrom('products').select('id').where('sku', '=', 'ORD-1').execute(),
    ).toEqual([])

    // Batch 1's transaction is held open by a lock on one of its statements; batch 3, sent meanwhile, waits for
    // it and lands after it: the later row's price wins.
    const blocker = await sg.database.pool.connect()
    try {
      await blocker.query('BEGIN')
      await blocker.query('LOCK TABLE import_batch_receipts IN EXCLUSIVE MODE')
      // Locks this database's sessions wait for.
      const waiting = async () =>
        Number(
          (
            await sql<{ n: string }>`
              SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE NOT l.granted AND a.datname = current_database()`.execute(sg.database.db)
          ).rows[0]!.n,
        )
      const waitFor = async (n: number) => {
        while ((await waiting()) < n) await new Promise((r) => setTimeout(r, 20))
      }
      // Batch 1 waits on the table lock when it saves its receipt; then batch 3 waits on batch 1's transaction.
      const first = send(batch('1.00'), { batch: 1 })
      await waitFor(1)
      const second = send(batch('2.00'), { batch: 3, after: 1 })
      await waitFor(2)
      await blocker.query('COMMIT')
      const [a, b] = await Promise.all([first, second])
      expect(a.errors).toBeUndefined()
      expect(b.errors).toBeUndefined()
      expect(a.data.importProducts.created).toBe(1)
      expect(b.data.importProducts.updated).toBe(1)
    } finally {
      blocker.release()
    }
    const stored = await sg.database.db
      .selectFrom('products')
      .innerJoin('product_prices', 'product_prices.product_id', 'products.id')
      .select('product_prices.price')
      .where('products.sku', '=', 'ORD-1')
      .execute()
    expect(stored).toEqual([{ price: '2.00' }])
    // Its history in the same order, batch 3's change dated after batch 1's commit.
    const history = await sg.database.db
      .selectFrom('price_history')
      .innerJoin('products', 'products.id', 'price_history.product_id')
      .select(['price_history.old_price', 'price_history.new_price'])
      .where('products.sku', '=', 'ORD-1')
      .orderBy('price_history.changed_at')
      .execute()
    expect(history).toEqual([
      { old_price: null, new_price: '1.00' },
      { old_price: '1.00', new_price: '2.00' },
    ])

    const alone = await sg.request(IMPORT, { supplierId, rows: batch('3.00'), options: { after: 1 } })
    expect(alone.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'options.after' })
  })

  it('answers the product ids of the accepted rows with image URLs, also when the batch is replayed', async () => {
    const job = randomUUID()
    const rows = [
      { sku: 'IMG-1', title: 'Pictured', imageUrls: ['https://img.example/1.jpg'] },
      { sku: 'IMG-2', title: 'Plain' },
      { sku: 'IMG-3', ean: '123', title: 'Bad', imageUrls: ['https://img.example/3.jpg'] },
      {
        sku: 'IMG-4',
        title: 'Pictured too',
        imageUrls: ['https://img.example/4.jpg', 'https://img.example/5.jpg'],
      },
    ]
    const WITH_IMAGES = `mutation($supplierId: UUID!, $rows: [ProductImportRowInput!]!, $options: ProductImportOptions) {
      importProducts(supplierId: $supplierId, rows: $rows, options: $options) {
        created failed results { productId } imageRows { index status productId }
      }
    }`
    const send = async () => {
      const response = await sg.request(WITH_IMAGES, { supplierId, rows, options: { jobId: job, batch: 1 } })
      expect(response.errors).toBeUndefined()
      return response.data.importProducts
    }
    const first = await send()
    expect(first).toMatchObject({ created: 3, failed: 1 })
    const ids = first.results.map((r: any) => r.productId)
    expect(first.imageRows).toEqual([
      { index: 0, status: 'CREATED', productId: ids[0] },
      { index: 3, status: 'CREATED', productId: ids[3] },
    ])
    // A worker that died after catalog's commit sends the batch again: the ids media needs come back.
    const replayed = await send()
    expect(replayed.imageRows).toEqual(first.imageRows)
    expect(replayed.results[1].productId).toBeNull()
  })

  it('keeps its statement count bounded per batch and measures 1,000 and 5,000 rows', async () => {
    const make = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => ({
        sku: `${prefix}-${i}`,
        title: `Product ${i}`,
        price: `${(i % 500) + 1}.99`,
        cost: '1.00',
        brand: `Brand ${i % 20}`,
        category: `Category ${i % 10}`,
        stockQuantity: i % 50,
        warehouse,
      }))
    const figures: string[] = []
    for (const n of [1_000, 5_000]) {
      const rows = make(n, `B${n}`)
      for (const pass of ['create', 'rerun'] as const) {
        const statements = sg.queryCount()
        const start = performance.now()
        const result = await importRows(rows, { createBrands: true, createCategories: true })
        const ms = performance.now() - start
        const used = sg.queryCount() - statements
        expect(result.failed).toBe(0)
        expect(pass === 'create' ? result.created : result.unchanged).toBe(n)
        const chunks = Math.ceil(n / UPSERT_CHUNK_ROWS)
        // Per call: supplier check, locks, names, references, keys, audit; the rest per chunk.
        expect(used).toBeLessThanOrEqual(
          20 + chunks * (UPSERT_STATEMENTS_PER_CHUNK + STOCK_STATEMENTS_PER_CHUNK),
        )
        figures.push(`${n} rows ${pass}: ${ms.toFixed(0)} ms, ${used} statements`)
      }
    }
    console.log(`importProducts: ${figures.join('; ')}`)
    // The catalogue grew from a few rows to 6,000 products: their statistics were refreshed after the calls
    // (not left to autovacuum, while the next chunks' plans depend on them).
    const { rows: stats } = await sql<{ relname: string; analyzed: boolean }>`
      SELECT relname, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables
      WHERE relname IN ('products', 'product_prices', 'product_stocks') ORDER BY relname`.execute(
      sg.database.db,
    )
    expect(stats).toEqual([
      { relname: 'product_prices', analyzed: true },
      { relname: 'product_stocks', analyzed: true },
      { relname: 'products', analyzed: true },
    ])
  })
})

describe('importProducts and the gateway cache', () => {
  it("tells the gateway what a batch changed: every product's own answers and, by name, the owners' lists", async () => {
    const rows = [{ sku: 'CACHE-1', title: 'Cached drill', price: '10.00', brand: 'bosch' }]
    const first = await sg.request(IMPORT, { supplierId, rows, options: { userId, createBrands: true } })
    expect(first.errors).toBeUndefined()
    const bosch = await sg.database.db
      .selectFrom('brands')
      .select('id')
      .where('code', '=', 'BOSCH')
      .executeTakeFirstOrThrow()
    const declared = (first as { extensions?: Record<string, any> }).extensions?.pmChangedEntities?.catalog
    expect(declared).toEqual(
      expect.arrayContaining(['Product:*', `Supplier:${supplierId}`, `Brand:${bosch.id}`]),
    )
    // Not another supplier's list, nor products one by one.
    expect(declared.filter((t: string) => t.startsWith('Supplier:'))).toEqual([`Supplier:${supplierId}`])
    // The same row again changes nothing: nothing to drop.
    const again = await sg.request(IMPORT, { supplierId, rows, options: { userId } })
    expect((again as { extensions?: Record<string, any> }).extensions?.pmChangedEntities).toEqual({
      catalog: [],
    })
  })

  it('names the brand a product leaves and the one it joins, and the one it keeps when the row sets none', async () => {
    const declared = async (row: Record<string, unknown>) => {
      const answer = await sg.request(IMPORT, {
        supplierId,
        rows: [row],
        options: { userId, createBrands: true },
      })
      expect(answer.errors).toBeUndefined()
      const tags: string[] = (answer as { extensions?: Record<string, any> }).extensions?.pmChangedEntities
        ?.catalog
      return tags.filter((t) => t.startsWith('Brand:')).sort()
    }
    const brandId = async (name: string) =>
      (
        await sg.database.db
          .selectFrom('brands')
          .select('id')
          .where(sql`lower(name)`, '=', name)
          .executeTakeFirstOrThrow()
      ).id
    expect(await declared({ sku: 'CACHE-2', title: 'Moved saw', price: '20.00', brand: 'bosch' })).toEqual([
      `Brand:${await brandId('bosch')}`,
    ])
    // From Bosch to Metabo: both lists change.
    expect(await declared({ sku: 'CACHE-2', title: 'Moved saw', price: '21.00', brand: 'metabo' })).toEqual(
      [`Brand:${await brandId('bosch')}`, `Brand:${await brandId('metabo')}`].sort(),
    )
    // No brand in the row: the product stays Metabo's, whose list shows its new price.
    expect(await declared({ sku: 'CACHE-2', price: '22.00' })).toEqual([`Brand:${await brandId('metabo')}`])
    // A new product without a brand is in no brand's list.
    expect(await declared({ sku: 'CACHE-3', title: 'No brand', price: '5.00' })).toEqual([])
  })
})
