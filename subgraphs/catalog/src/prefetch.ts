import {
  type Connection,
  isTimestampText,
  type JsonPageOptions,
  type JsonRowCodec,
  jsonPage,
  type PageArgs,
  type SelectedField,
  type Selection,
} from '@pm/service-kit'
import type DataLoader from 'dataloader'
import { type RawBuilder, type SelectQueryBuilder, sql } from 'kysely'
import {
  brandCodec,
  categoryCodec,
  eanResolutionCodec,
  priceCodec,
  priceHistoryCodec,
  stockCodec,
  stockHistoryCodec,
  supplierCodec,
  variantCodec,
} from './db/codecs'
import {
  type ProductRow,
  toBrand,
  toCategory,
  toEanResolution,
  toProduct,
  toProductPrice,
  toProductStock,
  toProductVariant,
  toSupplier,
} from './db/mappers'
import type { CatalogDb } from './db/queries'
import { PRICE_HISTORY_ORDER, type PrefetchTargets, STOCK_HISTORY_ORDER } from './loaders'

/** A history page asked for: the loader family key its resolver uses, and whether totalCount is wanted. */
interface HistoryPage {
  args: PageArgs
  totalCount: boolean
}

/**
 * What a Product selection asks for that its statement can fetch too: plain data (a LoaderFamily key),
 * the argument values exactly as the child resolvers receive them.
 */
export interface ProductPrefetchPlan {
  supplier: boolean
  brand: boolean
  category: boolean
  stocks: boolean
  eanResolutions: boolean
  prices: { activeOnly: boolean }[]
  variants: { activeOnly: boolean }[]
  priceHistory: HistoryPage[]
  stockHistory: HistoryPage[]
}

/** Distinct argument sets, in first-seen order (two aliases with the same arguments share a loader). */
function distinctBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>()
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item)
  return [...seen.values()]
}

function historyPages(entries: SelectedField[]): HistoryPage[] {
  const pages = new Map<string, HistoryPage>()
  for (const entry of entries) {
    // As the resolver builds its family key: `{ first, after }` from its arguments.
    const { first, after } = entry.args as PageArgs
    const args: PageArgs = { first, after }
    const key = JSON.stringify(args)
    const totalCount = entry.selection().has('totalCount')
    const seen = pages.get(key)
    if (seen) seen.totalCount ||= totalCount
    else pages.set(key, { args, totalCount })
  }
  return [...pages.values()]
}

/** The plan for a Product selection, null when none of its fields is a child list or reference. */
export function productPrefetchPlan(selection: Selection): ProductPrefetchPlan | null {
  if (!selection.type) return null
  const activeOnly = (name: string) =>
    distinctBy(
      selection.field(name).map((f) => ({ activeOnly: f.args.activeOnly as boolean })),
      (a) => JSON.stringify(a),
    )
  const plan: ProductPrefetchPlan = {
    supplier: selection.has('supplier'),
    brand: selection.has('brand'),
    category: selection.has('category'),
    // totalAvailableQuantity is derived from the stocks batch.
    stocks: selection.has('stocks') || selection.has('totalAvailableQuantity'),
    eanResolutions: selection.has('eanResolutions'),
    prices: activeOnly('prices'),
    variants: activeOnly('variants'),
    priceHistory: historyPages(selection.field('priceHistory')),
    stockHistory: historyPages(selection.field('stockHistory')),
  }
  const any =
    plan.supplier ||
    plan.brand ||
    plan.category ||
    plan.stocks ||
    plan.eanResolutions ||
    plan.prices.length > 0 ||
    plan.variants.length > 0 ||
    plan.priceHistory.length > 0 ||
    plan.stockHistory.length > 0
  return any ? plan : null
}

/** One extra column of the products statement and how its value primes the request's loaders. */
export interface PrefetchColumn {
  alias: string
  sql: RawBuilder<unknown>
  prime(loaders: PrefetchTargets, product: ProductRow, value: unknown): void
}

/** A history cursor PostgreSQL accepts for (changed_at, id): else the loader takes the page and its error. */
const validHistoryCursor = (cursor: { value: string | null; id: string }) =>
  cursor.value !== null && isTimestampText(cursor.value) && /^[0-9]{1,18}$/.test(cursor.id)

const one = (table: string, alias: string, codec: { object(a: string): RawBuilder<unknown> }, on: string) =>
  sql`(SELECT ${codec.object(alias)} FROM ${sql.table(table)} AS ${sql.id(alias)} WHERE ${sql.ref(`${alias}.id`)} = ${sql.ref(`products.${on}`)})`

const many = (
  table: string,
  alias: string,
  codec: { agg(a: string, o?: RawBuilder<unknown>): RawBuilder<unknown> },
  orderBy: RawBuilder<unknown>,
  extra?: RawBuilder<unknown>,
) =>
  sql`(SELECT ${codec.agg(alias, orderBy)} FROM ${sql.table(table)} AS ${sql.id(alias)} WHERE ${sql.ref(`${alias}.product_id`)} = products.id${extra ? sql` AND ${extra}` : sql``})`

/**
 * The plan as scalar subqueries over the current `products` row, each on its table's product index:
 * single rows by primary key, lists as one json_agg in the loader's order, history pages as
 * ORDER BY … LIMIT first + 1 per product (idx_*_history_product_changed).
 */
export function prefetchColumns(db: CatalogDb, plan: ProductPrefetchPlan | null): PrefetchColumn[] {
  if (!plan) return []
  const columns: PrefetchColumn[] = []
  if (plan.supplier) {
    columns.push(
      reference(
        { alias: '__supplier', table: 'suppliers', as: 'pf_s', on: 'supplier_id' },
        supplierCodec,
        toSupplier,
        (l) => l.supplierById,
      ),
    )
  }
  if (plan.brand) {
    columns.push(
      reference(
        { alias: '__brand', table: 'brands', as: 'pf_b', on: 'brand_id' },
        brandCodec,
        toBrand,
        (l) => l.brandById,
      ),
    )
  }
  if (plan.category) {
    columns.push(
      reference(
        { alias: '__category', table: 'categories', as: 'pf_c', on: 'category_id' },
        categoryCodec,
        toCategory,
        (l) => l.categoryById,
      ),
    )
  }
  if (plan.stocks) {
    columns.push({
      alias: '__stocks',
      sql: many('product_stocks', 'pf_st', stockCodec, sql`pf_st.warehouse_id ASC NULLS FIRST, pf_st.id`),
      prime: (l, p, v) => l.stocksByProductId.prime(p.id, stockCodec.reviveAll(v).map(toProductStock)),
    })
  }
  if (plan.eanResolutions) {
    columns.push({
      alias: '__ean_resolutions',
      sql: many(
        'ean_resolutions',
        'pf_er',
        eanResolutionCodec,
        sql`pf_er.confidence DESC NULLS LAST, pf_er.resolved_at DESC, pf_er.id`,
      ),
      prime: (l, p, v) =>
        l.eanResolutionsByProductId.prime(p.id, eanResolutionCodec.reviveAll(v).map(toEanResolution)),
    })
  }
  plan.prices.forEach((args, i) => {
    columns.push({
      alias: `__prices_${i}`,
      sql: many(
        'product_prices',
        'pf_pr',
        priceCodec,
        sql`pf_pr.price_type, pf_pr.min_quantity, pf_pr.valid_from DESC NULLS LAST, pf_pr.id`,
        // A literal, as the loader writes it (the partial-index rule of the catalog queries).
        args.activeOnly ? sql`pf_pr.is_active = true` : undefined,
      ),
      prime: (l, p, v) =>
        l.pricesByProductId.for(args).prime(p.id, priceCodec.reviveAll(v).map(toProductPrice)),
    })
  })
  plan.variants.forEach((args, i) => {
    columns.push({
      alias: `__variants_${i}`,
      sql: many(
        'product_variants',
        'pf_v',
        variantCodec,
        sql`pf_v.position, pf_v.id`,
        args.activeOnly ? sql`pf_v.is_active = true` : undefined,
      ),
      prime: (l, p, v) =>
        l.variantsByProductId.for(args).prime(p.id, variantCodec.reviveAll(v).map(toProductVariant)),
    })
  })
  plan.priceHistory.forEach((wanted, i) => {
    const column = history(`__price_history_${i}`, wanted, {
      query: db
        .selectFrom('price_history')
        .selectAll('price_history')
        .where(sql<boolean>`price_history.product_id = products.id`),
      order: PRICE_HISTORY_ORDER,
      codec: priceHistoryCodec,
      prime: (l, p, read) =>
        l.priceHistoryByProductId.for(wanted.args).prime(
          p.id,
          read(() => l.priceHistoryCount.load(p.id)),
        ),
    })
    if (column) columns.push(column)
  })
  plan.stockHistory.forEach((wanted, i) => {
    const column = history(`__stock_history_${i}`, wanted, {
      query: db
        .selectFrom('stock_history')
        .selectAll('stock_history')
        .where(sql<boolean>`stock_history.product_id = products.id`),
      order: STOCK_HISTORY_ORDER,
      codec: stockHistoryCodec,
      prime: (l, p, read) =>
        l.stockHistoryByProductId.for(wanted.args).prime(
          p.id,
          read(() => l.stockHistoryCount.load(p.id)),
        ),
    })
    if (column) columns.push(column)
  })
  return columns
}

/** The row a products column points at (supplier_id, brand_id, category_id), primed into its by-id loader. */
function reference<R, M>(
  where: { alias: string; table: string; as: string; on: 'supplier_id' | 'brand_id' | 'category_id' },
  codec: JsonRowCodec<R>,
  toModel: (row: R) => M,
  loader: (loaders: PrefetchTargets) => DataLoader<string, M | null>,
): PrefetchColumn {
  const { alias, table, as, on } = where
  return {
    alias,
    sql: one(table, as, codec, on),
    prime: (l, p, v) => {
      const row = codec.revive(v)
      const id = p[on]
      if (id) loader(l).prime(id, row && toModel(row))
    },
  }
}

/** A history page asked for, as a column; null when its arguments are not valid (the loader reports them). */
function history<R>(
  alias: string,
  { args, totalCount }: HistoryPage,
  options: {
    query: JsonPageOptions<R>['query']
    order: JsonPageOptions<R>['order']
    codec: JsonRowCodec<R>
    prime: (
      loaders: PrefetchTargets,
      product: ProductRow,
      read: (fallbackCount: () => Promise<number>) => Connection<R>,
    ) => void
  },
): PrefetchColumn | null {
  const { query, order, codec, prime } = options
  const page = jsonPage<R>({ query, order, args, codec, totalCount, validCursor: validHistoryCursor })
  if (!page) return null
  return { alias, sql: page.sql, prime: (l, p, v) => prime(l, p, (fallback) => page.read(v, fallback)) }
}

// biome-ignore lint/suspicious/noExplicitAny: any products query (list, lookup, natural key)
type ProductsQuery = SelectQueryBuilder<any, 'products', any>

/** The products query with the plan's columns added to its select list. */
export function withPrefetch<Q extends ProductsQuery>(query: Q, columns: readonly PrefetchColumn[]): Q {
  if (columns.length === 0) return query
  return query.select(columns.map((c) => c.sql.as(c.alias))) as Q
}

/** Primes the request's loaders from one fetched row, then maps it like the plain path does. */
export function primeProduct(loaders: PrefetchTargets, row: ProductRow, columns: readonly PrefetchColumn[]) {
  const values = row as unknown as Record<string, unknown>
  for (const column of columns) column.prime(loaders, row, values[column.alias])
  const product = toProduct(row)
  if (columns.length > 0) loaders.productById.prime(product.id, product)
  return product
}
