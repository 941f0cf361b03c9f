import type { DB } from '@pm/db/types/catalog'
import { type Kysely, sql, type Transaction } from 'kysely'

/** Write-side SQL: plain functions taking the mutation's transaction. */
export type CatalogTrx = Transaction<DB>

/**
 * Transaction-level advisory locks, taken in a fixed (sorted) order so two callers never deadlock on
 * them; released at commit or rollback. One statement whatever the number of keys. Shared: held beside other
 * shared holders, waiting only while a transaction holds the key exclusively.
 */
export async function lockKeys(trx: CatalogTrx, keys: readonly string[], o: { shared?: boolean } = {}) {
  if (keys.length === 0) return
  const lock = o.shared ? sql`pg_advisory_xact_lock_shared` : sql`pg_advisory_xact_lock`
  await sql`
    SELECT ${lock}(k)
    FROM (SELECT DISTINCT hashtextextended(key, 0) AS k FROM unnest(${[...new Set(keys)]}::text[]) AS key ORDER BY k) AS keys
  `.execute(trx)
}

const supplierSkuLock = (supplierId: string) => `catalog:products:supplier-sku:${supplierId}`
const PRODUCT_KEYS_LOCK = 'catalog:products:keys'
/** Beyond this many suppliers a call locks all product keys at once (advisory locks use shared memory). */
const MAX_SUPPLIER_LOCKS = 100

/**
 * Locks taken before any row lock by every writer of product keys (bulk upserts, createProduct, updateProduct
 * changing a supplier or SKU): a shared lock on all keys, then one lock per supplier, so writers of the same
 * supplier's (supplier, SKU) keys run one after the other and never create the same key twice. Exclusive on
 * all keys (no supplier locks) for a bulk call keyed by EAN, which may touch any supplier's products, or with
 * many suppliers. One order for everyone, so two calls never wait for each other in a cycle.
 */
export async function lockProductKeys(
  trx: CatalogTrx,
  supplierIds: readonly string[],
  options: { exclusive?: boolean } = {},
) {
  const exclusive = options.exclusive || new Set(supplierIds).size > MAX_SUPPLIER_LOCKS
  await (exclusive
    ? sql`SELECT pg_advisory_xact_lock(hashtextextended(${PRODUCT_KEYS_LOCK}, 0))`
    : sql`SELECT pg_advisory_xact_lock_shared(hashtextextended(${PRODUCT_KEYS_LOCK}, 0))`
  ).execute(trx)
  if (!exclusive) await lockKeys(trx, supplierIds.map(supplierSkuLock))
}

/** Category moves: two concurrent moves could otherwise build a cycle neither one sees. */
export const CATEGORY_TREE_LOCK = 'catalog:categories:tree'
export const stockLock = (productId: string, warehouseId: string | null) =>
  `catalog:stock:${productId}:${warehouseId ?? ''}`

export interface ReferenceIds {
  supplierIds: readonly string[]
  brandIds: readonly string[]
  categoryIds: readonly string[]
}

/** Which of these supplier, brand and category ids exist: one statement for all three tables. */
export async function existingReferences(trx: CatalogTrx, refs: ReferenceIds) {
  const found = { supplier: new Set<string>(), brand: new Set<string>(), category: new Set<string>() }
  if (refs.supplierIds.length + refs.brandIds.length + refs.categoryIds.length === 0) return found
  const { rows } = await sql<{ kind: keyof typeof found; id: string }>`
    SELECT 'supplier' AS kind, id FROM suppliers WHERE id = ANY(${[...refs.supplierIds]}::uuid[])
    UNION ALL SELECT 'brand', id FROM brands WHERE id = ANY(${[...refs.brandIds]}::uuid[])
    UNION ALL SELECT 'category', id FROM categories WHERE id = ANY(${[...refs.categoryIds]}::uuid[])
  `.execute(trx)
  for (const row of rows) found[row.kind].add(row.id)
  return found
}

/** Whether another product of this supplier already has this SKU. */
export async function productWithSupplierSku(
  trx: CatalogTrx,
  supplierId: string,
  sku: string,
  exceptId: string | null,
) {
  let query = trx
    .selectFrom('products')
    .select('id')
    .where('supplier_id', '=', supplierId)
    .where('sku', '=', sku)
  if (exceptId) query = query.where('id', '<>', exceptId)
  return query.limit(1).executeTakeFirst()
}

export interface SkuKey {
  i: number
  supplier_id: string
  sku: string
}
export interface EanKey {
  i: number
  ean: string
}

/**
 * Existing product of each bulk row, by (supplier_id, sku) or by EAN: the same rule as productBySku and
 * productByEan (active first, then newest, then greatest id). One statement for the whole call (one index
 * probe per key: about 0.1 s for 5,000 keys); rows whose key matches nothing are absent from the result.
 */
export async function resolveProductKeys(trx: Kysely<DB>, skuKeys: SkuKey[], eanKeys: EanKey[]) {
  const { rows } = await sql<{ i: number; id: string }>`
    SELECT k.i, m.id
    FROM jsonb_to_recordset(${JSON.stringify(skuKeys)}::jsonb) AS k(i int, supplier_id uuid, sku text)
    CROSS JOIN LATERAL (
      SELECT p.id FROM products p
      -- IS NOT DISTINCT FROM is not indexable, so each probe uses idx_products_sku: with '=' on a fresh table
      -- (no statistics) the planner picked the supplier's index and filtered all its products per key (50 s).
      WHERE p.sku = k.sku AND p.supplier_id IS NOT DISTINCT FROM k.supplier_id
      ORDER BY p.is_active IS TRUE DESC, p.created_at DESC NULLS LAST, p.id DESC
      LIMIT 1
    ) AS m
    UNION ALL
    SELECT k.i, m.id
    FROM jsonb_to_recordset(${JSON.stringify(eanKeys)}::jsonb) AS k(i int, ean text)
    CROSS JOIN LATERAL (
      SELECT p.id FROM products p
      WHERE p.ean = k.ean
      ORDER BY p.is_active IS TRUE DESC, p.created_at DESC NULLS LAST, p.id DESC
      LIMIT 1
    ) AS m
  `.execute(trx)
  return new Map(rows.map((r) => [r.i, r.id]))
}

/** The products columns a bulk row may set (ProductColumns' keys). */
export const PRODUCT_WRITE_COLUMNS = [
  'ean',
  'asin',
  'sku',
  'upc',
  'gtin',
  'manufacturer_reference',
  'external_id',
  'title',
  'description',
  'short_description',
  'supplier_id',
  'category_id',
  'brand_id',
  'status',
  'is_active',
  'weight',
  'width',
  'height',
  'depth',
  'technical_specs',
] as const

/** A bulk row as jsonb: the product id plus only the columns the row sets (technical_specs as an object). */
export type ProductDoc = { id: string } & Record<string, unknown>

/** One INSERT for many new products (ids chosen by the caller, so results map back to rows). */
export async function insertProducts(trx: CatalogTrx, docs: ProductDoc[]) {
  if (docs.length === 0) return
  const columns = sql.join(['id', ...PRODUCT_WRITE_COLUMNS].map((c) => sql.ref(c)))
  const values = sql.join(['id', ...PRODUCT_WRITE_COLUMNS].map((c) => sql.ref(`r.${c}`)))
  await sql`
    INSERT INTO products (${columns})
    SELECT ${values} FROM jsonb_populate_recordset(NULL::products, ${JSON.stringify(docs)}::jsonb) AS r
  `.execute(trx)
}

/**
 * One UPDATE for many existing products. Only the columns present in a row's document change (the others
 * keep the row's current value, read under the row lock, so a concurrent update of another column is not
 * lost); rows whose given values already match are left alone. Returns the ids actually changed.
 */
export async function updateProducts(trx: CatalogTrx, docs: ProductDoc[]) {
  if (docs.length === 0) return new Set<string>()
  const given = (c: string) => sql`s.doc ? ${sql.lit(c)}`
  const sets = sql.join(
    PRODUCT_WRITE_COLUMNS.map(
      (c) =>
        sql`${sql.ref(c)} = CASE WHEN ${given(c)} THEN ${sql.ref(`r.${c}`)} ELSE ${sql.ref(`p.${c}`)} END`,
    ),
  )
  const differs = sql.join(
    PRODUCT_WRITE_COLUMNS.map(
      (c) => sql`(${given(c)} AND ${sql.ref(`r.${c}`)} IS DISTINCT FROM ${sql.ref(`p.${c}`)})`,
    ),
    sql` OR `,
  )
  const { rows } = await sql<{ id: string }>`
    UPDATE products AS p SET ${sets}
    FROM jsonb_array_elements(${JSON.stringify(docs)}::jsonb) AS s(doc)
    CROSS JOIN LATERAL jsonb_populate_record(NULL::products, s.doc) AS r
    WHERE p.id = r.id AND (${differs})
    RETURNING p.id
  `.execute(trx)
  return new Set(rows.map((r) => r.id))
}

export interface CurrentRetailPrice {
  product_id: string
  price_id: string | null
  price: string | null
  cost: string | null
  currency: string | null
  last_price: string | null
}

/**
 * Completeness is kept by statement triggers (migrations/catalog/006, 007). A writer that changes products,
 * prices and stock of the same rows in several statements turns them off for its transaction and refreshes
 * the scores itself once (refreshCompleteness), instead of once per statement.
 */
export async function deferCompleteness(
  trx: CatalogTrx,
  deferred: boolean,
  o: { flushStats?: boolean } = {},
) {
  // flushStats: the table statistics of this transaction's writes are published at its commit rather than up
  // to a second later, so that analyzeGrownTables, asked right after, counts them.
  const flush = o.flushStats ? sql`, pg_stat_force_next_flush()` : sql``
  await sql`SELECT set_config('catalog.defer_completeness', ${deferred ? 'on' : 'off'}, true)${flush}`.execute(
    trx,
  )
}

/** The tables a bulk import grows; their statistics steer the plans of its per-chunk reads. */
const BULK_TABLES = [
  'products',
  'product_prices',
  'product_stocks',
  'price_history',
  'stock_history',
  'product_completeness',
]

/**
 * ANALYZEs those of the bulk tables that changed more since their last analysis than they held then (a
 * supplier's first import into a young catalogue): autovacuum gets there within a minute or so, but until
 * it does the planner sizes the tables from stale figures and picks sequential scans for the next chunks'
 * key lookups. Doubling thresholds keep it to a handful of ANALYZEs while a table grows from empty to
 * 100,000s of rows. Outside any transaction (a failure here is logged by the caller, never fatal).
 */
export async function analyzeGrownTables(db: Kysely<DB>) {
  const { rows } = await sql<{ relname: string }>`
    SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.schemaname = current_schema() AND s.relname = ANY(${BULK_TABLES}::text[])
      AND s.n_mod_since_analyze > GREATEST(1000, c.reltuples)
  `.execute(db)
  for (const { relname } of rows) await sql`ANALYZE ${sql.table(relname)}`.execute(db)
  return rows.map((r) => r.relname)
}

/** Recomputes the stored completeness of these products (one statement). */
export async function refreshCompleteness(trx: CatalogTrx, productIds: readonly string[]) {
  if (productIds.length === 0) return
  await sql`SELECT refresh_product_completeness(${[...productIds]}::uuid[])`.execute(trx)
}

/**
 * For each product: its current retail price for one unit (active, newest valid_from, then greatest id:
 * the rule setProductPrice uses) and the last price its history recorded. Locks the product rows, as
 * setProductPrice does, so the two never write a product's price at the same time.
 */
export async function currentRetailPrices(trx: CatalogTrx, productIds: readonly string[]) {
  if (productIds.length === 0) return new Map<string, CurrentRetailPrice>()
  const { rows } = await sql<CurrentRetailPrice>`
    SELECT p.id AS product_id, cur.id AS price_id, cur.price, cur.cost, cur.currency, last.new_price AS last_price
    FROM products p
    LEFT JOIN LATERAL (
      SELECT pp.id, pp.price, pp.cost, pp.currency FROM product_prices pp
      WHERE pp.product_id = p.id AND pp.price_type = 'retail' AND COALESCE(pp.min_quantity, 1) = 1
        AND pp.is_active IS TRUE
      ORDER BY pp.valid_from DESC NULLS LAST, pp.id DESC
      LIMIT 1
    ) AS cur ON true
    LEFT JOIN LATERAL (
      SELECT ph.new_price FROM price_history ph
      WHERE ph.product_id = p.id AND ph.price_type = 'retail'
      ORDER BY ph.changed_at DESC, ph.id DESC
      LIMIT 1
    ) AS last ON true
    WHERE p.id = ANY(${[...productIds]}::uuid[])
    FOR NO KEY UPDATE OF p
  `.execute(trx)
  return new Map(rows.map((r) => [r.product_id, r]))
}

export interface PriceUpdateDoc {
  id: string
  price: string
  cost: string | null
  margin: string | null
  currency: string
}

export async function updatePrices(trx: CatalogTrx, docs: PriceUpdateDoc[]) {
  if (docs.length === 0) return
  await sql`
    UPDATE product_prices AS pp
    SET price = r.price, cost = r.cost, margin = r.margin, currency = r.currency
    FROM jsonb_to_recordset(${JSON.stringify(docs)}::jsonb)
      AS r(id uuid, price numeric, cost numeric, margin numeric, currency text)
    WHERE pp.id = r.id
  `.execute(trx)
}

export interface PriceInsertDoc {
  product_id: string
  price: string
  cost: string | null
  margin: string | null
  currency: string
}

/** New one-unit retail prices; supplier_id is the product's. */
export async function insertRetailPrices(trx: CatalogTrx, docs: PriceInsertDoc[]) {
  if (docs.length === 0) return
  await sql`
    INSERT INTO product_prices (product_id, supplier_id, price_type, price, cost, margin, currency, min_quantity)
    SELECT r.product_id, p.supplier_id, 'retail', r.price, r.cost, r.margin, r.currency, 1
    FROM jsonb_to_recordset(${JSON.stringify(docs)}::jsonb)
      AS r(product_id uuid, price numeric, cost numeric, margin numeric, currency text)
    JOIN products p ON p.id = r.product_id
  `.execute(trx)
}

export interface PriceHistoryDoc {
  product_id: string
  old_price: string | null
  new_price: string
  currency: string
}

export async function insertRetailPriceHistory(
  trx: CatalogTrx,
  docs: PriceHistoryDoc[],
  source: string,
  changedBy: string | null,
) {
  if (docs.length === 0) return
  await sql`
    INSERT INTO price_history (product_id, supplier_id, price_type, old_price, new_price, currency, source, changed_by)
    SELECT r.product_id, p.supplier_id, 'retail', r.old_price, r.new_price, r.currency, ${source}, ${changedBy}::uuid
    FROM jsonb_to_recordset(${JSON.stringify(docs)}::jsonb)
      AS r(product_id uuid, old_price numeric, new_price numeric, currency text)
    JOIN products p ON p.id = r.product_id
  `.execute(trx)
}

/**
 * Row locks on existing products, in id order (two callers never wait for each other in a cycle): a bulk
 * write takes them before reading the stock it replaces, as setStock does before writing a stock row.
 */
export async function lockProducts(trx: CatalogTrx, productIds: readonly string[]) {
  if (productIds.length === 0) return
  await sql`
    SELECT id FROM products WHERE id = ANY(${[...productIds]}::uuid[]) ORDER BY id FOR NO KEY UPDATE
  `.execute(trx)
}

export interface StockKey {
  i: number
  product_id: string
  warehouse_id: string | null
}

/**
 * Each key's stock row: the product's oldest row for that warehouse (null warehouse included), the row
 * setStock writes. One statement; keys without a row are absent. The products must be locked already.
 */
export async function currentStockLevels(trx: CatalogTrx, keys: StockKey[]) {
  if (keys.length === 0) return new Map<number, { id: string; quantity: number; min_stock: number | null }>()
  const { rows } = await sql<{ i: number; id: string; quantity: number; min_stock: number | null }>`
    SELECT k.i, s.id, s.quantity, s.min_stock
    FROM jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) AS k(i int, product_id uuid, warehouse_id uuid)
    CROSS JOIN LATERAL (
      SELECT ps.id, ps.quantity, ps.min_stock FROM product_stocks ps
      WHERE ps.product_id = k.product_id AND ps.warehouse_id IS NOT DISTINCT FROM k.warehouse_id
      ORDER BY ps.id LIMIT 1
    ) AS s
  `.execute(trx)
  return new Map(rows.map((r) => [r.i, { id: r.id, quantity: r.quantity, min_stock: r.min_stock }]))
}

export interface StockUpdateDoc {
  id: string
  quantity: number
  /** null: the stock keeps its threshold. */
  min_stock: number | null
}

export async function updateStockLevels(trx: CatalogTrx, docs: StockUpdateDoc[]) {
  if (docs.length === 0) return
  await sql`
    UPDATE product_stocks AS ps
    SET quantity = r.quantity, min_stock = COALESCE(r.min_stock, ps.min_stock), last_update = now()
    FROM jsonb_to_recordset(${JSON.stringify(docs)}::jsonb) AS r(id uuid, quantity int, min_stock int)
    WHERE ps.id = r.id
  `.execute(trx)
}

export interface StockInsertDoc {
  product_id: string
  warehouse_id: string | null
  quantity: number
  /** null: the column's default (0). */
  min_stock: number | null
}

export async function insertStockLevels(trx: CatalogTrx, docs: StockInsertDoc[]) {
  if (docs.length === 0) return
  await sql`
    INSERT INTO product_stocks (product_id, warehouse_id, quantity, min_stock)
    SELECT r.product_id, r.warehouse_id, r.quantity, COALESCE(r.min_stock, 0)
    FROM jsonb_to_recordset(${JSON.stringify(docs)}::jsonb)
      AS r(product_id uuid, warehouse_id uuid, quantity int, min_stock int)
  `.execute(trx)
}

export interface StockHistoryDoc {
  product_id: string
  warehouse_id: string | null
  old_quantity: number | null
  new_quantity: number
}

/** stock_history rows as setStock writes them (delta is a generated column: never written). */
export async function insertStockHistory(
  trx: CatalogTrx,
  docs: StockHistoryDoc[],
  why: { reason: string; note: string | null; userId: string | null },
) {
  if (docs.length === 0) return
  await sql`
    INSERT INTO stock_history (product_id, warehouse_id, old_quantity, new_quantity, reason, note, changed_by)
    SELECT r.product_id, r.warehouse_id, r.old_quantity, r.new_quantity, ${why.reason}, ${why.note}, ${why.userId}::uuid
    FROM jsonb_to_recordset(${JSON.stringify(docs)}::jsonb)
      AS r(product_id uuid, warehouse_id uuid, old_quantity int, new_quantity int)
  `.execute(trx)
}

export interface BatchKey {
  job_id: string
  first_row: number
}

/** Receipts are kept this long: a job resumes within days or not at all. */
const RECEIPT_DAYS = 7

export async function batchReceipt(trx: CatalogTrx, key: BatchKey) {
  const row = await trx
    .selectFrom('import_batch_receipts')
    .select('result')
    .where('job_id', '=', key.job_id)
    .where('first_row', '=', key.first_row)
    .executeTakeFirst()
  return row?.result
}

/** Stores a committed batch's verdicts, and drops the receipts past their week (index on created_at). */
export async function saveBatchReceipt(trx: CatalogTrx, key: BatchKey, result: unknown) {
  await sql`
    WITH pruned AS (
      DELETE FROM import_batch_receipts WHERE created_at < now() - make_interval(days => ${RECEIPT_DAYS})
    )
    INSERT INTO import_batch_receipts (job_id, first_row, result)
    VALUES (${key.job_id}::uuid, ${key.first_row}, ${JSON.stringify(result)}::jsonb)
  `.execute(trx)
}

export interface NamedReference {
  kind: 'brand' | 'category'
  name: string
}

/**
 * Brands and categories by name (case-insensitive, trimmed by the caller), or by brand code / category slug:
 * an active one first, then a name match, then the smallest id. One statement for both tables.
 */
export async function referencesByName(trx: CatalogTrx, brands: string[], categories: string[]) {
  const found = { brand: new Map<string, string>(), category: new Map<string, string>() }
  if (brands.length + categories.length === 0) return found
  const { rows } = await sql<{ kind: 'brand' | 'category'; key: string; id: string }>`
    SELECT 'brand' AS kind, k.key, m.id
    FROM unnest(${brands}::text[]) AS k(key)
    CROSS JOIN LATERAL (
      SELECT b.id FROM brands b
      WHERE lower(b.name) = lower(k.key) OR lower(b.code) = lower(k.key)
      ORDER BY b.is_active IS TRUE DESC, lower(b.name) = lower(k.key) DESC, b.id
      LIMIT 1
    ) AS m
    UNION ALL
    SELECT 'category', k.key, m.id
    FROM unnest(${categories}::text[]) AS k(key)
    CROSS JOIN LATERAL (
      SELECT c.id FROM categories c
      WHERE lower(c.name) = lower(k.key) OR c.slug = lower(k.key)
      ORDER BY c.is_active IS TRUE DESC, lower(c.name) = lower(k.key) DESC, c.id
      LIMIT 1
    ) AS m
  `.execute(trx)
  for (const row of rows) found[row.kind].set(row.key.toLowerCase(), row.id)
  return found
}

/** New brands (name only, active); returns name (lower case) → id. One statement. */
export async function insertBrandsByName(trx: CatalogTrx, names: string[]) {
  if (names.length === 0) return new Map<string, string>()
  const { rows } = await sql<{ id: string; name: string }>`
    INSERT INTO brands (name) SELECT n FROM unnest(${names}::text[]) AS n RETURNING id, name
  `.execute(trx)
  return new Map(rows.map((r) => [r.name.toLowerCase(), r.id]))
}

/** Slugs already taken among each base and its `base-N` forms: one statement for all the bases. */
export async function takenSlugsOf(trx: CatalogTrx, bases: string[]) {
  if (bases.length === 0) return new Set<string>()
  const { rows } = await sql<{ slug: string }>`
    SELECT slug FROM categories
    WHERE slug = ANY(${bases}::text[]) OR slug LIKE ANY(SELECT b || '-%' FROM unnest(${bases}::text[]) AS b)
  `.execute(trx)
  return new Set(rows.map((r) => r.slug))
}

/** New top-level categories (active); returns name (lower case) → id. One statement. */
export async function insertCategoriesByName(trx: CatalogTrx, docs: { name: string; slug: string }[]) {
  if (docs.length === 0) return new Map<string, string>()
  const { rows } = await sql<{ id: string; name: string }>`
    INSERT INTO categories (name, slug)
    SELECT r.name, r.slug FROM jsonb_to_recordset(${JSON.stringify(docs)}::jsonb) AS r(name text, slug text)
    RETURNING id, name
  `.execute(trx)
  return new Map(rows.map((r) => [r.name.toLowerCase(), r.id]))
}

/**
 * Whether `parentId` exists and whether `id` is among its ancestors (itself included): moving `id` under
 * it would then close a cycle. UNION (not UNION ALL) ends the walk even on a tree already broken.
 */
export async function parentCheck(trx: CatalogTrx, id: string | null, parentId: string) {
  const { rows } = await sql<{ found: boolean; cycle: boolean }>`
    WITH RECURSIVE ancestors(id, parent_id) AS (
      SELECT c.id, c.parent_id FROM categories c WHERE c.id = ${parentId}::uuid
      UNION
      SELECT c.id, c.parent_id FROM categories c JOIN ancestors a ON c.id = a.parent_id
    )
    SELECT EXISTS (SELECT 1 FROM ancestors) AS found,
           EXISTS (SELECT 1 FROM ancestors WHERE id = ${id}::uuid) AS cycle
  `.execute(trx)
  return rows[0]!
}

/** Slugs already taken among `base` and `base-N`. */
export async function takenSlugs(trx: CatalogTrx, base: string) {
  const rows = await trx
    .selectFrom('categories')
    .select('slug')
    .where((eb) => eb.or([eb('slug', '=', base), eb('slug', 'like', `${base}-%`)]))
    .execute()
  return new Set(rows.map((r) => r.slug))
}
