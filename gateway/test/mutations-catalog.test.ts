import { randomUUID } from 'node:crypto'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UPSERT_CHUNK_ROWS, UPSERT_STATEMENTS_PER_CHUNK } from '../../subgraphs/catalog/src/mutations/upsert'

let stack: TestStack<'catalog' | 'analytics'>

const catalogDb = () => stack.subgraphs.catalog.database.db
const queries = () => stack.subgraphs.catalog.database.stats().queries

async function ok<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await stack.request(query, variables)
  expect(res.errors).toBeUndefined()
  return res.data as T
}

/** The first error of an operation expected to fail, with its code and field; nothing returned. */
async function fails(query: string, variables: Record<string, unknown>, code: string, field?: string) {
  const res = await stack.request(query, variables)
  expect(res.errors?.[0]?.extensions).toMatchObject({ code, ...(field ? { field } : {}) })
  expect(Object.values(res.data ?? {}).every((v) => v === null)).toBe(true)
  return res.errors![0]!
}

async function auditRows(entityId: string) {
  await stack.subgraphs.catalog.server.auditRelay.flush()
  return stack.subgraphs.analytics.database.db
    .selectFrom('audit_logs')
    .select(['action', 'entity_type', 'entity_id', 'changes'])
    .where('entity_id', '=', entityId)
    .execute()
}

/** An EAN-13 with its GS1 check digit, from a 12-digit body. */
function ean13(body: string) {
  let sum = 0
  for (let i = 0; i < 12; i++) sum += Number(body[i]) * (i % 2 === 0 ? 1 : 3)
  return `${body}${(10 - (sum % 10)) % 10}`
}

const CREATE_SUPPLIER = `mutation($input: CreateSupplierInput!) {
  createSupplier(input: $input) { id code name country contactEmail isActive details { leadTimeDays defaultCurrency minimumOrderAmount extra } }
}`
const UPDATE_SUPPLIER = `mutation($id: UUID!, $input: UpdateSupplierInput!) {
  updateSupplier(id: $id, input: $input) { id code name country contactEmail isActive details { leadTimeDays defaultCurrency legalName } }
}`
const CREATE_BRAND = `mutation($input: CreateBrandInput!) { createBrand(input: $input) { id code name logoUrl isActive } }`
const UPDATE_BRAND = `mutation($id: UUID!, $input: UpdateBrandInput!) { updateBrand(id: $id, input: $input) { id code name isActive } }`
const CREATE_CATEGORY = `mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id name slug parentId } }`
const UPDATE_CATEGORY = `mutation($id: UUID!, $input: UpdateCategoryInput!) { updateCategory(id: $id, input: $input) { id name slug parentId isActive } }`
const MOVE_CATEGORY = `mutation($id: UUID!, $parentId: UUID) { moveCategory(id: $id, parentId: $parentId) { id parentId parent { id } } }`
const PRODUCT_FIELDS = `id ean asin sku upc gtin title description status isActive weight width height depth technicalSpecs
  supplierId brandId categoryId supplier { code } brand { name } category { slug }`
const CREATE_PRODUCT = `mutation($input: CreateProductInput!) { createProduct(input: $input) { ${PRODUCT_FIELDS} } }`
const UPDATE_PRODUCT = `mutation($id: UUID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { ${PRODUCT_FIELDS} } }`
const SET_PRICE = `mutation($input: SetProductPriceInput!) {
  setProductPrice(input: $input) { id productId supplierId priceType price cost margin currency minQuantity validUntil isActive }
}`
const UPDATE_PRICE = `mutation($id: UUID!, $input: UpdateProductPriceInput!) {
  updateProductPrice(id: $id, input: $input) { id price cost margin currency isActive }
}`
const ADJUST = `mutation($input: AdjustStockInput!) { adjustStock(input: $input) { id quantity reservedQuantity availableQuantity warehouseId } }`
const SET_STOCK = `mutation($input: SetStockInput!) { setStock(input: $input) { id quantity reservedQuantity availableQuantity minStock } }`
const CREATE_VARIANT = `mutation($input: CreateProductVariantInput!) {
  createProductVariant(input: $input) { id productId sku ean title attributes price weight position isActive }
}`
const UPSERT = `mutation($rows: [ProductUpsertInput!]!, $source: PriceSource) {
  upsertProducts(rows: $rows, source: $source) {
    created updated unchanged failed
    results(status: FAILED) { index status productId error { code field message } }
  }
}`

let supplier: { id: string; code: string }
let brand: { id: string }
let category: { id: string }

beforeAll(async () => {
  stack = await startTestStack({ only: ['catalog', 'analytics'] })
  supplier = (await ok(CREATE_SUPPLIER, { input: { code: 'BULK', name: 'Bulk Supplier', country: 'fr' } }))
    .createSupplier
  brand = (await ok(CREATE_BRAND, { input: { code: 'BASE', name: 'Base Brand' } })).createBrand
  category = (await ok(CREATE_CATEGORY, { input: { name: 'Base' } })).createCategory
})
afterAll(() => stack?.stop())

describe('suppliers', () => {
  it('creates a supplier with details, validates it, and records the change in analytics', async () => {
    const { createSupplier: created } = await ok(CREATE_SUPPLIER, {
      input: {
        code: ' ACME_FR ',
        name: 'Acme France',
        country: 'de',
        contactEmail: 'orders@acme.example',
        details: {
          leadTimeDays: 3,
          defaultCurrency: 'eur',
          minimumOrderAmount: '250.5',
          extra: { incoterm: 'DAP' },
        },
      },
    })
    expect(created).toMatchObject({
      code: 'ACME_FR',
      country: 'DE',
      isActive: true,
      details: {
        leadTimeDays: 3,
        defaultCurrency: 'EUR',
        minimumOrderAmount: '250.50',
        extra: { incoterm: 'DAP' },
      },
    })
    const audit = await auditRows(created.id)
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ action: 'create', entity_type: 'supplier' })
    expect((audit[0]!.changes as any).after.code).toBe('ACME_FR')

    const conflict = await fails(
      CREATE_SUPPLIER,
      { input: { code: 'ACME_FR', name: 'Again' } },
      'CONFLICT',
      'input.code',
    )
    expect(conflict.message).toContain('ACME_FR')
    await fails(
      CREATE_SUPPLIER,
      { input: { code: 'X1', name: 'X', contactEmail: 'not-an-email' } },
      'BAD_USER_INPUT',
      'input.contactEmail',
    )
    await fails(
      CREATE_SUPPLIER,
      { input: { code: 'X1', name: 'X', country: 'XX' } },
      'BAD_USER_INPUT',
      'input.country',
    )
    await fails(CREATE_SUPPLIER, { input: { code: 'bad code!', name: 'X' } }, 'BAD_USER_INPUT', 'input.code')
    await fails(
      CREATE_SUPPLIER,
      { input: { code: 'X1', name: 'n'.repeat(256) } },
      'BAD_USER_INPUT',
      'input.name',
    )
    await fails(
      CREATE_SUPPLIER,
      { input: { code: 'X1', name: 'X', details: { defaultCurrency: 'EUX' } } },
      'BAD_USER_INPUT',
      'input.details.defaultCurrency',
    )
    expect(await catalogDb().selectFrom('suppliers').select('id').where('code', '=', 'X1').execute()).toEqual(
      [],
    )
  })

  it('updates partially, refuses a taken code, and deactivates', async () => {
    const { createSupplier: s } = await ok(CREATE_SUPPLIER, {
      input: { code: 'UPD', name: 'Before', contactEmail: 'a@b.example' },
    })
    const { updateSupplier: u } = await ok(UPDATE_SUPPLIER, {
      id: s.id,
      input: { name: 'After', contactEmail: null, details: { legalName: 'After SAS', leadTimeDays: 5 } },
    })
    expect(u).toMatchObject({
      code: 'UPD',
      name: 'After',
      contactEmail: null,
      details: { legalName: 'After SAS', leadTimeDays: 5, defaultCurrency: 'EUR' },
    })
    const again = (await ok(UPDATE_SUPPLIER, { id: s.id, input: { details: { leadTimeDays: 6 } } }))
      .updateSupplier
    expect(again.details).toMatchObject({ legalName: 'After SAS', leadTimeDays: 6 })
    await fails(UPDATE_SUPPLIER, { id: s.id, input: { code: 'ACME_FR' } }, 'CONFLICT', 'input.code')
    await fails(UPDATE_SUPPLIER, { id: s.id, input: {} }, 'BAD_USER_INPUT', 'input')
    await fails(UPDATE_SUPPLIER, { id: s.id, input: { name: null } }, 'BAD_USER_INPUT', 'input.name')
    await fails(UPDATE_SUPPLIER, { id: randomUUID(), input: { name: 'x' } }, 'NOT_FOUND', 'id')
    const deactivate = `mutation($id: UUID!) { deactivateSupplier(id: $id) { id isActive } }`
    expect((await ok(deactivate, { id: s.id })).deactivateSupplier).toEqual({ id: s.id, isActive: false })
    await fails(deactivate, { id: randomUUID() }, 'NOT_FOUND', 'id')
    const actions = (await auditRows(s.id)).map((r) => r.action).sort()
    expect(actions).toEqual(['create', 'deactivate', 'update', 'update'])
  })
})

describe('brands', () => {
  it('creates, refuses a duplicate code, updates', async () => {
    const { createBrand: b } = await ok(CREATE_BRAND, {
      input: { code: 'BOSCH', name: 'Bosch', logoUrl: 'https://cdn.example/bosch.svg' },
    })
    expect(b).toMatchObject({ code: 'BOSCH', name: 'Bosch', isActive: true })
    await fails(CREATE_BRAND, { input: { code: 'BOSCH', name: 'Other' } }, 'CONFLICT', 'input.code')
    await fails(
      CREATE_BRAND,
      { input: { name: 'Logo', logoUrl: 'ftp://x' } },
      'BAD_USER_INPUT',
      'input.logoUrl',
    )
    const { updateBrand: u } = await ok(UPDATE_BRAND, {
      id: b.id,
      input: { name: 'Bosch Professional', isActive: false },
    })
    expect(u).toEqual({ id: b.id, code: 'BOSCH', name: 'Bosch Professional', isActive: false })
    await fails(UPDATE_BRAND, { id: b.id, input: { code: 'BASE' } }, 'CONFLICT', 'input.code')
    await fails(UPDATE_BRAND, { id: randomUUID(), input: { name: 'x' } }, 'NOT_FOUND', 'id')
  })
})

describe('categories', () => {
  it('generates slugs under the parent, refuses taken slugs and unknown parents', async () => {
    const tools = (await ok(CREATE_CATEGORY, { input: { name: 'Outillage électrique' } })).createCategory
    expect(tools.slug).toBe('outillage-electrique')
    const drills = (await ok(CREATE_CATEGORY, { input: { name: 'Perceuses', parentId: tools.id } }))
      .createCategory
    expect(drills).toMatchObject({ slug: 'outillage-electrique--perceuses', parentId: tools.id })
    const twin = (await ok(CREATE_CATEGORY, { input: { name: 'Perceuses', parentId: tools.id } }))
      .createCategory
    expect(twin.slug).toBe('outillage-electrique--perceuses-2')
    await fails(
      CREATE_CATEGORY,
      { input: { name: 'X', slug: 'outillage-electrique' } },
      'CONFLICT',
      'input.slug',
    )
    await fails(CREATE_CATEGORY, { input: { name: 'X', slug: 'Not A Slug' } }, 'BAD_USER_INPUT', 'input.slug')
    await fails(
      CREATE_CATEGORY,
      { input: { name: 'X', parentId: randomUUID() } },
      'NOT_FOUND',
      'input.parentId',
    )
    const renamed = (
      await ok(UPDATE_CATEGORY, { id: twin.id, input: { name: 'Visseuses', slug: 'visseuses' } })
    ).updateCategory
    expect(renamed).toMatchObject({ name: 'Visseuses', slug: 'visseuses', parentId: tools.id })
  })

  it('moves a category and refuses to make it its own ancestor', async () => {
    const root = (await ok(CREATE_CATEGORY, { input: { name: 'Root' } })).createCategory
    const child = (await ok(CREATE_CATEGORY, { input: { name: 'Child', parentId: root.id } })).createCategory
    const grandchild = (await ok(CREATE_CATEGORY, { input: { name: 'Grandchild', parentId: child.id } }))
      .createCategory
    const other = (await ok(CREATE_CATEGORY, { input: { name: 'Other root' } })).createCategory

    const cycle = await fails(
      MOVE_CATEGORY,
      { id: root.id, parentId: grandchild.id },
      'BAD_USER_INPUT',
      'parentId',
    )
    expect(cycle.message).toContain('own ancestor')
    await fails(MOVE_CATEGORY, { id: root.id, parentId: root.id }, 'BAD_USER_INPUT', 'parentId')
    await fails(
      UPDATE_CATEGORY,
      { id: child.id, input: { parentId: grandchild.id } },
      'BAD_USER_INPUT',
      'input.parentId',
    )
    await fails(MOVE_CATEGORY, { id: root.id, parentId: randomUUID() }, 'NOT_FOUND', 'parentId')
    await fails(MOVE_CATEGORY, { id: randomUUID(), parentId: root.id }, 'NOT_FOUND', 'id')

    expect((await ok(MOVE_CATEGORY, { id: child.id, parentId: other.id })).moveCategory).toEqual({
      id: child.id,
      parentId: other.id,
      parent: { id: other.id },
    })
    // The old root may now go under the grandchild: it is no longer its ancestor.
    expect((await ok(MOVE_CATEGORY, { id: root.id, parentId: grandchild.id })).moveCategory.parentId).toBe(
      grandchild.id,
    )
    expect((await ok(MOVE_CATEGORY, { id: root.id, parentId: null })).moveCategory.parentId).toBeNull()
    expect((await auditRows(child.id)).map((r) => r.action).sort()).toEqual(['create', 'move'])
  })
})

describe('products', () => {
  it('creates a product with validated fields and references', async () => {
    const { createProduct: p } = await ok(CREATE_PRODUCT, {
      input: {
        title: '  Perceuse 18V ',
        ean: '400-6381 333931',
        asin: 'b08n5wrwnw',
        sku: 'PER-18',
        upc: '036000291452',
        gtin: '4006381333931',
        supplierId: supplier.id,
        brandId: brand.id,
        categoryId: category.id,
        status: 'DRAFT',
        weight: '1.25',
        width: '30',
        technicalSpecs: { voltage: 18 },
      },
    })
    expect(p).toMatchObject({
      title: 'Perceuse 18V',
      ean: '4006381333931',
      asin: 'B08N5WRWNW',
      upc: '036000291452',
      gtin: '04006381333931',
      status: 'DRAFT',
      isActive: false,
      weight: '1.250',
      width: '30.00',
      technicalSpecs: { voltage: 18 },
      supplier: { code: 'BULK' },
      brand: { name: 'Base Brand' },
      category: { slug: 'base' },
    })
    const audit = await auditRows(p.id)
    expect(audit).toMatchObject([{ action: 'create', entity_type: 'product' }])

    const base = { title: 'T', supplierId: supplier.id }
    await fails(CREATE_PRODUCT, { input: { ...base, sku: 'PER-18' } }, 'CONFLICT', 'input.sku')
    await fails(
      CREATE_PRODUCT,
      { input: { title: 'T', supplierId: randomUUID() } },
      'NOT_FOUND',
      'input.supplierId',
    )
    await fails(
      CREATE_PRODUCT,
      { input: { title: 'T', brandId: randomUUID() } },
      'NOT_FOUND',
      'input.brandId',
    )
    await fails(
      CREATE_PRODUCT,
      { input: { title: 'T', categoryId: randomUUID() } },
      'NOT_FOUND',
      'input.categoryId',
    )
    await fails(CREATE_PRODUCT, { input: { title: 't'.repeat(501) } }, 'BAD_USER_INPUT', 'input.title')
    await fails(CREATE_PRODUCT, { input: { title: ' ' } }, 'BAD_USER_INPUT', 'input.title')
    await fails(
      CREATE_PRODUCT,
      { input: { title: 'T', sku: 's'.repeat(101) } },
      'BAD_USER_INPUT',
      'input.sku',
    )
    const sold = await fails(CREATE_PRODUCT, { input: { title: 'T', status: 'sold' } }, 'BAD_USER_INPUT')
    expect(sold.message).toMatch(/"sold" does not exist in "ProductStatus" enum/)
    await fails(CREATE_PRODUCT, { input: { title: 'T', weight: '1.2345' } }, 'BAD_USER_INPUT', 'input.weight')
    await fails(CREATE_PRODUCT, { input: { title: 'T', width: '-1' } }, 'BAD_USER_INPUT', 'input.width')
    await fails(
      CREATE_PRODUCT,
      { input: { title: 'T', depth: '123456789.5' } },
      'BAD_USER_INPUT',
      'input.depth',
    )
    await fails(CREATE_PRODUCT, { input: { title: 'T', asin: 'short' } }, 'BAD_USER_INPUT', 'input.asin')
    await fails(
      CREATE_PRODUCT,
      { input: { title: 'T', upc: '4006381333931' } },
      'BAD_USER_INPUT',
      'input.upc',
    )
    await fails(CREATE_PRODUCT, { input: { title: 'T', weight: 1.5 } }, 'BAD_USER_INPUT')
  })

  it('normalises every EAN: valid, check digit, exponent form, UPC, letters', async () => {
    const ean = async (value: string) =>
      (await ok(CREATE_PRODUCT, { input: { title: `EAN ${value}`, ean: value } })).createProduct.ean
    expect(await ean('4006381333931')).toBe('4006381333931')
    expect(await ean('4.006381333931e12')).toBe('4006381333931')
    expect(await ean('036000291452')).toBe('0036000291452')
    expect(await ean('96385074')).toBe('96385074')
    const wrong = await fails(
      CREATE_PRODUCT,
      { input: { title: 'T', ean: '4006381333932' } },
      'BAD_USER_INPUT',
      'input.ean',
    )
    expect(wrong.message).toContain('check digit')
    const rounded = await fails(
      CREATE_PRODUCT,
      { input: { title: 'T', ean: '3.01234567890e12' } },
      'BAD_USER_INPUT',
      'input.ean',
    )
    expect(rounded.message).toContain('rounded')
    const letters = await fails(
      CREATE_PRODUCT,
      { input: { title: 'T', ean: '40063813339AB' } },
      'BAD_USER_INPUT',
      'input.ean',
    )
    expect(letters.message).toContain('digits')
    await fails(CREATE_PRODUCT, { input: { title: 'T', ean: '1234567' } }, 'BAD_USER_INPUT', 'input.ean')
  })

  it('updates partially, deactivates, deletes with what cascades', async () => {
    const { createProduct: p } = await ok(CREATE_PRODUCT, {
      input: { title: 'Scie', description: 'Une scie', sku: 'SCIE-1', supplierId: supplier.id, weight: '2' },
    })
    const { updateProduct: u } = await ok(UPDATE_PRODUCT, {
      id: p.id,
      input: { title: 'Scie circulaire', description: null },
    })
    expect(u).toMatchObject({
      title: 'Scie circulaire',
      description: null,
      sku: 'SCIE-1',
      weight: '2.000',
      status: 'ACTIVE',
    })
    // The same value again changes nothing and records nothing.
    await ok(UPDATE_PRODUCT, { id: p.id, input: { weight: '2.0' } })
    expect((await auditRows(p.id)).map((r) => r.action).sort()).toEqual(['create', 'update'])
    const discontinued = (await ok(UPDATE_PRODUCT, { id: p.id, input: { status: 'DISCONTINUED' } }))
      .updateProduct
    expect(discontinued).toMatchObject({ status: 'DISCONTINUED', isActive: false })
    await ok(UPDATE_PRODUCT, { id: p.id, input: { status: 'ACTIVE' } })

    await fails(UPDATE_PRODUCT, { id: p.id, input: {} }, 'BAD_USER_INPUT', 'input')
    await fails(UPDATE_PRODUCT, { id: p.id, input: { title: null } }, 'BAD_USER_INPUT', 'input.title')
    await fails(UPDATE_PRODUCT, { id: p.id, input: { sku: 'PER-18' } }, 'CONFLICT', 'input.sku')
    await fails(UPDATE_PRODUCT, { id: p.id, input: { brandId: randomUUID() } }, 'NOT_FOUND', 'input.brandId')
    await fails(UPDATE_PRODUCT, { id: randomUUID(), input: { title: 'x' } }, 'NOT_FOUND', 'id')

    const deactivate = `mutation($id: UUID!) { deactivateProduct(id: $id) { id status isActive } }`
    expect((await ok(deactivate, { id: p.id })).deactivateProduct).toEqual({
      id: p.id,
      status: 'INACTIVE',
      isActive: false,
    })
    await fails(deactivate, { id: randomUUID() }, 'NOT_FOUND', 'id')

    await ok(SET_PRICE, { input: { productId: p.id, price: '10.00' } })
    await ok(SET_STOCK, { input: { productId: p.id, quantity: 4 } })
    await ok(CREATE_VARIANT, { input: { productId: p.id, sku: 'SCIE-1-V' } })
    const del = `mutation($id: UUID!) { deleteProduct(id: $id) }`
    expect((await ok(del, { id: p.id })).deleteProduct).toBe(p.id)
    for (const table of [
      'product_prices',
      'product_stocks',
      'product_variants',
      'price_history',
      'stock_history',
    ] as const) {
      const left = await catalogDb()
        .selectFrom(table)
        .select('product_id')
        .where('product_id', '=', p.id)
        .execute()
      expect(left, table).toEqual([])
    }
    expect((await ok(`query($id: UUID!) { product(id: $id) { id } }`, { id: p.id })).product).toBeNull()
    await fails(del, { id: p.id }, 'NOT_FOUND', 'id')
    expect((await auditRows(p.id)).some((r) => r.action === 'delete')).toBe(true)
  })
})

describe('prices', () => {
  it('writes price_history on a change, derives the margin exactly, validates amounts', async () => {
    const { createProduct: p } = await ok(CREATE_PRODUCT, {
      input: { title: 'Priced', supplierId: supplier.id },
    })
    const first = (
      await ok(SET_PRICE, { input: { productId: p.id, price: '19.90', cost: '12', currency: 'eur' } })
    ).setProductPrice
    expect(first).toMatchObject({
      priceType: 'RETAIL',
      price: '19.90',
      cost: '12.00',
      margin: '39.70',
      currency: 'EUR',
      minQuantity: 1,
      supplierId: supplier.id,
    })
    const second = (
      await ok(SET_PRICE, { input: { productId: p.id, price: '21.50', reason: 'Alignement concurrence' } })
    ).setProductPrice
    expect(second).toMatchObject({ id: first.id, price: '21.50', cost: '12.00', margin: '44.19' })
    // The same amount again: no change, no history.
    await ok(SET_PRICE, { input: { productId: p.id, price: '21.5' } })

    const history = (
      await ok(
        `query($id: UUID!) { product(id: $id) { priceHistory { totalCount edges { node { oldPrice newPrice currency source reason changedBy { id } } } } } }`,
        { id: p.id },
      )
    ).product.priceHistory
    expect(history.totalCount).toBe(2)
    expect(history.edges.map((e: any) => e.node)).toEqual([
      {
        oldPrice: '19.90',
        newPrice: '21.50',
        currency: 'EUR',
        source: 'MANUAL',
        reason: 'Alignement concurrence',
        changedBy: { id: stack.superuserId },
      },
      {
        oldPrice: null,
        newPrice: '19.90',
        currency: 'EUR',
        source: 'MANUAL',
        reason: null,
        changedBy: { id: stack.superuserId },
      },
    ])

    const costOnly = (await ok(UPDATE_PRICE, { id: first.id, input: { cost: '3' } })).updateProductPrice
    expect(costOnly).toMatchObject({ price: '21.50', cost: '3.00', margin: '86.05' })
    const updated = (
      await ok(UPDATE_PRICE, { id: first.id, input: { price: '0.30', cost: '0.10', source: 'SYNC' } })
    ).updateProductPrice
    expect(updated).toMatchObject({ price: '0.30', margin: '66.67' })
    const rows = await catalogDb()
      .selectFrom('price_history')
      .selectAll()
      .where('product_id', '=', p.id)
      .execute()
    expect(rows).toHaveLength(3)
    expect(rows.find((r) => r.new_price === '0.30')).toMatchObject({
      old_price: '21.50',
      source: 'sync',
      changed_by: stack.superuserId,
    })

    const wholesale = (
      await ok(SET_PRICE, {
        input: {
          productId: p.id,
          price: '15',
          priceType: 'WHOLESALE',
          minQuantity: 10,
          validUntil: '2099-01-01T00:00:00Z',
        },
      })
    ).setProductPrice
    expect(wholesale).toMatchObject({ priceType: 'WHOLESALE', minQuantity: 10, margin: null })
    expect(wholesale.id).not.toBe(first.id)

    await fails(SET_PRICE, { input: { productId: p.id, price: '-1.00' } }, 'BAD_USER_INPUT', 'input.price')
    await fails(SET_PRICE, { input: { productId: p.id, price: '1.001' } }, 'BAD_USER_INPUT', 'input.price')
    await fails(
      SET_PRICE,
      { input: { productId: p.id, price: '1', currency: 'EUX' } },
      'BAD_USER_INPUT',
      'input.currency',
    )
    const secret = await fails(
      SET_PRICE,
      { input: { productId: p.id, price: '1', priceType: 'secret' } },
      'BAD_USER_INPUT',
    )
    expect(secret.message).toMatch(/"secret" does not exist in "PriceType" enum/)
    await fails(
      SET_PRICE,
      { input: { productId: p.id, price: '1.00', cost: '50' } },
      'BAD_USER_INPUT',
      'input.cost',
    )
    await fails(
      SET_PRICE,
      {
        input: {
          productId: p.id,
          price: '1',
          validFrom: '2026-02-01T00:00:00Z',
          validUntil: '2026-01-01T00:00:00Z',
        },
      },
      'BAD_USER_INPUT',
      'input.validUntil',
    )
    await fails(SET_PRICE, { input: { productId: randomUUID(), price: '1' } }, 'NOT_FOUND', 'input.productId')
    await fails(
      SET_PRICE,
      { input: { productId: p.id, price: '1', supplierId: randomUUID() } },
      'NOT_FOUND',
      'input.supplierId',
    )
    await fails(UPDATE_PRICE, { id: first.id, input: { reason: 'only a reason' } }, 'BAD_USER_INPUT', 'input')
    await fails(UPDATE_PRICE, { id: randomUUID(), input: { price: '1' } }, 'NOT_FOUND', 'id')

    const deactivate = `mutation($id: UUID!) { deactivateProductPrice(id: $id) { id isActive } }`
    expect((await ok(deactivate, { id: wholesale.id })).deactivateProductPrice.isActive).toBe(false)
    const prices = (
      await ok(
        `query($id: UUID!) { product(id: $id) { prices { id } all: prices(activeOnly: false) { id } } }`,
        { id: p.id },
      )
    ).product
    expect(prices.prices).toEqual([{ id: first.id }])
    expect(prices.all).toHaveLength(2)
    expect((await auditRows(first.id)).map((r) => r.action).sort()).toEqual([
      'create',
      'update',
      'update',
      'update',
    ])
  })
})

describe('stock', () => {
  it('sets and adjusts stock under its rules and writes stock_history', async () => {
    const { createProduct: p } = await ok(CREATE_PRODUCT, { input: { title: 'Stocked' } })
    const warehouseId = randomUUID()
    const set = (
      await ok(SET_STOCK, {
        input: { productId: p.id, warehouseId, quantity: 10, reservedQuantity: 2, minStock: 1 },
      })
    ).setStock
    expect(set).toMatchObject({ quantity: 10, reservedQuantity: 2, availableQuantity: 8, minStock: 1 })
    const adjusted = (
      await ok(ADJUST, {
        input: { productId: p.id, warehouseId, delta: -3, reason: 'SALE', note: 'order 42' },
      })
    ).adjustStock
    expect(adjusted).toMatchObject({ id: set.id, quantity: 7, availableQuantity: 5, warehouseId })

    const below = await fails(
      ADJUST,
      { input: { productId: p.id, warehouseId, delta: -8 } },
      'BAD_USER_INPUT',
      'input.delta',
    )
    expect(below.message).toContain('below zero')
    const underReserved = await fails(
      ADJUST,
      { input: { productId: p.id, warehouseId, delta: -6 } },
      'BAD_USER_INPUT',
      'input.delta',
    )
    expect(underReserved.message).toContain('reserved')
    await fails(
      SET_STOCK,
      { input: { productId: p.id, warehouseId, quantity: 5, reservedQuantity: 6 } },
      'BAD_USER_INPUT',
      'input.reservedQuantity',
    )
    await fails(
      SET_STOCK,
      { input: { productId: p.id, warehouseId, quantity: 1 } },
      'BAD_USER_INPUT',
      'input.quantity',
    )
    await fails(SET_STOCK, { input: { productId: p.id, quantity: -1 } }, 'BAD_USER_INPUT', 'input.quantity')
    await fails(ADJUST, { input: { productId: p.id, delta: 0 } }, 'BAD_USER_INPUT', 'input.delta')
    const theft = await fails(
      ADJUST,
      { input: { productId: p.id, delta: 1, reason: 'theft' } },
      'BAD_USER_INPUT',
    )
    expect(theft.message).toMatch(/"theft" does not exist in "StockReason" enum/)
    await fails(ADJUST, { input: { productId: randomUUID(), delta: 1 } }, 'NOT_FOUND', 'input.productId')
    // A missing row: a removal is refused, an addition creates it.
    await fails(ADJUST, { input: { productId: p.id, delta: -1 } }, 'BAD_USER_INPUT', 'input.delta')
    expect(
      (await ok(ADJUST, { input: { productId: p.id, delta: 4, reason: 'IMPORT' } })).adjustStock,
    ).toMatchObject({ quantity: 4, warehouseId: null })
    // Reserved only: no stock_history row (history follows the quantity).
    await ok(SET_STOCK, { input: { productId: p.id, warehouseId, quantity: 7, reservedQuantity: 7 } })

    const history = (
      await ok(
        `query($id: UUID!) { product(id: $id) { totalAvailableQuantity stockHistory { edges { node { warehouseId oldQuantity newQuantity delta reason note } } } } }`,
        { id: p.id },
      )
    ).product
    expect(history.totalAvailableQuantity).toBe(4)
    expect(history.stockHistory.edges.map((e: any) => e.node)).toEqual([
      { warehouseId: null, oldQuantity: null, newQuantity: 4, delta: 4, reason: 'IMPORT', note: null },
      { warehouseId, oldQuantity: 10, newQuantity: 7, delta: -3, reason: 'SALE', note: 'order 42' },
      { warehouseId, oldQuantity: null, newQuantity: 10, delta: 10, reason: 'ADJUSTMENT', note: null },
    ])
    expect((await auditRows(set.id)).map((r) => r.action).sort()).toEqual(['adjust', 'set', 'set'])
  })

  it('applies concurrent adjustments one after the other', async () => {
    const { createProduct: p } = await ok(CREATE_PRODUCT, { input: { title: 'Busy' } })
    await Promise.all(Array.from({ length: 10 }, () => ok(ADJUST, { input: { productId: p.id, delta: 3 } })))
    const rows = await catalogDb()
      .selectFrom('product_stocks')
      .select('quantity')
      .where('product_id', '=', p.id)
      .execute()
    expect(rows).toEqual([{ quantity: 30 }])
  })
})

describe('variants', () => {
  it('creates, updates and deletes variants with unique SKUs and normalised EANs', async () => {
    const { createProduct: p } = await ok(CREATE_PRODUCT, { input: { title: 'T-shirt' } })
    const red = (
      await ok(CREATE_VARIANT, {
        input: {
          productId: p.id,
          sku: 'TS-RED',
          ean: '4006381333931',
          attributes: { color: 'red' },
          price: '9.9',
        },
      })
    ).createProductVariant
    expect(red).toMatchObject({
      sku: 'TS-RED',
      ean: '4006381333931',
      attributes: { color: 'red' },
      price: '9.90',
      position: 0,
      isActive: true,
    })
    const blue = (
      await ok(CREATE_VARIANT, { input: { productId: p.id, sku: 'TS-BLUE', ean: '036000291452' } })
    ).createProductVariant
    expect(blue).toMatchObject({ ean: '0036000291452', position: 1 })
    await fails(CREATE_VARIANT, { input: { productId: p.id, sku: 'TS-RED' } }, 'CONFLICT', 'input.sku')
    await fails(
      CREATE_VARIANT,
      { input: { productId: p.id, sku: 'TS-X', ean: '4006381333932' } },
      'BAD_USER_INPUT',
      'input.ean',
    )
    await fails(
      CREATE_VARIANT,
      { input: { productId: p.id, sku: 'TS-X', price: '-2' } },
      'BAD_USER_INPUT',
      'input.price',
    )
    await fails(
      CREATE_VARIANT,
      { input: { productId: randomUUID(), sku: 'TS-X' } },
      'NOT_FOUND',
      'input.productId',
    )

    const update = `mutation($id: UUID!, $input: UpdateProductVariantInput!) { updateProductVariant(id: $id, input: $input) { id sku title price weight } }`
    expect(
      (await ok(update, { id: red.id, input: { title: 'Rouge', price: null, weight: '0.2' } }))
        .updateProductVariant,
    ).toEqual({
      id: red.id,
      sku: 'TS-RED',
      title: 'Rouge',
      price: null,
      weight: '0.200',
    })
    await fails(update, { id: red.id, input: { sku: 'TS-BLUE' } }, 'CONFLICT', 'input.sku')
    await fails(update, { id: red.id, input: { attributes: null } }, 'BAD_USER_INPUT', 'input.attributes')
    await fails(update, { id: randomUUID(), input: { title: 'x' } }, 'NOT_FOUND', 'id')

    const del = `mutation($id: UUID!) { deleteProductVariant(id: $id) }`
    expect((await ok(del, { id: blue.id })).deleteProductVariant).toBe(blue.id)
    await fails(del, { id: blue.id }, 'NOT_FOUND', 'id')
    const left = (await ok(`query($id: UUID!) { product(id: $id) { variants { sku } } }`, { id: p.id }))
      .product.variants
    expect(left).toEqual([{ sku: 'TS-RED' }])
  })
})

describe('upsertProducts', () => {
  const goodRow = (prefix: string, i: number) => ({
    supplierId: supplier.id,
    sku: `${prefix}-${i}`,
    ean: ean13(`${prefix === 'A' ? '21' : '22'}${String(i).padStart(10, '0')}`),
    title: `${prefix} product ${i}`,
    price: `${10 + (i % 90)}.90`,
  })

  /** The 50 bad rows of the 5,000-row call: index → the field its error names. */
  const BAD = new Map<number, string>()
  function bulkRows() {
    const unknownSupplier = randomUUID()
    const rows: Record<string, unknown>[] = []
    for (let i = 0; i < 5000; i++) {
      const row: Record<string, unknown> = goodRow('B', i)
      // Every 10th good row is keyed by EAN alone.
      if (i % 10 === 3) {
        delete row.supplierId
        delete row.sku
      }
      if (i % 100 === 37) {
        const kind = ((i - 37) / 100) % 5
        if (kind === 0)
          row.ean = `${(row.ean as string).slice(0, 12)}${(Number((row.ean as string)[12]) + 1) % 10}`
        if (kind === 1) row.title = 'x'.repeat(501)
        if (kind === 2) row.supplierId = unknownSupplier
        if (kind === 3) row.price = '-1.00'
        if (kind === 4) row.ean = '3.01234567890e12'
        BAD.set(i, `rows[${i}].${['ean', 'title', 'supplierId', 'price', 'ean'][kind]}`)
      }
      rows.push(row)
    }
    return rows
  }

  it('writes 4,950 of 5,000 rows, reports the 50 bad ones, is idempotent, and runs a bounded number of statements', async () => {
    const small = Array.from({ length: 1000 }, (_, i) => goodRow('A', i))
    let before = queries()
    const smallResult = (await ok(UPSERT, { rows: small })).upsertProducts
    const smallStatements = queries() - before
    expect(smallResult).toMatchObject({ created: 1000, updated: 0, unchanged: 0, failed: 0, results: [] })

    const rows = bulkRows()
    before = queries()
    const started = performance.now()
    const result = (await ok(UPSERT, { rows })).upsertProducts
    const elapsed = performance.now() - started
    const bulkStatements = queries() - before
    console.log(
      `upsertProducts: 5,000 rows (4,950 written) in ${elapsed.toFixed(0)} ms through the gateway, ${bulkStatements} SQL statements (1,000 rows: ${smallStatements})`,
    )

    expect(result).toMatchObject({ created: 4950, updated: 0, unchanged: 0, failed: 50 })
    expect(result.results).toHaveLength(50)
    for (const r of result.results) {
      expect(r.status).toBe('FAILED')
      expect(r.productId).toBeNull()
      expect(r.error.field, `row ${r.index}`).toBe(BAD.get(r.index))
      expect(r.error.code).toBe(r.error.field.endsWith('supplierId') ? 'NOT_FOUND' : 'BAD_USER_INPUT')
    }
    expect(new Set(result.results.map((r: any) => r.index))).toEqual(new Set(BAD.keys()))

    // Statements grow with the chunks only, never with the rows.
    const extraChunks = Math.ceil(4950 / UPSERT_CHUNK_ROWS) - Math.ceil(1000 / UPSERT_CHUNK_ROWS)
    expect(bulkStatements).toBeGreaterThanOrEqual(smallStatements)
    expect(bulkStatements - smallStatements).toBeLessThanOrEqual(extraChunks * UPSERT_STATEMENTS_PER_CHUNK)

    const count = async () =>
      Number(
        (
          await sql<{ n: string }>`SELECT count(*) AS n FROM products WHERE title LIKE 'B product %'`.execute(
            catalogDb(),
          )
        ).rows[0]!.n,
      )
    const historyCount = async () =>
      Number(
        (await sql<{ n: string }>`SELECT count(*) AS n FROM price_history`.execute(catalogDb())).rows[0]!.n,
      )
    expect(await count()).toBe(4950)
    const histories = await historyCount()
    const stored = await sql<{
      sku: string
      ean: string
      price: string
      source: string
      old_price: string | null
    }>`
      SELECT p.sku, p.ean, pp.price, ph.source, ph.old_price FROM products p
      JOIN product_prices pp ON pp.product_id = p.id JOIN price_history ph ON ph.product_id = p.id
      WHERE p.sku = 'B-0' OR p.ean = ${ean13('220000000003')}
      ORDER BY p.sku NULLS LAST
    `.execute(catalogDb())
    expect(stored.rows).toEqual([
      { sku: 'B-0', ean: ean13('220000000000'), price: '10.90', source: 'api', old_price: null },
      { sku: null, ean: ean13('220000000003'), price: '13.90', source: 'api', old_price: null },
    ])

    // The same call again: nothing new, every good row unchanged.
    before = queries()
    const again = (await ok(UPSERT, { rows })).upsertProducts
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 4950, failed: 50 })
    expect(queries() - before).toBeLessThanOrEqual(bulkStatements + 5 * UPSERT_STATEMENTS_PER_CHUNK)
    expect(await count()).toBe(4950)
    expect(await historyCount()).toBe(histories)

    // Ten rows with a new price and title: ten updates, ten history rows.
    const changed = rows.map((r, i) => (i < 10 ? { ...r, price: '99.99', title: `B product ${i} v2` } : r))
    const third = (await ok(UPSERT, { rows: changed, source: 'IMPORT' })).upsertProducts
    expect(third).toMatchObject({ created: 0, updated: 10, unchanged: 4940, failed: 50 })
    expect(await historyCount()).toBe(histories + 10)
    const history = await catalogDb()
      .selectFrom('price_history')
      .innerJoin('products', 'products.id', 'price_history.product_id')
      .select(['old_price', 'new_price', 'source'])
      .where('products.sku', '=', 'B-1')
      .orderBy('price_history.id')
      .execute()
    expect(history).toEqual([
      { old_price: null, new_price: '11.90', source: 'api' },
      { old_price: '11.90', new_price: '99.99', source: 'import' },
    ])

    // One audit entry per call, listing what it created.
    await stack.subgraphs.catalog.server.auditRelay.flush()
    const audits = await stack.subgraphs.analytics.database.db
      .selectFrom('audit_logs')
      .select(['changes'])
      .where('action', '=', 'upsert')
      .where('entity_type', '=', 'product')
      .execute()
    const created = audits.map((a) => (a.changes as any).created.length).sort((a, b) => a - b)
    expect(created).toEqual([0, 1000, 4950])
  })

  it('applies the last of duplicate keys, matches by EAN, and needs a key and a title', async () => {
    const sku = `DUP-${randomUUID().slice(0, 8)}`
    const eanKey = ean13('230000000001')
    const rows = [
      { supplierId: supplier.id, sku, title: 'first' },
      { supplierId: supplier.id, sku, title: 'second', price: '5.00', cost: '2.5' },
      { title: 'by ean', ean: eanKey },
      { title: 'no key' },
      { supplierId: supplier.id, sku: `${sku}-new` },
      { ean: eanKey, price: '3', currency: 'EUX' },
      { ean: eanKey, cost: '1' },
    ]
    const query = `mutation($rows: [ProductUpsertInput!]!) {
      upsertProducts(rows: $rows) { created updated failed results { index status productId product { title } error { code field message } } }
    }`
    const result = (await ok(query, { rows })).upsertProducts
    expect(result).toMatchObject({ created: 2, updated: 0, failed: 5 })
    const byIndex = result.results
    expect(byIndex[0]).toMatchObject({
      status: 'FAILED',
      error: { field: 'rows[0].sku', code: 'BAD_USER_INPUT' },
    })
    expect(byIndex[0].error.message).toContain('rows[1]')
    expect(byIndex[1]).toMatchObject({ status: 'CREATED', product: { title: 'second' } })
    expect(byIndex[2]).toMatchObject({ status: 'CREATED', product: { title: 'by ean' } })
    expect(byIndex[3].error).toMatchObject({ field: 'rows[3].ean' })
    expect(byIndex[4].error).toMatchObject({ field: 'rows[4].title', code: 'BAD_USER_INPUT' })
    expect(byIndex[5].error).toMatchObject({ field: 'rows[5].currency' })
    expect(byIndex[6].error).toMatchObject({ field: 'rows[6].price' })
    const price = await catalogDb()
      .selectFrom('product_prices')
      .select(['price', 'cost', 'margin', 'currency'])
      .where('product_id', '=', byIndex[1].productId)
      .execute()
    expect(price).toEqual([{ price: '5.00', cost: '2.50', margin: '50.00', currency: 'EUR' }])

    // The EAN as a partner's spreadsheet writes it finds the same product, and a null clears a field.
    const again = (
      await ok(query, {
        rows: [
          {
            ean: `${eanKey.slice(0, 1)} ${eanKey.slice(1, 7)}-${eanKey.slice(7)}`,
            description: null,
            status: 'DRAFT',
          },
        ],
      })
    ).upsertProducts
    expect(again.results[0]).toMatchObject({ status: 'UPDATED', productId: byIndex[2].productId })
    const exponent = (await ok(query, { rows: [{ ean: '4.006381333931e12', title: 'from a spreadsheet' }] }))
      .upsertProducts
    expect(exponent.results[0].status).not.toBe('FAILED')

    const tooMany = Array.from({ length: 5001 }, () => ({ ean: eanKey }))
    await fails(UPSERT, { rows: tooMany }, 'BAD_USER_INPUT', 'rows')
    expect((await ok(UPSERT, { rows: [] })).upsertProducts).toMatchObject({ created: 0, failed: 0 })
  })

  it('does not create duplicates when two calls upsert the same new keys at once', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({
      supplierId: supplier.id,
      sku: `RACE-${i}`,
      ean: ean13(`24${String(i).padStart(10, '0')}`),
      title: `Race ${i}`,
      price: '1.00',
    }))
    const [a, b] = await Promise.all([ok(UPSERT, { rows }), ok(UPSERT, { rows })])
    const created = [a.upsertProducts.created, b.upsertProducts.created].sort()
    expect(created).toEqual([0, 200])
    const n = await sql<{ n: string }>`SELECT count(*) AS n FROM products WHERE sku LIKE 'RACE-%'`.execute(
      catalogDb(),
    )
    expect(Number(n.rows[0]!.n)).toBe(200)
    const prices = await sql<{ n: string }>`
      SELECT count(*) AS n FROM product_prices pp JOIN products p ON p.id = pp.product_id WHERE p.sku LIKE 'RACE-%'
    `.execute(catalogDb())
    expect(Number(prices.rows[0]!.n)).toBe(200)

    // A call keyed by EAN and one keyed by SKU change the same products in opposite orders: both succeed.
    const byEan = rows.map((r) => ({ ean: r.ean, description: 'via ean' }))
    const bySku = rows
      .map((r) => ({ supplierId: r.supplierId, sku: r.sku, shortDescription: 'via sku' }))
      .reverse()
    const [e, k] = await Promise.all([ok(UPSERT, { rows: byEan }), ok(UPSERT, { rows: bySku })])
    expect([e.upsertProducts.updated, k.upsertProducts.updated]).toEqual([200, 200])
  })
})
