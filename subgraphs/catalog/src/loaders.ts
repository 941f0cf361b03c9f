import { fixedStatement } from '@pm/db'
import {
  groupedConnectionLoader,
  groupedLoader,
  LoaderFamily,
  type Order,
  orderFrom,
  type PageArgs,
  uniqueLoader,
  uuidKeys,
} from '@pm/service-kit'
import DataLoader from 'dataloader'
import { completenessByProductIds } from './completeness'
import type { PriceHistoryRow, Product, ProductRow, StockHistoryRow } from './db/mappers'
import {
  toBrand,
  toCategory,
  toEanResolution,
  toProduct,
  toProductPrice,
  toProductStock,
  toProductVariant,
  toSupplier,
  toSupplierDetails,
} from './db/mappers'
import {
  brandsByCodes,
  brandsByIds,
  type CatalogDb,
  categoriesByIds,
  categoriesByParentIds,
  categoriesBySlugs,
  eanResolutionsByEans,
  eanResolutionsByProductIds,
  historyCounts,
  type ProductParentColumn,
  priceHistoryQuery,
  pricesByProductIds,
  productLookupQuery,
  productsByIds,
  productsByNaturalKey,
  productsOfParents,
  stockHistoryQuery,
  stocksByProductIds,
  supplierDetailsBySupplierIds,
  suppliersByCodes,
  suppliersByIds,
  variantsByIds,
  variantsByProductIds,
  variantsBySkus,
} from './db/queries'
import {
  type PrefetchColumn,
  type ProductPrefetchPlan,
  prefetchColumns,
  primeProduct,
  withPrefetch,
} from './prefetch'

export interface OrderArg {
  field: string
  direction: 'ASC' | 'DESC'
}

/** Product list orders; CREATED_AT has btree indexes (alone and per supplier, brand, category), the others sort. */
export const PRODUCT_ORDER_COLUMNS = {
  CREATED_AT: 'products.created_at',
  TITLE: 'products.title',
  UPDATED_AT: 'products.updated_at',
}

export const productOrder = (orderBy: OrderArg | null | undefined) =>
  orderFrom(PRODUCT_ORDER_COLUMNS, 'products.id', orderBy, { field: 'CREATED_AT', direction: 'DESC' })

/** History lists: newest change first, on the (product_id, changed_at DESC, id DESC) indexes. */
export const PRICE_HISTORY_ORDER: Order = {
  key: 'CHANGED_AT:DESC',
  column: 'price_history.changed_at',
  id: 'price_history.id',
  direction: 'desc',
}
export const STOCK_HISTORY_ORDER: Order = {
  key: 'CHANGED_AT:DESC',
  column: 'stock_history.changed_at',
  id: 'stock_history.id',
  direction: 'desc',
}

export interface NestedProductsArgs extends PageArgs {
  parent: ProductParentColumn
  isActive: boolean | null
  order: Order
}

/** Per-request loaders: each batch is one SQL statement. */
export function createLoaders(db: CatalogDb) {
  const loaders = baseLoaders(db)
  return {
    ...loaders,
    /**
     * Products by id, SKU or EAN with the children a selection asks for, in the same statement: the
     * children prime the loaders above, so their resolvers find them without SQL.
     */
    productsWith: new LoaderFamily(
      ({ by, plan }: { by: 'id' | 'sku' | 'ean'; plan: ProductPrefetchPlan }) => {
        const { columns, statement } = lookupWith(db, by, plan)
        const keyOf = (p: Product) => (by === 'id' ? p.id : ((by === 'sku' ? p.sku : p.ean) ?? ''))
        return uniqueLoader<string, Product>(async (keys) => {
          const sent = by === 'id' ? uuidKeys(keys) : [...keys]
          if (sent.length === 0) return []
          const rows = await statement(db, sent)
          return rows.map((row) => primeProduct(loaders, row as ProductRow, columns))
        }, keyOf)
      },
    ),
  }
}

/** Lookups with children seen lately, by lookup and plan: at most this many statements are kept compiled. */
const LOOKUP_STATEMENTS = 256
const lookupStatements = new Map<
  string,
  { columns: PrefetchColumn[]; statement: (db: CatalogDb, keys: string[]) => Promise<unknown[]> }
>()

/**
 * The statement of productsWith for one lookup and plan, and the columns it adds: the plan (children, their
 * arguments) decides the whole statement but the keys, so it is built and compiled once per plan.
 */
function lookupWith(db: CatalogDb, by: 'id' | 'sku' | 'ean', plan: ProductPrefetchPlan) {
  const key = `${by} ${JSON.stringify(plan)}`
  let found = lookupStatements.get(key)
  if (!found) {
    const columns = prefetchColumns(db, plan)
    found = {
      columns,
      statement: fixedStatement(`products by ${by} with children`, (db: CatalogDb, keys: string[]) =>
        withPrefetch(productLookupQuery(db, by, keys), columns),
      ),
    }
    if (lookupStatements.size >= LOOKUP_STATEMENTS)
      lookupStatements.delete(lookupStatements.keys().next().value!)
    lookupStatements.set(key, found)
  }
  return found
}

/** The loaders prefetched children are primed into. */
export type PrefetchTargets = ReturnType<typeof baseLoaders>

function baseLoaders(db: CatalogDb) {
  return {
    productById: uniqueLoader(
      async (ids) => (await productsByIds(db, ids)).map(toProduct),
      (p) => p.id,
    ),
    productBySku: uniqueLoader(
      async (skus) => (await productsByNaturalKey(db, 'sku', skus)).map(toProduct),
      (p) => p.sku ?? '',
    ),
    productByEan: uniqueLoader(
      async (eans) => (await productsByNaturalKey(db, 'ean', eans)).map(toProduct),
      (p) => p.ean ?? '',
    ),
    supplierById: uniqueLoader(
      async (ids) => (await suppliersByIds(db, ids)).map(toSupplier),
      (s) => s.id,
    ),
    supplierByCode: uniqueLoader(
      async (codes) => (await suppliersByCodes(db, codes)).map(toSupplier),
      (s) => s.code,
    ),
    supplierDetailsBySupplierId: uniqueLoader(
      async (ids) => (await supplierDetailsBySupplierIds(db, ids)).map(toSupplierDetails),
      (d) => d.supplierId,
    ),
    brandById: uniqueLoader(
      async (ids) => (await brandsByIds(db, ids)).map(toBrand),
      (b) => b.id,
    ),
    brandByCode: uniqueLoader(
      async (codes) => (await brandsByCodes(db, codes)).map(toBrand),
      (b) => b.code ?? '',
    ),
    categoryById: uniqueLoader(
      async (ids) => (await categoriesByIds(db, ids)).map(toCategory),
      (c) => c.id,
    ),
    categoryBySlug: uniqueLoader(
      async (slugs) => (await categoriesBySlugs(db, slugs)).map(toCategory),
      (c) => c.slug ?? '',
    ),
    categoriesByParentId: groupedLoader(
      async (ids) => (await categoriesByParentIds(db, ids)).map(toCategory),
      (c) => c.parentId ?? '',
    ),
    pricesByProductId: new LoaderFamily(({ activeOnly }: { activeOnly: boolean }) =>
      groupedLoader(
        async (ids) => (await pricesByProductIds(db, ids, activeOnly)).map(toProductPrice),
        (p) => p.productId,
      ),
    ),
    stocksByProductId: groupedLoader(
      async (ids) => (await stocksByProductIds(db, ids)).map(toProductStock),
      (s) => s.productId ?? '',
    ),
    variantsByProductId: new LoaderFamily(({ activeOnly }: { activeOnly: boolean }) =>
      groupedLoader(
        async (ids) => (await variantsByProductIds(db, ids, activeOnly)).map(toProductVariant),
        (v) => v.productId,
      ),
    ),
    variantById: uniqueLoader(
      async (ids) => (await variantsByIds(db, ids)).map(toProductVariant),
      (v) => v.id,
    ),
    variantBySku: uniqueLoader(
      async (skus) => (await variantsBySkus(db, skus)).map(toProductVariant),
      (v) => v.sku,
    ),
    eanResolutionsByEan: groupedLoader(
      async (eans) => (await eanResolutionsByEans(db, eans)).map(toEanResolution),
      (r) => r.ean,
    ),
    /** Stored completeness scores (null for a product not scored yet). */
    completenessByProductId: uniqueLoader(
      (ids) => completenessByProductIds(db, ids),
      (r) => r.productId,
    ),
    eanResolutionsByProductId: groupedLoader(
      async (ids) => (await eanResolutionsByProductIds(db, ids)).map(toEanResolution),
      (r) => r.productId ?? '',
    ),
    /** Products of suppliers, brands or categories: one statement per (parent kind, arguments) per request. */
    productsByParent: new LoaderFamily(({ parent, isActive, order, first, after }: NestedProductsArgs) =>
      groupedConnectionLoader<ProductRow>({
        db,
        query: (ids) => productsOfParents(db, parent, ids, isActive),
        parentColumn: `products.${parent}`,
        order,
        args: { first, after },
      }),
    ),
    priceHistoryByProductId: new LoaderFamily((args: PageArgs) =>
      groupedConnectionLoader<PriceHistoryRow>({
        db,
        query: (ids) => priceHistoryQuery(db, ids),
        parentColumn: 'price_history.product_id',
        order: PRICE_HISTORY_ORDER,
        args,
      }),
    ),
    stockHistoryByProductId: new LoaderFamily((args: PageArgs) =>
      groupedConnectionLoader<StockHistoryRow>({
        db,
        query: (ids) => stockHistoryQuery(db, ids),
        parentColumn: 'stock_history.product_id',
        order: STOCK_HISTORY_ORDER,
        args,
      }),
    ),
    /** totalCount of history pages that came with their product (the connection loaders count their own). */
    priceHistoryCount: new DataLoader<string, number>((ids) => historyCounts(db, 'price_history', ids)),
    stockHistoryCount: new DataLoader<string, number>((ids) => historyCounts(db, 'stock_history', ids)),
  }
}

export type CatalogLoaders = ReturnType<typeof createLoaders>
