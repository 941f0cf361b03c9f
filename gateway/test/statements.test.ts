import { randomUUID } from 'node:crypto'
import type { Domain } from '@pm/db'
import { seedDemoData } from '@pm/seed'
import { CALLER_HEADER } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Q1_PRODUCT_PAGE, Q2_PRODUCT_DETAIL, Q3_IMPORT_DASHBOARD } from '../../bench/queries'

// SQL statements per operation = the subgraph fetches of its plan, whatever the page size.
let stack: TestStack
/** Subgraph fetches per request id (x-request-id, which the gateway passes on) and subgraph. */
const fetches = new Map<string, Map<Domain, number>>()
let supplierId: string
let ean: string
let bareEan: string
let statuses: string[]
let range: { from: string; to: string }

type Row = Record<string, any>

/** Direct SQL on a subgraph's database, outside the counted statements (the pool's background handle). */
async function rows(domain: Domain, query: RawBuilder<unknown>): Promise<Row[]> {
  const db = stack.subgraphs[domain].database.background as unknown as Kysely<unknown>
  return (await query.execute(db)).rows as Row[]
}

const iso = (value: Date | null) => (value === null ? null : value.toISOString())
const groupBy = <T extends Row>(list: T[], key: string) => {
  const map = new Map<string, T[]>()
  for (const row of list) {
    const k = row[key] as string
    const group = map.get(k)
    if (group) group.push(row)
    else map.set(k, [row])
  }
  return map
}

interface Measured {
  data: any
  statements: number
  fetches: number
  bySubgraph: Partial<Record<Domain, { statements: number; fetches: number }>>
}

/**
 * Runs one operation under a request id of its own and counts what the subgraphs did for that id alone: the
 * statements run while serving its fetches (the gateway passes the id on to each), and those fetches. Nothing
 * else the stack does meanwhile (audit relays, session checks, another test's work) is counted.
 */
async function measure(query: string, variables: Record<string, unknown>): Promise<Measured> {
  const id = `statements-${randomUUID()}`
  const res = await stack.request(query, variables, { 'x-request-id': id })
  expect(res.errors).toBeUndefined()
  const statementsBy = stack.statementsOf(id)
  const fetchesBy = fetches.get(id) ?? new Map<Domain, number>()
  fetches.delete(id)
  const bySubgraph: Measured['bySubgraph'] = {}
  let statements = 0
  let fetchCount = 0
  for (const d of Object.keys(stack.subgraphs) as Domain[]) {
    const s = statementsBy[d] ?? 0
    const f = fetchesBy.get(d) ?? 0
    if (s || f) bySubgraph[d] = { statements: s, fetches: f }
    statements += s
    fetchCount += f
  }
  return { data: res.data, statements, fetches: fetchCount, bySubgraph }
}

const counts: string[] = []
function record(name: string, m: Measured) {
  const per = Object.entries(m.bySubgraph)
    .map(([d, c]) => `${d} ${c!.statements}/${c!.fetches}`)
    .join(', ')
  counts.push(`${name}: ${m.statements} statements / ${m.fetches} fetches (${per})`)
}

/** Q1 as the databases answer it: catalog's page, its children, media's primary image, code2asin's best match. */
async function expectedQ1(first: number) {
  const products = await rows(
    'catalog',
    sql`SELECT id, ean, sku, title, status, created_at FROM products
        WHERE supplier_id = ${supplierId} AND is_active = true ORDER BY created_at DESC, id DESC LIMIT ${first}`,
  )
  const ids = products.map((p) => p.id as string)
  const prices = groupBy(
    await rows(
      'catalog',
      sql`SELECT product_id, price_type, price::text AS price, currency, min_quantity FROM product_prices
          WHERE product_id = ANY(${ids}::uuid[]) AND is_active = true
          ORDER BY product_id, price_type, min_quantity, valid_from DESC NULLS LAST, id`,
    ),
    'product_id',
  )
  const stocks = groupBy(
    await rows(
      'catalog',
      sql`SELECT product_id, warehouse_id, quantity, available_quantity FROM product_stocks
          WHERE product_id = ANY(${ids}::uuid[]) ORDER BY product_id, warehouse_id NULLS FIRST, id`,
    ),
    'product_id',
  )
  const brands = groupBy(
    await rows(
      'catalog',
      sql`SELECT p.id AS product_id, b.id, b.name FROM products p JOIN brands b ON b.id = p.brand_id
          WHERE p.id = ANY(${ids}::uuid[])`,
    ),
    'product_id',
  )
  const categories = groupBy(
    await rows(
      'catalog',
      sql`SELECT p.id AS product_id, c.id, c.name FROM products p JOIN categories c ON c.id = p.category_id
          WHERE p.id = ANY(${ids}::uuid[])`,
    ),
    'product_id',
  )
  const files = groupBy(
    await rows(
      'media',
      sql`SELECT id, product_id, storage_url, alt_text, is_primary FROM media_files
          WHERE product_id = ANY(${ids}::uuid[]) ORDER BY product_id, display_order, id`,
    ),
    'product_id',
  )
  const fileIds = [...files.values()].flat().map((f) => f.id as string)
  const smalls = groupBy(
    await rows(
      'media',
      sql`SELECT media_file_id, storage_url, width, height FROM media_thumbnails
          WHERE media_file_id = ANY(${fileIds}::uuid[]) AND size_name = 'small' ORDER BY media_file_id, width, id`,
    ),
    'media_file_id',
  )
  const best = groupBy(
    await rows(
      'code2asin',
      sql`SELECT DISTINCT ON (product_id) product_id, asin, match_confidence::text AS confidence, is_verified
          FROM code2asin_results WHERE product_id = ANY(${ids}::uuid[])
          ORDER BY product_id, match_confidence DESC NULLS LAST, coalesce(is_verified, false) DESC,
                   processed_at DESC NULLS LAST, id`,
    ),
    'product_id',
  )
  const edges = products.map((p) => {
    const own = files.get(p.id) ?? []
    const primary = own.find((f) => f.is_primary === true) ?? own[0]
    const small = primary ? smalls.get(primary.id)?.[0] : undefined
    const brand = brands.get(p.id)?.[0]
    const category = categories.get(p.id)?.[0]
    const match = best.get(p.id)?.[0]
    return {
      node: {
        id: p.id,
        ean: p.ean,
        sku: p.sku,
        title: p.title,
        status: p.status.toUpperCase(),
        createdAt: iso(p.created_at),
        prices: (prices.get(p.id) ?? []).map((r) => ({
          priceType: r.price_type.toUpperCase(),
          price: r.price,
          currency: r.currency,
          minQuantity: r.min_quantity,
        })),
        stocks: (stocks.get(p.id) ?? []).map((s) => ({
          warehouseId: s.warehouse_id,
          quantity: s.quantity,
          availableQuantity: s.available_quantity,
        })),
        brand: brand ? { id: brand.id, name: brand.name } : null,
        category: category ? { id: category.id, name: category.name } : null,
        primaryImage: primary
          ? {
              id: primary.id,
              storageUrl: primary.storage_url,
              altText: primary.alt_text,
              thumbnail: small
                ? { storageUrl: small.storage_url, width: small.width, height: small.height }
                : null,
            }
          : null,
        bestAsinMatch: match
          ? { asin: match.asin, matchConfidence: match.confidence, isVerified: match.is_verified }
          : null,
      },
    }
  })
  return { products: { edges } }
}

/** Q2 as the databases answer it, for the product productByEan picks. */
async function expectedQ2(forEan: string) {
  const [p] = await rows(
    'catalog',
    sql`SELECT * FROM products WHERE ean = ${forEan}
        ORDER BY is_active IS TRUE DESC, created_at DESC NULLS LAST, id DESC LIMIT 1`,
  )
  if (!p) return { productByEan: null }
  const prices = await rows(
    'catalog',
    sql`SELECT * FROM product_prices
        WHERE product_id = ${p.id} AND is_active = true ORDER BY price_type, min_quantity, valid_from DESC NULLS LAST, id`,
  )
  const stocks = await rows(
    'catalog',
    sql`SELECT * FROM product_stocks WHERE product_id = ${p.id} ORDER BY warehouse_id NULLS FIRST, id`,
  )
  const history = await rows(
    'catalog',
    sql`SELECT * FROM stock_history WHERE product_id = ${p.id} ORDER BY changed_at DESC, id DESC LIMIT 30`,
  )
  const media = await rows(
    'media',
    sql`SELECT * FROM media_files WHERE product_id = ${p.id} ORDER BY display_order, id`,
  )
  const thumbnails = groupBy(
    await rows(
      'media',
      sql`SELECT * FROM media_thumbnails WHERE media_file_id = ANY(${media.map((m) => m.id)}::uuid[])
          ORDER BY media_file_id, width, id`,
    ),
    'media_file_id',
  )
  const matches = await rows(
    'code2asin',
    sql`SELECT * FROM code2asin_results WHERE product_id = ${p.id}
        ORDER BY match_confidence DESC NULLS LAST, coalesce(is_verified, false) DESC, processed_at DESC NULLS LAST, id`,
  )
  const metrics = await rows(
    'analytics',
    sql`SELECT date::text AS date, view_count, sales_count, conversion_rate::text AS conversion_rate,
               revenue::text AS revenue
        FROM product_metrics WHERE product_id = ${p.id} AND date BETWEEN ${range.from}::date AND ${range.to}::date
        ORDER BY date`,
  )
  return {
    productByEan: {
      id: p.id,
      ean: p.ean,
      sku: p.sku,
      title: p.title,
      description: p.description,
      status: p.status.toUpperCase(),
      isActive: p.is_active,
      createdAt: iso(p.created_at),
      updatedAt: iso(p.updated_at),
      prices: prices.map((r) => ({
        priceType: r.price_type.toUpperCase(),
        price: r.price,
        cost: r.cost,
        currency: r.currency,
        minQuantity: r.min_quantity,
        validFrom: iso(r.valid_from),
        validUntil: iso(r.valid_until),
      })),
      stocks: stocks.map((s) => ({
        warehouseId: s.warehouse_id,
        quantity: s.quantity,
        reservedQuantity: s.reserved_quantity,
        availableQuantity: s.available_quantity,
        lastUpdate: iso(s.last_update),
      })),
      stockHistory: {
        edges: history.map((h) => ({
          node: {
            id: Number(h.id),
            warehouseId: h.warehouse_id,
            oldQuantity: h.old_quantity,
            newQuantity: h.new_quantity,
            delta: h.delta,
            reason: h.reason?.toUpperCase() ?? null,
            changedAt: iso(h.changed_at),
          },
        })),
      },
      media: media.map((m) => ({
        id: m.id,
        fileName: m.file_name,
        mimeType: m.mime_type,
        width: m.width,
        height: m.height,
        isPrimary: m.is_primary,
        displayOrder: m.display_order,
        storageUrl: m.storage_url,
        thumbnails: (thumbnails.get(m.id) ?? []).map((t) => ({
          sizeName: t.size_name.toUpperCase(),
          width: t.width,
          height: t.height,
          storageUrl: t.storage_url,
        })),
      })),
      asinMatches: matches.map((r) => ({
        id: r.id,
        asin: r.asin,
        amazonTitle: r.amazon_title,
        matchConfidence: r.match_confidence,
        matchType: r.match_type?.toUpperCase() ?? null,
        amazonPrice: r.amazon_price,
        isVerified: r.is_verified,
        processedAt: iso(r.processed_at),
      })),
      metrics: metrics.map((m) => ({
        date: m.date,
        viewCount: m.view_count,
        salesCount: m.sales_count,
        conversionRate: m.conversion_rate,
        revenue: m.revenue,
      })),
    },
  }
}

/** Q3 as the databases answer it: imports' jobs, catalog's supplier by code, core's creator. */
async function expectedQ3(status: string, first: number) {
  const jobs = await rows(
    'imports',
    sql`SELECT * FROM import_jobs WHERE status = ${status} ORDER BY created_at DESC, id DESC LIMIT ${first}`,
  )
  const suppliers = groupBy(
    await rows(
      'catalog',
      sql`SELECT id, code, name FROM suppliers WHERE code = ANY(${jobs.map((j) => j.supplier_code)}::text[])`,
    ),
    'code',
  )
  const users = groupBy(
    await rows(
      'core',
      sql`SELECT id, email, first_name, last_name FROM users
          WHERE id = ANY(${jobs.map((j) => j.created_by).filter(Boolean)}::uuid[])`,
    ),
    'id',
  )
  return {
    importJobs: {
      edges: jobs.map((j) => {
        const supplier = suppliers.get(j.supplier_code)?.[0]
        const user = j.created_by ? users.get(j.created_by)?.[0] : undefined
        return {
          node: {
            id: j.id,
            status: j.status.toUpperCase(),
            importType: j.import_type,
            supplierCode: j.supplier_code,
            totalRows: j.total_rows,
            processedRows: j.processed_rows,
            failedRows: j.failed_rows,
            startedAt: iso(j.started_at),
            completedAt: iso(j.completed_at),
            createdAt: iso(j.created_at),
            supplier: supplier ? { id: supplier.id, code: supplier.code, name: supplier.name } : null,
            createdBy: user
              ? { id: user.id, email: user.email, firstName: user.first_name, lastName: user.last_name }
              : null,
          },
        }
      }),
    },
  }
}

function isServiceCall(header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false
  const { caller } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { caller: { kind: string } }
  return caller.kind === 'service'
}

beforeAll(async () => {
  // Module states cached for the whole file: no refresh from core lands inside a measured operation. The
  // fetch cache off: every fetch of the plan reaches its subgraph (the cache only takes fetches away).
  stack = await startTestStack({ gateway: { moduleStateTtlMs: 3_600_000, cache: false } })
  for (const [domain, sg] of Object.entries(stack.subgraphs) as [Domain, TestStack['subgraphs'][Domain]][]) {
    sg.server.http.server.on('request', (req) => {
      // The operation's fetches only: the gateway's own service calls (core's answer about the caller's
      // session, asked again once its few seconds are over) belong to no plan.
      const id = req.headers['x-request-id']
      if (typeof id !== 'string' || !req.url?.startsWith('/graphql')) return
      if (isServiceCall(req.headers[CALLER_HEADER])) return
      const byDomain = fetches.get(id) ?? new Map<Domain, number>()
      byDomain.set(domain, (byDomain.get(domain) ?? 0) + 1)
      fetches.set(id, byDomain)
    })
  }
  const dbs = Object.fromEntries(Object.entries(stack.subgraphs).map(([d, s]) => [d, s.database.db]))
  // 1,500 products: the largest suppliers then have well over 100 active products (a page of 100).
  await seedDemoData(dbs as Parameters<typeof seedDemoData>[0], { products: 1500 })

  // Q1: a supplier with at least 100 active products whose newest five already show every shape of the page.
  const candidates = await rows(
    'catalog',
    sql`SELECT supplier_id FROM products WHERE is_active = true AND supplier_id IS NOT NULL
        GROUP BY supplier_id HAVING count(*) >= 100 ORDER BY count(*) DESC`,
  )
  expect(candidates.length).toBeGreaterThan(0)
  for (const { supplier_id } of candidates) {
    supplierId = supplier_id
    const { edges } = (await expectedQ1(5)).products
    const nodes = edges.map((e) => e.node)
    if (
      nodes.some((n) => n.prices.length > 0) &&
      nodes.some((n) => n.stocks.length > 0) &&
      nodes.some((n) => n.brand) &&
      nodes.some((n) => n.category) &&
      nodes.some((n) => n.primaryImage?.thumbnail) &&
      nodes.some((n) => n.bestAsinMatch)
    ) {
      break
    }
    supplierId = ''
  }
  expect(
    supplierId,
    'no supplier whose first page shows prices, stocks, brand, category, image, ASIN',
  ).not.toBe('')

  const [last] = await rows('analytics', sql`SELECT max(date)::text AS to FROM product_metrics`)
  const to = last!.to as string
  range = { from: new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10), to }

  // Q2: an EAN of one product only, with every part of the detail page and the most stock movements.
  const withMedia = await rows(
    'media',
    sql`SELECT DISTINCT f.product_id FROM media_files f JOIN media_thumbnails t ON t.media_file_id = f.id
        WHERE f.product_id IS NOT NULL`,
  )
  const withAsin = await rows('code2asin', sql`SELECT DISTINCT product_id FROM code2asin_results`)
  const withMetrics = await rows(
    'analytics',
    sql`SELECT DISTINCT product_id FROM product_metrics WHERE date BETWEEN ${range.from}::date AND ${range.to}::date`,
  )
  const [media, asin, metrics] = [withMedia, withAsin, withMetrics].map(
    (list) => new Set(list.map((r) => r.product_id as string)),
  )
  const everywhere = [...media!].filter((id) => asin!.has(id) && metrics!.has(id))
  const details = await rows(
    'catalog',
    sql`SELECT p.ean, count(h.id) AS movements FROM products p
        JOIN stock_history h ON h.product_id = p.id
        WHERE p.id = ANY(${everywhere}::uuid[])
          AND p.ean IN (SELECT ean FROM products GROUP BY ean HAVING count(*) = 1)
          AND EXISTS (SELECT 1 FROM product_prices pp WHERE pp.product_id = p.id AND pp.is_active = true)
          AND EXISTS (SELECT 1 FROM product_stocks ps WHERE ps.product_id = p.id)
        GROUP BY p.ean ORDER BY count(h.id) DESC, p.ean LIMIT 1`,
  )
  expect(details.length).toBe(1)
  ean = details[0]!.ean
  // And one of a product without media or ASIN result and the fewest stock movements: empty lists.
  const [bare] = await rows(
    'catalog',
    sql`SELECT p.ean FROM products p WHERE p.ean IS NOT NULL
          AND NOT (p.id = ANY(${[...withMedia, ...withAsin].map((r) => r.product_id)}::uuid[]))
          AND p.ean IN (SELECT ean FROM products GROUP BY ean HAVING count(*) = 1)
        ORDER BY (SELECT count(*) FROM stock_history h WHERE h.product_id = p.id), p.ean LIMIT 1`,
  )
  expect(bare).toBeDefined()
  bareEan = bare!.ean

  statuses = (
    await rows('imports', sql`SELECT status FROM import_jobs GROUP BY status ORDER BY count(*) DESC, status`)
  ).map((r) => r.status as string)
  expect(statuses.length).toBeGreaterThan(0)

  // Plans and prepared state are built on first use: warm every operation once, unmeasured.
  await stack.request(Q1_PRODUCT_PAGE, { supplierId, first: 1 })
  await stack.request(Q2_PRODUCT_DETAIL, { ean, ...range })
  await stack.request(Q3_IMPORT_DASHBOARD, { status: statuses[0]!.toUpperCase(), first: 1 })
}, 300_000)

afterAll(async () => {
  if (counts.length) console.info(`SQL statements per operation:\n  ${counts.join('\n  ')}`)
  await stack?.stop()
})

describe('SQL statements per operation = subgraph fetches (bench/queries.ts)', () => {
  it.each([5, 50, 100])(
    'Q1 product page, first %i: 3 statements for 3 fetches, the answer the databases hold',
    async (first) => {
      const m = await measure(Q1_PRODUCT_PAGE, { supplierId, first })
      record(`Q1 first ${first}`, m)
      expect(m.data.products.edges).toHaveLength(first)
      expect(m.data).toEqual(await expectedQ1(first))
      expect(m.fetches).toBe(3)
      expect(m.statements).toBe(m.fetches)
      expect(m.bySubgraph).toEqual({
        catalog: { statements: 1, fetches: 1 },
        media: { statements: 1, fetches: 1 },
        code2asin: { statements: 1, fetches: 1 },
      })
    },
  )

  it('Q2 product detail: 4 statements for 4 fetches, the answer the databases hold', async () => {
    const m = await measure(Q2_PRODUCT_DETAIL, { ean, ...range })
    record('Q2', m)
    const expected = await expectedQ2(ean)
    // The comparison must have had something to compare in every database.
    const detail = expected.productByEan!
    expect(detail.prices.length * detail.stocks.length * detail.media.length).toBeGreaterThan(0)
    expect(
      detail.stockHistory.edges.length * detail.asinMatches.length * detail.metrics.length,
    ).toBeGreaterThan(0)
    expect(detail.media.some((f) => f.thumbnails.length > 0)).toBe(true)
    expect(m.data).toEqual(expected)
    expect(m.fetches).toBe(4)
    expect(m.statements).toBe(m.fetches)
    expect(m.bySubgraph).toEqual({
      catalog: { statements: 1, fetches: 1 },
      media: { statements: 1, fetches: 1 },
      code2asin: { statements: 1, fetches: 1 },
      analytics: { statements: 1, fetches: 1 },
    })
  })

  it('Q2 for a product with empty lists, and for an unknown EAN: still one statement per fetch', async () => {
    const bare = await measure(Q2_PRODUCT_DETAIL, { ean: bareEan, ...range })
    record('Q2 bare product', bare)
    const expected = await expectedQ2(bareEan)
    expect(expected.productByEan).toMatchObject({ media: [], asinMatches: [] })
    expect(bare.data).toEqual(expected)
    expect(bare).toMatchObject({ statements: 4, fetches: 4 })
    const missing = await measure(Q2_PRODUCT_DETAIL, { ean: '0000000000017', ...range })
    record('Q2 unknown EAN', missing)
    expect(missing.data).toEqual({ productByEan: null })
    expect(missing).toMatchObject({ statements: 1, fetches: 1 })
  })

  it.each([5, 50, 100])(
    'Q3 import dashboard, first %i: 3 statements for 3 fetches, the answer the databases hold',
    async (first) => {
      const status = statuses[0]!
      const m = await measure(Q3_IMPORT_DASHBOARD, { status: status.toUpperCase(), first })
      record(`Q3 first ${first}`, m)
      const expected = await expectedQ3(status, first)
      expect(expected.importJobs.edges.length).toBeGreaterThan(0)
      expect(m.data).toEqual(expected)
      expect(m.fetches).toBe(3)
      expect(m.statements).toBe(m.fetches)
    },
  )
})
