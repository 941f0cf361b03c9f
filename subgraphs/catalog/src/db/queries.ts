import type { DB } from '@pm/db/types/catalog'
import { badUserInput, uuidKeys } from '@pm/service-kit'
import { type Kysely, sql } from 'kysely'

export type CatalogDb = Kysely<DB>

/** `%term%` for ILIKE with the term's own %, _ and \ matched literally. */
export const containsPattern = (term: string) => `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

/** A boolean filter written as a literal, so the planner can match partial indexes (WHERE is_active = true). */
const isLiteral = (column: string, value: boolean) => sql<boolean>`${sql.ref(column)} = ${sql.lit(value)}`

export function productsByIds(db: CatalogDb, keys: readonly string[]) {
  const ids = uuidKeys(keys)
  if (ids.length === 0) return Promise.resolve([])
  return db
    .selectFrom('products')
    .selectAll('products')
    .where('products.id', '=', (eb) => eb.fn.any(eb.val(ids)))
    .execute()
}

/**
 * One product per SKU or EAN (neither is unique): active first, then the most recently created, then the
 * greatest id. DISTINCT ON keeps the first row of each key in that order.
 */
export function productsByNaturalKey(db: CatalogDb, column: 'sku' | 'ean', keys: readonly string[]) {
  return productsByNaturalKeyQuery(db, column, [...keys]).execute()
}

/** `keys` go to PostgreSQL as they are (one array parameter): the caller hands over its own copy. */
export function productsByNaturalKeyQuery(db: CatalogDb, column: 'sku' | 'ean', keys: string[]) {
  return db
    .selectFrom('products')
    .selectAll('products')
    .distinctOn(`products.${column}`)
    .where(`products.${column}`, '=', (eb) => eb.fn.any(eb.val(keys)))
    .orderBy(`products.${column}`)
    .orderBy(sql`products.is_active IS TRUE`, 'desc')
    .orderBy('products.created_at', (ob) => ob.desc().nullsLast())
    .orderBy('products.id', 'desc')
}

/**
 * Products by id, SKU or EAN as their loaders find them, as a query to add columns to. The natural-key
 * pick is a subquery named products, so added columns are computed for the rows DISTINCT ON keeps only.
 * `keys` go to PostgreSQL as they are: ids already filtered to UUIDs (uuidKeys), a copy of the batch's keys.
 */
export function productLookupQuery(db: CatalogDb, by: 'id' | 'sku' | 'ean', keys: string[]) {
  if (by === 'id') {
    return db
      .selectFrom('products')
      .selectAll('products')
      .where('products.id', '=', (eb) => eb.fn.any(eb.val(keys)))
  }
  return db.selectFrom(productsByNaturalKeyQuery(db, by, keys).as('products')).selectAll('products')
}

/** Rows of a history table per product, for the totalCount of pages fetched with their product. */
export async function historyCounts(
  db: CatalogDb,
  table: 'price_history' | 'stock_history',
  productIds: readonly string[],
) {
  const rows = await db
    .selectFrom(table)
    .select([sql<string>`product_id::text`.as('parent'), sql<string>`count(*)`.as('count')])
    .where('product_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(productIds))))
    .groupBy('product_id')
    .execute()
  const byParent = new Map(rows.map((r) => [r.parent, Number(r.count)]))
  return productIds.map((id) => byParent.get(id) ?? 0)
}

export interface ProductFilter {
  supplierId?: string | null
  brandId?: string | null
  categoryId?: string | null
  isActive?: boolean | null
  status?: string | null
  search?: string | null
  ids?: readonly string[] | null
  updatedSince?: Date | string | null
  /** Only products whose stored completeness score is under this (0 to 100). */
  completenessBelow?: number | null
  /** Only products whose stored completeness score is at least this (0 to 100). */
  completenessAtLeast?: number | null
}

/**
 * The filtered products, unordered (paginate adds ORDER BY col, id and the keyset predicate).
 * EXPLAIN, 5,000 products, default order CREATED_AT DESC, LIMIT 21, PG 15.20 and embedded 18 (same plans):
 * - no filter: Index Scan using idx_products_created_id, no Sort.
 * - supplierId (1% of rows, or any share once the time-only indexes are out of the way): Index Scan using
 *   idx_products_supplier_created_id, Index Cond supplier_id [AND ROW(created_at, id) < ROW(cursor)], no Sort.
 * - supplierId (2% to 40% of rows): Index Scan Backward using idx_products_created_at + Filter supplier_id +
 *   Incremental Sort (presorted created_at, sorts ties only): the planner's cost call at random_page_cost 4.
 * - brandId / categoryId: Index Scan using idx_products_{brand,category}_created_id (cursor in the Index Cond).
 * - isActive: true (a literal): the partial idx_products_active_created_desc is usable (+ Incremental Sort on ties);
 *   with a bind parameter a generic plan cannot use it (Seq Scan + Sort). Most rows active → idx_products_created_id.
 * - search (50,000 rows): BitmapOr of idx_products_title_trgm (ILIKE), idx_products_ean, idx_products_sku, top-N sort.
 * - TITLE / UPDATED_AT orders: Seq Scan + top-N Sort; migration 002 has no (title, id) or (updated_at, id) index.
 * - completenessBelow / completenessAtLeast: a semi-join on product_completeness, whose (score, product_id)
 *   index serves a selective range; a wide range walks idx_products_created_id probing the primary key.
 */
/** The most ids a product filter names. */
const MAX_FILTER_IDS = 10_000

export function productsQuery(db: CatalogDb, filter: ProductFilter) {
  let query = db.selectFrom('products').selectAll('products')
  if (filter.supplierId != null) query = query.where('products.supplier_id', '=', filter.supplierId)
  if (filter.brandId != null) query = query.where('products.brand_id', '=', filter.brandId)
  if (filter.categoryId != null) query = query.where('products.category_id', '=', filter.categoryId)
  if (filter.isActive != null) query = query.where(isLiteral('products.is_active', filter.isActive))
  if (filter.status != null) query = query.where('products.status', '=', filter.status)
  if (filter.ids != null) {
    if (filter.ids.length > MAX_FILTER_IDS) {
      throw badUserInput(`filter.ids names ${filter.ids.length} products; at most ${MAX_FILTER_IDS}`, {
        field: 'filter.ids',
      })
    }
    query = query.where('products.id', '=', sql<string>`ANY(${[...filter.ids]}::uuid[])`)
  }
  if (filter.updatedSince != null) {
    query = query.where('products.updated_at', '>=', new Date(filter.updatedSince as string))
  }
  const below = filter.completenessBelow
  const atLeast = filter.completenessAtLeast
  if (below != null || atLeast != null) {
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('product_completeness')
          .select(eb.lit(1).as('one'))
          .whereRef('product_completeness.product_id', '=', 'products.id')
          .$if(below != null, (q) => q.where('product_completeness.score', '<', below!))
          .$if(atLeast != null, (q) => q.where('product_completeness.score', '>=', atLeast!)),
      ),
    )
  }
  const term = filter.search?.trim()
  if (term) {
    // ILIKE '%term%' is served by the trigram GIN index; the exact EAN/SKU arms by their btree indexes.
    query = query.where((eb) =>
      eb.or([
        eb('products.title', 'ilike', containsPattern(term)),
        eb('products.ean', '=', term),
        eb('products.sku', '=', term),
      ]),
    )
  }
  return query
}

export type ProductParentColumn = 'supplier_id' | 'brand_id' | 'category_id'

/** The products of many suppliers, brands or categories, for one nested-connection batch. */
export function productsOfParents(
  db: CatalogDb,
  column: ProductParentColumn,
  parentIds: readonly string[],
  isActive: boolean | null,
) {
  let query = db
    .selectFrom('products')
    .selectAll('products')
    .where(`products.${column}`, '=', (eb) => eb.fn.any(eb.val(uuidKeys(parentIds))))
  if (isActive != null) query = query.where(isLiteral('products.is_active', isActive))
  return query
}

export function suppliersByIds(db: CatalogDb, keys: readonly string[]) {
  const ids = uuidKeys(keys)
  if (ids.length === 0) return Promise.resolve([])
  return db
    .selectFrom('suppliers')
    .selectAll('suppliers')
    .where('suppliers.id', '=', (eb) => eb.fn.any(eb.val(ids)))
    .execute()
}

export function suppliersByCodes(db: CatalogDb, codes: readonly string[]) {
  return db
    .selectFrom('suppliers')
    .selectAll('suppliers')
    .where('suppliers.code', '=', (eb) => eb.fn.any(eb.val([...codes])))
    .execute()
}

export interface SupplierFilter {
  isActive?: boolean | null
  country?: string | null
  search?: string | null
}

export function suppliersQuery(db: CatalogDb, filter: SupplierFilter) {
  let query = db.selectFrom('suppliers').selectAll('suppliers')
  if (filter.isActive != null) query = query.where(isLiteral('suppliers.is_active', filter.isActive))
  if (filter.country != null) query = query.where('suppliers.country', '=', filter.country)
  const term = filter.search?.trim()
  if (term) {
    const pattern = containsPattern(term)
    query = query.where((eb) =>
      eb.or([eb('suppliers.name', 'ilike', pattern), eb('suppliers.code', 'ilike', pattern)]),
    )
  }
  return query
}

export function supplierDetailsBySupplierIds(db: CatalogDb, supplierIds: readonly string[]) {
  return db
    .selectFrom('supplier_details')
    .selectAll('supplier_details')
    .where('supplier_details.supplier_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(supplierIds))))
    .execute()
}

export function brandsByIds(db: CatalogDb, keys: readonly string[]) {
  const ids = uuidKeys(keys)
  if (ids.length === 0) return Promise.resolve([])
  return db
    .selectFrom('brands')
    .selectAll('brands')
    .where('brands.id', '=', (eb) => eb.fn.any(eb.val(ids)))
    .execute()
}

export function brandsByCodes(db: CatalogDb, codes: readonly string[]) {
  return db
    .selectFrom('brands')
    .selectAll('brands')
    .where('brands.code', '=', (eb) => eb.fn.any(eb.val([...codes])))
    .execute()
}

export interface BrandFilter {
  isActive?: boolean | null
  search?: string | null
}

export function brandsQuery(db: CatalogDb, filter: BrandFilter) {
  let query = db.selectFrom('brands').selectAll('brands')
  if (filter.isActive != null) query = query.where(isLiteral('brands.is_active', filter.isActive))
  const term = filter.search?.trim()
  if (term) {
    const pattern = containsPattern(term)
    query = query.where((eb) =>
      eb.or([eb('brands.name', 'ilike', pattern), eb('brands.code', 'ilike', pattern)]),
    )
  }
  return query
}

export function categoriesByIds(db: CatalogDb, keys: readonly string[]) {
  const ids = uuidKeys(keys)
  if (ids.length === 0) return Promise.resolve([])
  return db
    .selectFrom('categories')
    .selectAll('categories')
    .where('categories.id', '=', (eb) => eb.fn.any(eb.val(ids)))
    .execute()
}

export function categoriesBySlugs(db: CatalogDb, slugs: readonly string[]) {
  return db
    .selectFrom('categories')
    .selectAll('categories')
    .where('categories.slug', '=', (eb) => eb.fn.any(eb.val([...slugs])))
    .execute()
}

/** Direct children of many categories (idx_categories_parent_id), by name. */
export function categoriesByParentIds(db: CatalogDb, parentIds: readonly string[]) {
  return db
    .selectFrom('categories')
    .selectAll('categories')
    .where('categories.parent_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(parentIds))))
    .orderBy('categories.name')
    .orderBy('categories.id')
    .execute()
}

export interface CategoryFilter {
  parentId?: string | null
  rootsOnly?: boolean | null
  isActive?: boolean | null
  search?: string | null
}

export function categoriesQuery(db: CatalogDb, filter: CategoryFilter) {
  let query = db.selectFrom('categories').selectAll('categories')
  if (filter.parentId != null) query = query.where('categories.parent_id', '=', filter.parentId)
  if (filter.rootsOnly) query = query.where('categories.parent_id', 'is', null)
  if (filter.isActive != null) query = query.where(isLiteral('categories.is_active', filter.isActive))
  const term = filter.search?.trim()
  if (term) {
    const pattern = containsPattern(term)
    query = query.where((eb) =>
      eb.or([eb('categories.name', 'ilike', pattern), eb('categories.slug', 'ilike', pattern)]),
    )
  }
  return query
}

/** Prices of many products, by price type, minimum quantity, newest validity first. */
export function pricesByProductIds(db: CatalogDb, productIds: readonly string[], activeOnly: boolean) {
  let query = db
    .selectFrom('product_prices')
    .selectAll('product_prices')
    .where('product_prices.product_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(productIds))))
  if (activeOnly) query = query.where(isLiteral('product_prices.is_active', true))
  return query
    .orderBy('product_prices.price_type')
    .orderBy('product_prices.min_quantity')
    .orderBy('product_prices.valid_from', (ob) => ob.desc().nullsLast())
    .orderBy('product_prices.id')
    .execute()
}

export function stocksByProductIds(db: CatalogDb, productIds: readonly string[]) {
  return db
    .selectFrom('product_stocks')
    .selectAll('product_stocks')
    .where('product_stocks.product_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(productIds))))
    .orderBy('product_stocks.warehouse_id', (ob) => ob.asc().nullsFirst())
    .orderBy('product_stocks.id')
    .execute()
}

export function variantsByProductIds(db: CatalogDb, productIds: readonly string[], activeOnly: boolean) {
  let query = db
    .selectFrom('product_variants')
    .selectAll('product_variants')
    .where('product_variants.product_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(productIds))))
  if (activeOnly) query = query.where('product_variants.is_active', '=', true)
  return query.orderBy('product_variants.position').orderBy('product_variants.id').execute()
}

export function variantsByIds(db: CatalogDb, keys: readonly string[]) {
  const ids = uuidKeys(keys)
  if (ids.length === 0) return Promise.resolve([])
  return db
    .selectFrom('product_variants')
    .selectAll('product_variants')
    .where('product_variants.id', '=', (eb) => eb.fn.any(eb.val(ids)))
    .execute()
}

export function variantsBySkus(db: CatalogDb, skus: readonly string[]) {
  return db
    .selectFrom('product_variants')
    .selectAll('product_variants')
    .where('product_variants.sku', '=', (eb) => eb.fn.any(eb.val([...skus])))
    .execute()
}

/** Price history of many products; paged per product on idx_price_history_product_changed. */
export function priceHistoryQuery(db: CatalogDb, productIds: readonly string[]) {
  return db
    .selectFrom('price_history')
    .selectAll('price_history')
    .where('price_history.product_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(productIds))))
}

/** Stock history of many products; paged per product on idx_stock_history_product_changed. */
export function stockHistoryQuery(db: CatalogDb, productIds: readonly string[]) {
  return db
    .selectFrom('stock_history')
    .selectAll('stock_history')
    .where('stock_history.product_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(productIds))))
}

/** Resolutions of many EANs (served by the unique (ean, source) index), most confident first. */
export function eanResolutionsByEans(db: CatalogDb, eans: readonly string[]) {
  return db
    .selectFrom('ean_resolutions')
    .selectAll('ean_resolutions')
    .where('ean_resolutions.ean', '=', (eb) => eb.fn.any(eb.val([...eans])))
    .orderBy('ean_resolutions.confidence', (ob) => ob.desc().nullsLast())
    .orderBy('ean_resolutions.resolved_at', 'desc')
    .orderBy('ean_resolutions.id')
    .execute()
}

export function eanResolutionsByProductIds(db: CatalogDb, productIds: readonly string[]) {
  return db
    .selectFrom('ean_resolutions')
    .selectAll('ean_resolutions')
    .where('ean_resolutions.product_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(productIds))))
    .orderBy('ean_resolutions.confidence', (ob) => ob.desc().nullsLast())
    .orderBy('ean_resolutions.resolved_at', 'desc')
    .orderBy('ean_resolutions.id')
    .execute()
}
