import { seedDemoData } from '@pm/seed'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let stack: TestStack
let supplierId: string
const to = new Date().toISOString().slice(0, 10)
const from = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10)

const PRODUCT_PAGE = /* GraphQL */ `
  query ProductPage($supplierId: UUID!, $first: Int!, $from: LocalDate!, $to: LocalDate!) {
    products(first: $first, filter: { supplierId: $supplierId }) {
      totalCount
      edges {
        node {
          id
          title
          supplier { code }
          prices { priceType price currency }
          stocks { warehouseId quantity reservedQuantity availableQuantity }
          primaryImage { id thumbnails { sizeName width } }
          media { id displayOrder thumbnails { sizeName } }
          bestAsinMatch { asin matchConfidence }
          metrics(from: $from, to: $to) { date viewCount revenue }
        }
      }
    }
  }
`

function byKey<T>(rows: T[], key: (row: T) => string): T[] {
  return [...rows].sort((a, b) => key(a).localeCompare(key(b)))
}

beforeAll(async () => {
  // Cache off: these tests count the statements behind each answer and stop a subgraph mid-test.
  stack = await startTestStack({ gateway: { cache: false } })
  const dbs = Object.fromEntries(Object.entries(stack.subgraphs).map(([d, s]) => [d, (s as any).database.db]))
  await seedDemoData(dbs as any, { products: 1000 })
  // A supplier with many products whose newest one has a primary image with thumbnails, so that every
  // loader of the page runs at 5 products as at 50 (statement counts are then comparable).
  const withThumbnails = await sql<{ product_id: string }>`
    SELECT DISTINCT f.product_id FROM media_files f JOIN media_thumbnails t ON t.media_file_id = f.id
    WHERE f.is_primary AND f.product_id IS NOT NULL`.execute(stack.subgraphs.media.database.db)
  const rich = withThumbnails.rows.map((r) => r.product_id)
  const top = await sql<{ supplier_id: string }>`
    SELECT supplier_id FROM (
      SELECT DISTINCT ON (supplier_id) supplier_id, id, count(*) OVER (PARTITION BY supplier_id) AS n
      FROM products WHERE supplier_id IS NOT NULL ORDER BY supplier_id, created_at DESC, id DESC
    ) newest WHERE n >= 50 AND id = ANY(${rich}::uuid[]) ORDER BY n DESC LIMIT 1`.execute(
    stack.subgraphs.catalog.database.db,
  )
  supplierId = top.rows[0]!.supplier_id
}, 180_000)
afterAll(() => stack?.stop())

describe('a product page through the gateway', () => {
  it('returns exactly what the seven databases hold', async () => {
    const res = await stack.request(PRODUCT_PAGE, { supplierId, first: 10, from, to })
    expect(res.errors).toBeUndefined()
    const { catalog, media, code2asin, analytics } = stack.subgraphs as any
    const products = await sql<{ id: string; title: string }>`
      SELECT id, title FROM products WHERE supplier_id = ${supplierId}
      ORDER BY created_at DESC, id DESC LIMIT 10`.execute(catalog.database.db)
    const ids = products.rows.map((p) => p.id)
    const total = await sql<{
      n: string
    }>`SELECT count(*) AS n FROM products WHERE supplier_id = ${supplierId}`.execute(catalog.database.db)
    expect(res.data.products.totalCount).toBe(Number(total.rows[0]!.n))
    expect(res.data.products.edges.map((e: any) => e.node.id)).toEqual(ids)

    const code = await sql<{ code: string }>`SELECT code FROM suppliers WHERE id = ${supplierId}`.execute(
      catalog.database.db,
    )
    const prices = await sql<any>`
      SELECT product_id, price_type, price::text AS price, currency FROM product_prices
      WHERE product_id = ANY(${ids}::uuid[]) AND is_active`.execute(catalog.database.db)
    const stocks = await sql<any>`
      SELECT product_id, warehouse_id, quantity, reserved_quantity, available_quantity FROM product_stocks
      WHERE product_id = ANY(${ids}::uuid[])`.execute(catalog.database.db)
    const files = await sql<any>`
      SELECT id, product_id, display_order, is_primary FROM media_files
      WHERE product_id = ANY(${ids}::uuid[]) ORDER BY product_id, display_order, id`.execute(
      media.database.db,
    )
    const thumbs = await sql<any>`
      SELECT t.media_file_id, t.size_name, t.width FROM media_thumbnails t
      JOIN media_files f ON f.id = t.media_file_id WHERE f.product_id = ANY(${ids}::uuid[])`.execute(
      media.database.db,
    )
    const best = await sql<any>`
      SELECT DISTINCT ON (product_id) product_id, asin, match_confidence::text AS confidence FROM code2asin_results
      WHERE product_id = ANY(${ids}::uuid[])
      ORDER BY product_id, match_confidence DESC NULLS LAST, is_verified DESC NULLS LAST, processed_at DESC NULLS LAST, id`.execute(
      code2asin.database.db,
    )
    const metrics = await sql<any>`
      SELECT product_id, date::text AS date, view_count, revenue::text AS revenue FROM product_metrics
      WHERE product_id = ANY(${ids}::uuid[]) AND date BETWEEN ${from}::date AND ${to}::date
      ORDER BY product_id, date`.execute(analytics.database.db)

    let withMedia = 0
    let withAsin = 0
    let withMetrics = 0
    for (const [i, edge] of res.data.products.edges.entries()) {
      const node = edge.node
      const id = ids[i]!
      expect(node.title).toBe(products.rows[i]!.title)
      expect(node.supplier).toEqual({ code: code.rows[0]!.code })
      expect(byKey(node.prices, (p: any) => `${p.priceType}${p.price}`)).toEqual(
        byKey(
          prices.rows
            .filter((p: any) => p.product_id === id)
            .map((p: any) => ({
              priceType: p.price_type.toUpperCase(),
              price: p.price,
              currency: p.currency,
            })),
          (p) => `${p.priceType}${p.price}`,
        ),
      )
      expect(byKey(node.stocks, (s: any) => String(s.warehouseId))).toEqual(
        byKey(
          stocks.rows
            .filter((s: any) => s.product_id === id)
            .map((s: any) => ({
              warehouseId: s.warehouse_id,
              quantity: s.quantity,
              reservedQuantity: s.reserved_quantity,
              availableQuantity: s.available_quantity,
            })),
          (s) => String(s.warehouseId),
        ),
      )
      const own = files.rows.filter((f: any) => f.product_id === id)
      expect(node.media.map((m: any) => m.id)).toEqual(own.map((f: any) => f.id))
      for (const m of node.media) {
        expect(m.thumbnails.map((t: any) => t.sizeName).sort()).toEqual(
          thumbs.rows
            .filter((t: any) => t.media_file_id === m.id)
            .map((t: any) => t.size_name.toUpperCase())
            .sort(),
        )
      }
      const primary = own.find((f: any) => f.is_primary) ?? own[0]
      expect(node.primaryImage?.id ?? null).toBe(primary?.id ?? null)
      if (own.length) withMedia++
      const match = best.rows.find((b: any) => b.product_id === id)
      expect(node.bestAsinMatch).toEqual(
        match ? { asin: match.asin, matchConfidence: match.confidence } : null,
      )
      if (match) withAsin++
      const own_metrics = metrics.rows.filter((m: any) => m.product_id === id)
      expect(node.metrics).toEqual(
        own_metrics.map((m: any) => ({ date: m.date, viewCount: m.view_count, revenue: m.revenue })),
      )
      if (own_metrics.length) withMetrics++
    }
    // The comparison above must have had something to compare across databases.
    expect(withMedia).toBeGreaterThan(0)
    expect(withAsin).toBeGreaterThan(0)
    expect(withMetrics + withAsin + withMedia).toBeGreaterThan(3)
  })

  it('runs the same number of SQL statements for 5 and for 50 products', async () => {
    const count = async (first: number) => {
      const before = stack.totalQueryCount()
      const res = await stack.request(PRODUCT_PAGE, { supplierId, first, from, to })
      expect(res.errors).toBeUndefined()
      expect(res.data.products.edges.length).toBe(first)
      return stack.totalQueryCount() - before
    }
    const five = await count(5)
    const fifty = await count(50)
    expect(fifty).toBe(five)
    expect(five).toBeLessThanOrEqual(12)
  })

  it('resolves orphan references across databases to null without failing the query', async () => {
    const { catalog, media } = stack.subgraphs as any
    const catalogIds = new Set(
      (await sql<{ id: string }>`SELECT id FROM products`.execute(catalog.database.db)).rows.map((r) => r.id),
    )
    const files = (
      await sql<{ id: string; product_id: string }>`
        SELECT id, product_id FROM media_files WHERE product_id IS NOT NULL ORDER BY id`.execute(
        media.database.db,
      )
    ).rows
    const orphan = files.find((f) => !catalogIds.has(f.product_id))!
    const linked = files.find((f) => catalogIds.has(f.product_id))!
    expect(orphan).toBeDefined()
    const res = await stack.request(
      `query($a: UUID!, $b: UUID!) {
        orphan: mediaFile(id: $a) { id product { id title } }
        linked: mediaFile(id: $b) { id product { id title } }
      }`,
      { a: orphan.id, b: linked.id },
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.orphan).toEqual({ id: orphan.id, product: null })
    expect(res.data.linked.product.id).toBe(linked.product_id)
  })

  // Last: it stops the media subgraph of the shared stack.
  it('keeps the catalog data of a product when the media service is down', async () => {
    const { catalog, media } = stack.subgraphs as any
    const [product] = (
      await sql<{ id: string; title: string }>`SELECT id, title FROM products ORDER BY id LIMIT 1`.execute(
        catalog.database.db,
      )
    ).rows
    await media.server.stop()
    const res = await stack.request(
      'query($id: UUID!) { product(id: $id) { id title media { id } primaryImage { id } asinMatches { asin } } }',
      { id: product!.id },
    )
    expect(res.data.product).toMatchObject({
      id: product!.id,
      title: product!.title,
      media: null,
      primaryImage: null,
    })
    expect(Array.isArray(res.data.product.asinMatches)).toBe(true)
    expect(res.errors?.length).toBeGreaterThan(0)
    for (const error of res.errors!) {
      expect(error).toMatchObject({
        message: 'The media service is unavailable',
        extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'media' },
      })
    }
  })
})
