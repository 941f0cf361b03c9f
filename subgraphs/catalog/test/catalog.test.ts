import { randomUUID } from 'node:crypto'
import type { DB } from '@pm/db/types/catalog'
import { paginate } from '@pm/service-kit'
import { startTestSubgraph, type TestSubgraph } from '@pm/testing/subgraph'
import { type CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ProductFilter, productsQuery } from '../src/db/queries'
import { productOrder } from '../src/loaders'
import { subgraph } from '../src/module'
import { type ProductPrefetchPlan, prefetchColumns, withPrefetch } from '../src/prefetch'
import { firstPageStatement } from '../src/products-page'

let sg: TestSubgraph<'catalog'>

const id = () => randomUUID()
const supplier = { acme: id(), beta: id(), old: id(), ties: id() }
const brand = { bosch: id(), makita: id(), plain: id() }
const category = { tools: id(), drills: id(), garden: id() }
const p = Array.from({ length: 7 }, id)
const ties = Array.from({ length: 7 }, id)
const bulk = Array.from({ length: 16 }, id)
const variant = { red: id(), blue: id() }
const warehouse = { a: id(), b: id() }
const orphanCategory = id()
const userId = id()

async function seed() {
  const db = sg.database.db
  await db
    .insertInto('suppliers')
    .values([
      {
        id: supplier.acme,
        code: 'ACME',
        name: 'Acme Distribution',
        country: 'FR',
        created_at: '2026-01-04 00:00:00',
      },
      {
        id: supplier.beta,
        code: 'BETA',
        name: 'Beta Wholesale',
        country: 'DE',
        created_at: '2026-01-03 00:00:00',
      },
      {
        id: supplier.old,
        code: 'OLD',
        name: 'Old Supplier',
        is_active: false,
        country: 'FR',
        created_at: '2026-01-02 00:00:00',
      },
      { id: supplier.ties, code: 'TIES', name: 'Ties Ltd', country: 'FR', created_at: '2026-01-01 00:00:00' },
    ])
    .execute()
  await db
    .insertInto('supplier_details')
    .values({
      supplier_id: supplier.acme,
      legal_name: 'Acme Distribution SAS',
      vat_number: 'FR12345678901',
      minimum_order_amount: '250.00',
      lead_time_days: 3,
      extra: JSON.stringify({ portal: 'https://acme.example' }),
    })
    .execute()
  await db
    .insertInto('brands')
    .values([
      { id: brand.bosch, code: 'BOSCH', name: 'Bosch' },
      { id: brand.makita, code: 'MAKITA', name: 'Makita', is_active: false },
      { id: brand.plain, code: null, name: 'Anonymous' },
    ])
    .execute()
  await db
    .insertInto('categories')
    .values([
      { id: category.tools, name: 'Tools', slug: 'tools' },
      { id: category.garden, name: 'Garden', slug: 'garden' },
    ])
    .execute()
  await db
    .insertInto('categories')
    .values({ id: category.drills, name: 'Drills', slug: 'drills', parent_id: category.tools })
    .execute()
  await db
    .insertInto('products')
    .values([
      {
        id: p[0]!,
        title: 'Cordless Drill 18V',
        sku: 'DRL-1',
        ean: '3000000000017',
        supplier_id: supplier.acme,
        brand_id: brand.bosch,
        category_id: category.drills,
        weight: '1.250',
        width: '10.00',
        height: '0.10',
        technical_specs: JSON.stringify({ voltage: 18 }),
        created_at: '2026-02-01 00:00:00',
      },
      {
        id: p[1]!,
        title: 'Hammer Drill 100% steel',
        sku: 'DRL-2',
        supplier_id: supplier.acme,
        brand_id: brand.bosch,
        category_id: category.drills,
        created_at: '2026-02-02 00:00:00',
      },
      {
        id: p[2]!,
        title: 'Garden Hose 20m',
        sku: 'HOSE',
        supplier_id: supplier.beta,
        brand_id: brand.makita,
        category_id: category.garden,
        status: 'draft',
        created_at: '2026-02-03 00:00:00',
      },
      {
        id: p[3]!,
        title: 'Old Saw',
        sku: 'SAW-1',
        ean: '4000000000008',
        supplier_id: supplier.old,
        is_active: false,
        status: 'archived',
        created_at: '2026-02-04 00:00:00',
      },
      // Same SKU and EAN as the newer, inactive "Old Saw": the active one wins the natural-key lookups.
      {
        id: p[4]!,
        title: 'New Saw',
        sku: 'SAW-1',
        ean: '4000000000008',
        supplier_id: supplier.beta,
        created_at: '2026-01-15 00:00:00',
      },
      {
        id: p[5]!,
        title: 'Drill_bit set',
        sku: 'BIT',
        supplier_id: supplier.beta,
        category_id: orphanCategory,
        created_at: '2026-02-05 00:00:00',
      },
      { id: p[6]!, title: 'Screwdriver', created_at: '2026-02-06 00:00:00' },
      // Every product of TIES shares one created_at: pagination must still neither skip nor repeat.
      ...ties.map((tid, i) => ({
        id: tid,
        title: `Tie ${i}`,
        supplier_id: supplier.ties,
        created_at: '2026-03-01 00:00:00',
      })),
      ...bulk.map((bid, i) => ({
        id: bid,
        title: `Bulk ${String(i).padStart(2, '0')}`,
        supplier_id: supplier.beta,
        brand_id: brand.bosch,
        category_id: category.tools,
        created_at: `2025-12-${String(i + 1).padStart(2, '0')} 00:00:00`,
      })),
    ])
    .execute()
  await db
    .insertInto('product_prices')
    .values([
      { product_id: p[0]!, price_type: 'retail', price: '19.90', cost: '12.00', margin: '0.10' },
      { product_id: p[0]!, price_type: 'wholesale', price: '15.00', is_active: false },
      { product_id: p[1]!, price_type: 'retail', price: '0.10', supplier_id: supplier.acme },
      ...bulk.map((product_id) => ({ product_id, price: '5.00' })),
    ])
    .execute()
  await db
    .insertInto('product_stocks')
    .values([
      { product_id: p[0]!, warehouse_id: warehouse.a, quantity: 10, reserved_quantity: 3 },
      { product_id: p[0]!, warehouse_id: warehouse.b, quantity: 5, reserved_quantity: 0 },
      ...bulk.map((product_id) => ({ product_id, quantity: 1 })),
    ])
    .execute()
  await db
    .insertInto('product_variants')
    .values([
      {
        id: variant.red,
        product_id: p[0]!,
        sku: 'DRL-1-RED',
        position: 1,
        price: '21.50',
        attributes: '{"color":"red"}',
      },
      { id: variant.blue, product_id: p[0]!, sku: 'DRL-1-BLUE', position: 0, is_active: false },
      ...bulk.map((product_id, i) => ({ product_id, sku: `BULK-${i}-V` })),
    ])
    .execute()
  await db
    .insertInto('price_history')
    .values([
      { product_id: p[0]!, old_price: null, new_price: '17.00', changed_at: '2026-01-01 00:00:00' },
      { product_id: p[0]!, old_price: '17.00', new_price: '18.00', changed_at: '2026-01-02 00:00:00' },
      // Two changes at the same instant: the id breaks the tie.
      { product_id: p[0]!, old_price: '18.00', new_price: '18.50', changed_at: '2026-01-03 00:00:00' },
      {
        product_id: p[0]!,
        old_price: '18.50',
        new_price: '19.90',
        changed_at: '2026-01-03 00:00:00',
        changed_by: userId,
        source: 'api',
      },
      ...bulk.flatMap((product_id) =>
        Array.from({ length: 5 }, (_, n) => ({
          product_id,
          new_price: `5.0${n}`,
          changed_at: `2026-01-0${n + 1} 00:00:00`,
        })),
      ),
    ])
    .execute()
  await db
    .insertInto('stock_history')
    .values([
      {
        product_id: p[0]!,
        warehouse_id: warehouse.a,
        old_quantity: null,
        new_quantity: 4,
        changed_at: '2026-01-01 00:00:00',
      },
      {
        product_id: p[0]!,
        warehouse_id: warehouse.a,
        old_quantity: 4,
        new_quantity: 10,
        changed_at: '2026-01-02 00:00:00',
      },
    ])
    .execute()
  await db
    .insertInto('ean_resolutions')
    .values([
      { ean: '3000000000017', source: 'icecat', product_id: p[0]!, confidence: '80.50' },
      { ean: '3000000000017', source: 'catalog', product_id: p[0]!, confidence: '100.00' },
      { ean: '5000000000005', source: 'ean_lookup', product_id: null, confidence: null },
    ])
    .execute()
}

beforeAll(async () => {
  sg = await startTestSubgraph(subgraph)
  await seed()
})
afterAll(() => sg?.stop())

const ids = (connection: { edges: { node: { id: string } }[] }) => connection.edges.map((e) => e.node.id)

async function productIds(filter: Record<string, unknown>, orderBy?: Record<string, unknown>, first = 100) {
  const res = await sg.request(
    'query($f: ProductFilter, $o: ProductOrder, $n: Int) { products(filter: $f, orderBy: $o, first: $n) { totalCount edges { node { id } } } }',
    { f: filter, o: orderBy, n: first },
  )
  expect(res.errors).toBeUndefined()
  expect(res.data.products.totalCount).toBe(res.data.products.edges.length)
  return ids(res.data.products)
}

describe('catalog entities', () => {
  it('resolves Product, Supplier (by id and by code), Brand and Category, null for missing keys', async () => {
    const res = await sg.request(
      `query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Product { id title }
        ... on Supplier { id code name }
        ... on Brand { id name }
        ... on Category { id slug }
      } }`,
      {
        r: [
          { __typename: 'Product', id: p[0] },
          { __typename: 'Product', id: randomUUID() },
          { __typename: 'Supplier', id: supplier.acme },
          { __typename: 'Supplier', code: 'BETA' },
          { __typename: 'Supplier', code: 'NOPE' },
          { __typename: 'Supplier', id: randomUUID() },
          { __typename: 'Brand', id: brand.bosch },
          { __typename: 'Brand', id: randomUUID() },
          { __typename: 'Category', id: category.drills },
          { __typename: 'Category', id: 'not-a-uuid' },
        ],
      },
    )
    expect(res.errors).toBeUndefined()
    expect(res.data._entities).toEqual([
      { id: p[0], title: 'Cordless Drill 18V' },
      null,
      { id: supplier.acme, code: 'ACME', name: 'Acme Distribution' },
      { id: supplier.beta, code: 'BETA', name: 'Beta Wholesale' },
      null,
      null,
      { id: brand.bosch, name: 'Bosch' },
      null,
      { id: category.drills, slug: 'drills' },
      null,
    ])
  })

  it('batches the entities of one request: one statement per entity type and key', async () => {
    const before = sg.queryCount()
    const res = await sg.request(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id } } }',
      {
        r: p.map((pid) => ({ __typename: 'Product', id: pid })),
      },
    )
    expect(res.data._entities).toHaveLength(7)
    expect(sg.queryCount() - before).toBe(1)
  })
})

describe('catalog lookups', () => {
  it('finds products by id, EAN and SKU; the active product wins a shared SKU or EAN', async () => {
    const res = await sg.request(`{
      a: product(id: "${p[0]}") { title sku ean }
      b: productByEan(ean: "3000000000017") { id }
      c: productBySku(sku: "SAW-1") { id title isActive }
      d: productByEan(ean: "4000000000008") { id }
      e: product(id: "${randomUUID()}") { id }
      f: productBySku(sku: "missing") { id }
      g: productByEan(ean: "0000000000000") { id }
      h: product(id: "${p[0]!.toUpperCase()}") { id }
    }`)
    expect(res.errors).toBeUndefined()
    expect(res.data).toEqual({
      a: { title: 'Cordless Drill 18V', sku: 'DRL-1', ean: '3000000000017' },
      b: { id: p[0] },
      c: { id: p[4], title: 'New Saw', isActive: true },
      d: { id: p[4] },
      e: null,
      f: null,
      g: null,
      h: { id: p[0] },
    })
  })

  it('finds suppliers, brands, categories and variants by id and natural key, null when missing', async () => {
    const res = await sg.request(`{
      s1: supplier(id: "${supplier.beta}") { code country }
      s2: supplierByCode(code: "ACME") { id details { legalName vatNumber leadTimeDays minimumOrderAmount extra } }
      s3: supplierByCode(code: "nope") { id }
      b1: brand(id: "${brand.makita}") { code isActive }
      b2: brandByCode(code: "BOSCH") { id }
      b3: brandByCode(code: "nope") { id }
      c1: category(id: "${category.drills}") { name parent { slug } }
      c2: categoryBySlug(slug: "tools") { id parentId children { slug } }
      c3: categoryBySlug(slug: "nope") { id }
      v1: productVariant(id: "${variant.red}") { sku price attributes product { id } }
      v2: productVariantBySku(sku: "DRL-1-BLUE") { id isActive }
      v3: productVariantBySku(sku: "nope") { id }
      e1: eanResolutions(ean: "3000000000017") { source confidence product { id } }
      e2: eanResolutions(ean: "5000000000005") { source productId product { id } }
      e3: eanResolutions(ean: "12345678") { id }
    }`)
    expect(res.errors).toBeUndefined()
    expect(res.data).toEqual({
      s1: { code: 'BETA', country: 'DE' },
      s2: {
        id: supplier.acme,
        details: {
          legalName: 'Acme Distribution SAS',
          vatNumber: 'FR12345678901',
          leadTimeDays: 3,
          minimumOrderAmount: '250.00',
          extra: { portal: 'https://acme.example' },
        },
      },
      s3: null,
      b1: { code: 'MAKITA', isActive: false },
      b2: { id: brand.bosch },
      b3: null,
      c1: { name: 'Drills', parent: { slug: 'tools' } },
      c2: { id: category.tools, parentId: null, children: [{ slug: 'drills' }] },
      c3: null,
      v1: { sku: 'DRL-1-RED', price: '21.50', attributes: { color: 'red' }, product: { id: p[0] } },
      v2: { id: variant.blue, isActive: false },
      v3: null,
      e1: [
        { source: 'catalog', confidence: '100.00', product: { id: p[0] } },
        { source: 'icecat', confidence: '80.50', product: { id: p[0] } },
      ],
      e2: [{ source: 'ean_lookup', productId: null, product: null }],
      e3: [],
    })
    const bad = await sg.request('{ eanResolutions(ean: "12AB") { id } }')
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })
})

describe('catalog product fields', () => {
  it('returns Decimal values exactly as stored', async () => {
    const res = await sg.request(`{
      a: product(id: "${p[0]}") {
        weight width height depth
        prices { priceType price cost margin currency }
        allPrices: prices(activeOnly: false) { priceType price isActive }
      }
      b: product(id: "${p[1]}") { prices { price supplier { code } } }
    }`)
    expect(res.errors).toBeUndefined()
    expect(res.data.a).toEqual({
      weight: '1.250',
      width: '10.00',
      height: '0.10',
      depth: null,
      prices: [{ priceType: 'RETAIL', price: '19.90', cost: '12.00', margin: '0.10', currency: 'EUR' }],
      allPrices: [
        { priceType: 'RETAIL', price: '19.90', isActive: true },
        { priceType: 'WHOLESALE', price: '15.00', isActive: false },
      ],
    })
    expect(res.data.b.prices).toEqual([{ price: '0.10', supplier: { code: 'ACME' } }])
  })

  it('resolves stocks, variants, relations and an orphan category reference', async () => {
    const res = await sg.request(`{
      a: product(id: "${p[0]}") {
        stocks { warehouseId quantity reservedQuantity availableQuantity }
        totalAvailableQuantity
        variants { sku position }
        activeVariants: variants(activeOnly: true) { sku }
        brand { code } category { slug parent { slug } } supplier { code }
        technicalSpecs
        eanResolutions { source }
      }
      b: product(id: "${p[5]}") { categoryId category { id } totalAvailableQuantity stocks { id } }
      c: product(id: "${p[6]}") { supplier { id } brand { id } category { id } variants { id } }
    }`)
    expect(res.errors).toBeUndefined()
    const stocks = [...res.data.a.stocks].sort((x: any, y: any) => x.quantity - y.quantity)
    expect(stocks).toEqual([
      { warehouseId: warehouse.b, quantity: 5, reservedQuantity: 0, availableQuantity: 5 },
      { warehouseId: warehouse.a, quantity: 10, reservedQuantity: 3, availableQuantity: 7 },
    ])
    expect(res.data.a).toMatchObject({
      totalAvailableQuantity: 12,
      variants: [
        { sku: 'DRL-1-BLUE', position: 0 },
        { sku: 'DRL-1-RED', position: 1 },
      ],
      activeVariants: [{ sku: 'DRL-1-RED' }],
      brand: { code: 'BOSCH' },
      category: { slug: 'drills', parent: { slug: 'tools' } },
      supplier: { code: 'ACME' },
      technicalSpecs: { voltage: 18 },
      eanResolutions: [{ source: 'catalog' }, { source: 'icecat' }],
    })
    expect(res.data.b).toEqual({
      categoryId: orphanCategory,
      category: null,
      totalAvailableQuantity: 0,
      stocks: [],
    })
    expect(res.data.c).toEqual({ supplier: null, brand: null, category: null, variants: [] })
  })

  it('pages price history newest first across equal changed_at, and lists stock history', async () => {
    const seen: string[] = []
    let after: string | null = null
    for (let page = 0; page < 5; page++) {
      const res: any = await sg.request(
        `query($after: String) { product(id: "${p[0]}") { priceHistory(first: 1, after: $after) {
          totalCount edges { node { id oldPrice newPrice source changedBy { id } } } pageInfo { hasNextPage endCursor }
        } } }`,
        { after },
      )
      expect(res.errors).toBeUndefined()
      const history = res.data.product.priceHistory
      expect(history.totalCount).toBe(4)
      seen.push(...history.edges.map((e: any) => e.node.newPrice))
      if (page === 0) {
        expect(history.edges[0].node).toMatchObject({
          oldPrice: '18.50',
          source: 'API',
          changedBy: { id: userId },
        })
      }
      if (!history.pageInfo.hasNextPage) break
      after = history.pageInfo.endCursor
    }
    expect(seen).toEqual(['19.90', '18.50', '18.00', '17.00'])
    const stock = await sg.request(
      `{ product(id: "${p[0]}") { stockHistory { totalCount edges { node { oldQuantity newQuantity delta reason changedBy { id } } } } } }`,
    )
    expect(stock.data.product.stockHistory).toEqual({
      totalCount: 2,
      edges: [
        { node: { oldQuantity: 4, newQuantity: 10, delta: 6, reason: 'ADJUSTMENT', changedBy: null } },
        { node: { oldQuantity: null, newQuantity: 4, delta: 4, reason: 'ADJUSTMENT', changedBy: null } },
      ],
    })
  })
})

describe('catalog lists', () => {
  it('filters products by supplier, brand, category, activity, status and search', async () => {
    expect(await productIds({ supplierId: supplier.acme })).toEqual([p[1], p[0]])
    expect(await productIds({ brandId: brand.bosch, categoryId: category.drills })).toEqual([p[1], p[0]])
    expect(await productIds({ categoryId: category.garden })).toEqual([p[2]])
    expect(await productIds({ isActive: false })).toEqual([p[3]])
    expect(await productIds({ isActive: true, supplierId: supplier.beta, brandId: null })).toHaveLength(19)
    expect(await productIds({ status: 'DRAFT' })).toEqual([p[2]])
    expect(await productIds({ search: 'drill' })).toEqual([p[5], p[1], p[0]])
    // % and _ are matched literally, not as wildcards.
    expect(await productIds({ search: '100%' })).toEqual([p[1]])
    expect(await productIds({ search: '_' })).toEqual([p[5]])
    // Exact EAN or SKU, even when the title does not contain it.
    expect(await productIds({ search: '3000000000017' })).toEqual([p[0]])
    expect(await productIds({ search: ' DRL-2 ' })).toEqual([p[1]])
    expect(await productIds({ search: 'nothing like this' })).toEqual([])
  })

  it('orders products by created_at, title and updated_at in both directions', async () => {
    const beta = { supplierId: supplier.beta }
    const newest = await productIds(beta)
    expect(newest.slice(0, 3)).toEqual([p[5], p[2], p[4]])
    expect(await productIds(beta, { field: 'CREATED_AT', direction: 'ASC' })).toEqual([...newest].reverse())
    const res = await sg.request(
      `{ products(filter: { supplierId: "${supplier.beta}" }, orderBy: { field: TITLE, direction: ASC }, first: 3) { edges { node { title } } } }`,
    )
    expect(res.data.products.edges.map((e: any) => e.node.title)).toEqual(['Bulk 00', 'Bulk 01', 'Bulk 02'])
    await sg.database.db
      .updateTable('products')
      .set({ description: 'touched' })
      .where('id', '=', p[2]!)
      .execute()
    const updated = await productIds(beta, { field: 'UPDATED_AT', direction: 'DESC' })
    expect(updated[0]).toBe(p[2])
  })

  it('walks products two by two across equal created_at without skipping or repeating', async () => {
    for (const orderBy of [undefined, { field: 'CREATED_AT', direction: 'ASC' }]) {
      const seen: string[] = []
      let after: string | null = null
      for (let page = 0; page < 10; page++) {
        const res: any = await sg.request(
          `query($after: String, $o: ProductOrder) { products(filter: { supplierId: "${supplier.ties}" }, orderBy: $o, first: 2, after: $after) {
            totalCount edges { node { id } } pageInfo { hasNextPage hasPreviousPage endCursor }
          } }`,
          { after, o: orderBy },
        )
        expect(res.errors).toBeUndefined()
        expect(res.data.products.totalCount).toBe(7)
        expect(res.data.products.pageInfo.hasPreviousPage).toBe(after !== null)
        seen.push(...ids(res.data.products))
        if (!res.data.products.pageInfo.hasNextPage) break
        after = res.data.products.pageInfo.endCursor
      }
      expect(seen).toHaveLength(7)
      expect(new Set(seen)).toEqual(new Set(ties))
    }
  })

  it('lists suppliers, brands and categories with their filters', async () => {
    const res = await sg.request(`{
      all: suppliers { totalCount edges { node { code } } }
      active: suppliers(filter: { isActive: true, country: "fr" }) { edges { node { code } } }
      search: suppliers(filter: { search: "whole" }) { edges { node { code } } }
      byName: suppliers(orderBy: { field: NAME, direction: ASC }, first: 2) { edges { node { name } } }
      brands { edges { node { name } } }
      activeBrands: brands(filter: { isActive: true, search: "o" }) { edges { node { code name } } }
      roots: categories(filter: { rootsOnly: true }) { edges { node { slug } } }
      children: categories(filter: { parentId: "${category.tools}" }) { edges { node { slug } } }
    }`)
    expect(res.errors).toBeUndefined()
    const codes = (c: any) => c.edges.map((e: any) => e.node.code ?? e.node.name ?? e.node.slug)
    expect(res.data.all.totalCount).toBe(4)
    expect(codes(res.data.all)).toEqual(['ACME', 'BETA', 'OLD', 'TIES'])
    expect(codes(res.data.active)).toEqual(['ACME', 'TIES'])
    expect(codes(res.data.search)).toEqual(['BETA'])
    expect(codes(res.data.byName)).toEqual(['Acme Distribution', 'Beta Wholesale'])
    expect(codes(res.data.brands)).toEqual(['Anonymous', 'Bosch', 'Makita'])
    expect(codes(res.data.activeBrands)).toEqual(['Anonymous', 'BOSCH'])
    expect(codes(res.data.roots)).toEqual(['garden', 'tools'])
    expect(codes(res.data.children)).toEqual(['drills'])
    const bad = await sg.request(
      `{ categories(filter: { rootsOnly: true, parentId: "${category.tools}" }) { totalCount } }`,
    )
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    const badCountry = await sg.request('{ suppliers(filter: { country: "France" }) { totalCount } }')
    expect(badCountry.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('pages the products of suppliers, brands and categories', async () => {
    const res = await sg.request(`{
      supplier(id: "${supplier.acme}") { products(first: 1) { totalCount edges { node { id } } pageInfo { hasNextPage } } }
      brand(id: "${brand.bosch}") { products(first: 50) { totalCount } }
      category(id: "${category.drills}") { products(orderBy: { field: TITLE, direction: ASC }) { edges { node { title } } } }
      inactive: supplier(id: "${supplier.old}") { products(isActive: true) { totalCount } }
    }`)
    expect(res.errors).toBeUndefined()
    expect(res.data.supplier.products).toEqual({
      totalCount: 2,
      edges: [{ node: { id: p[1] } }],
      pageInfo: { hasNextPage: true },
    })
    expect(res.data.brand.products.totalCount).toBe(18)
    expect(res.data.category.products.edges.map((e: any) => e.node.title)).toEqual([
      'Cordless Drill 18V',
      'Hammer Drill 100% steel',
    ])
    expect(res.data.inactive.products.totalCount).toBe(0)
  })

  it('rejects bad cursors and page sizes with BAD_USER_INPUT', async () => {
    const forged = Buffer.from(JSON.stringify(['CREATED_AT:DESC', 'not-a-date', randomUUID()])).toString(
      'base64url',
    )
    const title = await sg.request(
      '{ products(orderBy: { field: TITLE, direction: ASC }, first: 1) { pageInfo { endCursor } } }',
    )
    const titleCursor = title.data.products.pageInfo.endCursor
    const cases = [
      `{ products(after: "${forged}") { totalCount } }`,
      '{ products(after: "garbage") { totalCount } }',
      `{ products(after: "${titleCursor}") { totalCount } }`,
      // The test calls as the signed service, whose pages go up to 1,000 (users': 100).
      '{ products(first: 1001) { totalCount } }',
      '{ products(first: -1) { totalCount } }',
      `{ products(filter: { search: "${'x'.repeat(201)}" }) { totalCount } }`,
      `{ product(id: "${p[0]}") { priceHistory(first: 1000) { totalCount } } }`,
      `{ product(id: "${p[0]}") { stockHistory(after: "garbage") { totalCount } } }`,
      `{ supplier(id: "${supplier.acme}") { products(first: 500) { totalCount } } }`,
      '{ suppliers(after: "garbage") { totalCount } }',
    ]
    for (const query of cases) {
      const res = await sg.request(query)
      expect(res.errors?.[0]?.extensions?.code, query).toBe('BAD_USER_INPUT')
    }
    const big = await sg.request('{ products(first: 1001) { totalCount } }')
    expect(big.errors?.[0]?.message).toBe('first must be between 0 and 1000')
  })
})

describe('first pages compiled once', () => {
  it('sends the statement paginate builds, text and parameters, for every filter shape and plan', async () => {
    const sent: CompiledQuery[] = []
    const capturing = new Kysely<DB>({
      dialect: new PostgresDialect({
        pool: { connect: () => sg.database.pool.connect(), end: async () => {} },
      }),
      log: (event) => {
        sent.push(event.query)
      },
    })
    const plans: (ProductPrefetchPlan | null)[] = [
      null,
      {
        supplier: true,
        brand: false,
        category: true,
        stocks: true,
        eanResolutions: false,
        prices: [{ activeOnly: true }, { activeOnly: false }],
        variants: [],
        priceHistory: [{ args: { first: 2 }, totalCount: true }],
        stockHistory: [],
      },
    ]
    const filters: ProductFilter[] = [
      {},
      { supplierId: supplier.acme },
      { supplierId: supplier.beta, isActive: true, search: null },
      { brandId: brand.bosch, categoryId: category.drills, status: 'ACTIVE', isActive: false },
      { status: 'DRAFT', categoryId: category.garden, supplierId: supplier.beta },
    ]
    for (const plan of plans) {
      for (const filter of filters) {
        for (const orderBy of [null, { field: 'TITLE', direction: 'ASC' as const }]) {
          const order = productOrder(orderBy)
          const compiled = firstPageStatement(filter, order, plan, null, capturing)!
          expect(compiled).not.toBeNull()
          const rows = await compiled.run(capturing, 4)
          const columns = prefetchColumns(capturing, plan)
          const page = await paginate(withPrefetch(productsQuery(capturing, filter), columns), order, {
            first: 3,
          })
          const [once, built] = sent.splice(0)
          expect(once!.sql).toBe(built!.sql)
          expect(once!.parameters).toEqual(built!.parameters)
          expect(rows.slice(0, 3).map((r) => r.id)).toEqual(page.edges.map((e) => e.node.id))
        }
      }
    }
    // Lists whose statement depends on more than the shape are built per request.
    const order = productOrder(null)
    expect(firstPageStatement({ search: 'drill' }, order, null, null, capturing)).toBeNull()
    expect(firstPageStatement({ ids: [p[0]!] }, order, null, null, capturing)).toBeNull()
    expect(firstPageStatement({ completenessBelow: 50 }, order, null, null, capturing)).toBeNull()
    expect(firstPageStatement({ updatedSince: '2026-01-01' }, order, null, null, capturing)).toBeNull()
    expect(firstPageStatement({}, order, null, 'a-cursor', capturing)).toBeNull()
  })
})

describe('catalog statement count', () => {
  async function statements(query: string, variables: Record<string, unknown>) {
    const before = sg.queryCount()
    const res = await sg.request(query, variables)
    expect(res.errors).toBeUndefined()
    return { used: sg.queryCount() - before, data: res.data }
  }

  it('runs as many statements for 50 products as for 5, nested lists included', async () => {
    // Bosch products all have a supplier, a brand and a category: every nested field loads for every N.
    const query = `query($n: Int) { products(first: $n, filter: { brandId: "${brand.bosch}" }) { edges { node {
      id
      prices { price }
      stocks { availableQuantity }
      totalAvailableQuantity
      variants { sku }
      brand { name }
      category { name }
      supplier { code }
      priceHistory(first: 3) { edges { node { newPrice } } }
    } } } }`
    const five = await statements(query, { n: 5 })
    const fifty = await statements(query, { n: 50 })
    expect(five.data.products.edges).toHaveLength(5)
    expect(fifty.data.products.edges).toHaveLength(18)
    const withHistory = fifty.data.products.edges.find((e: any) => e.node.id === bulk[0])
    expect(withHistory.node.priceHistory.edges).toHaveLength(3)
    // The page's statement fetches prices, stocks (totalAvailableQuantity derives from them), variants, brand,
    // category, supplier and the history page too.
    expect(five.used).toBe(1)
    expect(fifty.used).toBe(five.used)
  })

  it('pages nested supplier products in one statement whatever the page size', async () => {
    const query = `query($n: Int) { suppliers { edges { node { code products(first: $n) { totalCount edges { node { id brand { code } } } } } } } }`
    const five = await statements(query, { n: 5 })
    const fifty = await statements(query, { n: 50 })
    const beta = fifty.data.suppliers.edges.find((e: any) => e.node.code === 'BETA')
    expect(beta.node.products.edges).toHaveLength(19)
    // suppliers + nested products page + nested counts + brands.
    expect(five.used).toBe(4)
    expect(fifty.used).toBe(five.used)
  })
})

describe('children fetched in the products statement', () => {
  // Every child field of Product, under aliases and arguments, with pages and their totals.
  const ALL = /* GraphQL */ `
    fragment Price on ProductPrice {
      id productId supplierId priceType price cost margin currency minQuantity validFrom validUntil isActive createdAt
    }
    fragment All on Product {
      id title weight technicalSpecs createdAt
      supplier { id code name isActive contactEmail country createdAt updatedAt }
      brand { id code name logoUrl isActive }
      category { id name slug parentId isActive }
      prices { ...Price }
      allPrices: prices(activeOnly: false) { ...Price }
      stocks { id productId warehouseId quantity reservedQuantity availableQuantity minStock lastUpdate }
      totalAvailableQuantity
      variants { id sku ean title attributes price weight position isActive createdAt updatedAt }
      activeVariants: variants(activeOnly: true) { id }
      priceHistory(first: 2) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id productId supplierId priceType oldPrice newPrice currency source reason changedBy { id } changedAt } }
      }
      stockHistory { edges { cursor node { id warehouseId oldQuantity newQuantity delta reason note changedAt } } }
      eanResolutions { id ean productId source confidence resolvedData resolvedAt }
    }
  `
  async function statements(query: string, variables: Record<string, unknown> = {}) {
    const before = sg.queryCount()
    const res = await sg.request(query, variables)
    expect(res.errors).toBeUndefined()
    return { used: sg.queryCount() - before, data: res.data }
  }

  it('answers exactly what the loaders answer, in one statement', async () => {
    for (const sid of [supplier.acme, supplier.beta, supplier.ties]) {
      // Supplier.products is served by the nested-connection loader: its children come from the loaders.
      const viaLoaders = await statements(
        `query($s: UUID!) { supplier(id: $s) { products(first: 50) { edges { cursor node { ...All } } } } } ${ALL}`,
        { s: sid },
      )
      const prefetched = await statements(
        `query($s: UUID!) { products(first: 50, filter: { supplierId: $s }) { edges { cursor node { ...All } } } } ${ALL}`,
        { s: sid },
      )
      expect(prefetched.data.products.edges.length).toBeGreaterThan(0)
      expect(prefetched.data.products).toEqual(viaLoaders.data.supplier.products)
      // One statement, and the priceHistory totalCount counted in it.
      expect(prefetched.used).toBe(1)
      expect(viaLoaders.used).toBeGreaterThan(5)
    }
  })

  it('fetches the children of product, productByEan, productBySku and _entities in their own statement', async () => {
    const single = `query($id: UUID!, $ean: String!, $sku: String!) {
      a: product(id: $id) { ...All }
      b: productByEan(ean: $ean) { ...All }
      c: productBySku(sku: $sku) { ...All }
    } ${ALL}`
    const looked = await statements(single, { id: p[0], ean: '4000000000008', sku: 'DRL-2' })
    expect(looked.used).toBe(3)
    expect(looked.data.b.id).toBe(p[4])
    const entities = await statements(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { ...All } } } ${ALL}`,
      { r: [p[0], p[4], p[1], randomUUID()].map((id) => ({ __typename: 'Product', id })) },
    )
    expect(entities.used).toBe(1)
    expect(entities.data._entities).toEqual([looked.data.a, looked.data.b, looked.data.c, null])
    // The same answers as a product read with no child asked for, its children then asked one by one.
    const plain = await sg.request(`{ product(id: "${p[0]}") { id } }`)
    expect(plain.data.product.id).toBe(p[0])
    const viaLoaders = await sg.request(
      `query($s: UUID!) { supplier(id: $s) { products(first: 50) { edges { node { ...All } } } } } ${ALL}`,
      { s: supplier.acme },
    )
    const node = viaLoaders.data.supplier.products.edges.find((e: any) => e.node.id === p[0]).node
    expect(looked.data.a).toEqual(node)
  })

  it('pages history after a cursor in the same statement, the page the loader gives', async () => {
    const page = `query($id: UUID!, $after: String) { product(id: $id) {
      priceHistory(first: 2, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { newPrice } } }
    } }`
    const first = await statements(page, { id: p[0] })
    expect(first.used).toBe(1)
    expect(first.data.product.priceHistory.edges.map((e: any) => e.node.newPrice)).toEqual(['19.90', '18.50'])
    const second = await statements(page, {
      id: p[0],
      after: first.data.product.priceHistory.pageInfo.endCursor,
    })
    expect(second.used).toBe(1)
    expect(second.data.product.priceHistory).toEqual({
      totalCount: 4,
      pageInfo: { hasNextPage: false, hasPreviousPage: true, endCursor: expect.any(String) },
      edges: [{ node: { newPrice: '18.00' } }, { node: { newPrice: '17.00' } }],
    })
  })

  it('leaves bad page arguments to the loader, which reports them on their own field', async () => {
    const forged = Buffer.from(JSON.stringify(['CHANGED_AT:DESC', '2026-02-30 00:00:00', '1'])).toString(
      'base64url',
    )
    for (const after of ['garbage', forged]) {
      const res = await sg.request(
        'query($id: UUID!, $after: String) { product(id: $id) { title prices { price } stockHistory(after: $after) { totalCount } } }',
        { id: p[0], after },
      )
      expect(res.errors?.[0]).toMatchObject({
        path: ['product', 'stockHistory'],
        extensions: { code: 'BAD_USER_INPUT' },
      })
      expect(res.data?.product).toBeNull()
    }
    const big = await sg.request(
      `{ product(id: "${p[0]}") { title stockHistory(first: 500) { totalCount } } }`,
    )
    expect(big.errors?.[0]).toMatchObject({
      path: ['product', 'stockHistory'],
      message: 'first must be between 0 and 100',
    })
  })

  it('follows @skip/@include and named fragments when choosing what to fetch', async () => {
    const query = `query($withPrices: Boolean!, $s: UUID!) { products(first: 50, filter: { supplierId: $s }) { edges { node {
      id ...Rel prices @include(if: $withPrices) { price }
    } } } }
    fragment Rel on Product { brand { name } ... on Product { category @skip(if: $withPrices) { name } } }`
    const withPrices = await statements(query, { withPrices: true, s: supplier.acme })
    expect(withPrices.used).toBe(1)
    expect(withPrices.data.products.edges[0].node).not.toHaveProperty('category')
    const without = await statements(query, { withPrices: false, s: supplier.acme })
    expect(without.used).toBe(1)
    expect(without.data.products.edges.map((e: any) => e.node)).toEqual(
      withPrices.data.products.edges.map((e: any) => {
        const { prices: _prices, ...rest } = e.node
        return { ...rest, category: { name: 'Drills' } }
      }),
    )
  })
})

describe('catalog query plans', () => {
  // Runs last: it adds thousands of rows the other tests do not expect.
  it('serves the default product order from btree indexes, never a seq scan and a full sort', async () => {
    const db = sg.database.db
    // One big supplier (1,000 products) and forty small ones (100 each), each imported in its own time window,
    // ten products per minute (ties on created_at, as imports make them).
    const many = Array.from({ length: 41 }, id)
    await db
      .insertInto('suppliers')
      .values(many.map((sid, i) => ({ id: sid, code: `MANY-${i}`, name: `Many ${i}` })))
      .execute()
    const rows = Array.from({ length: 5000 }, (_, i) => {
      const k = i < 1000 ? 0 : 1 + Math.floor((i - 1000) / 100)
      const j = i < 1000 ? i : (i - 1000) % 100
      const at = new Date(Date.UTC(2024, 0, 1 + k) + Math.floor(j / 10) * 60_000)
      return {
        title: `Generated product ${k}-${j}`,
        supplier_id: many[k]!,
        sku: `GEN-${i}`,
        is_active: i % 5 !== 0,
        created_at: at.toISOString().replace('T', ' ').replace('Z', ''),
      }
    })
    for (let start = 0; start < rows.length; start += 1000) {
      await db
        .insertInto('products')
        .values(rows.slice(start, start + 1000))
        .execute()
    }
    await sql`ANALYZE products`.execute(db)

    let captured: CompiledQuery | undefined
    const capturing = new Kysely<DB>({
      dialect: new PostgresDialect({
        pool: { connect: () => sg.database.pool.connect(), end: async () => {} },
      }),
      log: (event) => {
        captured = event.query
      },
    })
    /** The page's real statement (run through paginate) and its plan; optionally without the time-only indexes. */
    async function plan(
      filter: ProductFilter,
      options: { after?: string; withoutTimeIndexes?: boolean } = {},
    ) {
      const page = await paginate(productsQuery(capturing, filter), productOrder(null), {
        first: 20,
        after: options.after,
      })
      const query = captured!
      const text = await db.connection().execute(async (conn) => {
        await sql`BEGIN`.execute(conn)
        try {
          if (options.withoutTimeIndexes)
            await sql`DROP INDEX idx_products_created_at, idx_products_created_id`.execute(conn)
          const explained = await conn.executeQuery<{ 'QUERY PLAN': string }>({
            ...query,
            sql: `EXPLAIN ${query.sql}`,
          })
          return explained.rows.map((r) => r['QUERY PLAN']).join('\n')
        } finally {
          await sql`ROLLBACK`.execute(conn)
        }
      })
      return { page, sql: query.sql, text }
    }

    // The statement's shape fits the composite index: with the time-only indexes out of the planner's way, it
    // reads idx_products_supplier_created_id in order (supplier and cursor row in the Index Cond), no sort.
    const first = await plan({ supplierId: many[0] }, { withoutTimeIndexes: true })
    expect(first.page.edges).toHaveLength(20)
    expect(first.text).toContain('Index Scan using idx_products_supplier_created_id')
    expect(first.text).not.toMatch(/Seq Scan|Sort/)
    const next = await plan(
      { supplierId: many[0] },
      { after: first.page.pageInfo.endCursor!, withoutTimeIndexes: true },
    )
    expect(next.text).toContain('Index Scan using idx_products_supplier_created_id')
    expect(next.text).toMatch(/Index Cond: \(\(supplier_id = .*ROW\(created_at, id\) < ROW/)
    expect(next.text).not.toMatch(/Seq Scan|Sort/)
    // With every index present the planner picks by cost (it may walk created_at and filter for a big supplier):
    // always an index, never a sequential scan.
    for (const supplierId of [many[0], many[20]]) {
      const asIs = await plan({ supplierId })
      expect(asIs.text).toMatch(/Index Scan|Bitmap Index Scan/)
      expect(asIs.text).not.toMatch(/Seq Scan/)
    }
    const unfiltered = await plan({})
    expect(unfiltered.text).toContain('Index Scan using idx_products_created_id')
    expect(unfiltered.text).not.toMatch(/Seq Scan|Sort/)
    // A literal, not a bind parameter, so the planner can match the partial index's WHERE is_active = true.
    const active = await plan({ isActive: true }, { withoutTimeIndexes: true })
    expect(active.sql).toContain('"products"."is_active" = true')
    expect(active.text).toContain('idx_products_active_created_desc')
    expect(active.text).not.toMatch(/Seq Scan/)
  })
})
