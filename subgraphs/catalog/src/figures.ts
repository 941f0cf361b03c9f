import { badUserInput, checkInt, uuidKeys } from '@pm/service-kit'
import { type NotNull, sql } from 'kysely'
import type { QueryResolvers } from './generated/graphql'

/**
 * Internal aggregate reads for analytics (its supplier figures and reports): each answer is one statement
 * over the catalogue, so analytics never reads catalog's database and never walks products one by one.
 */

const MAX_IDS = 20_000
const MAX_PAGE = 5_000

const page = (first: number | null | undefined) =>
  checkInt('first', first ?? 1000, { min: 1, max: MAX_PAGE })!

export const figuresQuery = {
  supplierFigures: async (_, __, ctx) => {
    const { rows } = await sql<{
      supplier_id: string
      code: string
      name: string
      products: string
      active: string
      avg_price: string | null
      stock_value: string | null
      with_asin: string
    }>`
      WITH cur AS (
        SELECT DISTINCT ON (pp.product_id) pp.product_id, pp.price
        FROM product_prices pp
        WHERE pp.price_type = 'retail' AND COALESCE(pp.min_quantity, 1) = 1 AND pp.is_active IS TRUE
        ORDER BY pp.product_id, pp.valid_from DESC NULLS LAST, pp.id DESC
      ), stock AS (
        SELECT product_id, sum(quantity) AS quantity FROM product_stocks GROUP BY product_id
      ), per AS (
        SELECT p.supplier_id, count(*) AS products,
               count(*) FILTER (WHERE p.is_active IS TRUE) AS active,
               round(avg(cur.price) FILTER (WHERE p.is_active IS TRUE), 2) AS avg_price,
               round(sum(cur.price * stock.quantity) FILTER (WHERE p.is_active IS TRUE), 2) AS stock_value,
               count(*) FILTER (WHERE p.asin IS NOT NULL) AS with_asin
        FROM products p
        LEFT JOIN cur ON cur.product_id = p.id
        LEFT JOIN stock ON stock.product_id = p.id
        WHERE p.supplier_id IS NOT NULL
        GROUP BY p.supplier_id
      )
      SELECT s.id AS supplier_id, s.code, s.name, coalesce(per.products, 0) AS products,
             coalesce(per.active, 0) AS active, per.avg_price, per.stock_value,
             coalesce(per.with_asin, 0) AS with_asin
      FROM suppliers s LEFT JOIN per ON per.supplier_id = s.id
      ORDER BY s.code
    `.execute(ctx.db)
    return rows.map((r) => ({
      supplierId: r.supplier_id,
      code: r.code,
      name: r.name,
      productsCount: Number(r.products),
      activeProductsCount: Number(r.active),
      avgPrice: r.avg_price,
      stockValue: r.stock_value,
      withAsinCount: Number(r.with_asin),
    }))
  },

  supplierProductCounts: async (_, { productIds }, ctx) => {
    if (productIds.length > MAX_IDS) {
      throw badUserInput(`productIds: at most ${MAX_IDS} at a time`, { argument: 'productIds' })
    }
    const ids = uuidKeys(productIds)
    if (ids.length === 0) return []
    const rows = await ctx.db
      .selectFrom('products')
      .select(['supplier_id', (eb) => eb.fn.countAll<string>().as('count')])
      .where('id', '=', (eb) => eb.fn.any(eb.val(ids)))
      .where('supplier_id', 'is not', null)
      .groupBy('supplier_id')
      .$narrowType<{ supplier_id: NotNull }>()
      .execute()
    return rows.map((r) => ({ supplierId: r.supplier_id, count: Number(r.count) }))
  },

  stockAlerts: async (_, args, ctx) => {
    let query = ctx.db
      .selectFrom('product_stocks as ps')
      .innerJoin('products as p', 'p.id', 'ps.product_id')
      .leftJoin('suppliers as s', 's.id', 'p.supplier_id')
      .select([
        'ps.id as stockId',
        'p.id as productId',
        'p.sku',
        'p.ean',
        'p.title',
        's.code as supplierCode',
        'ps.warehouse_id as warehouseId',
        'ps.quantity',
        'ps.available_quantity as availableQuantity',
        'ps.min_stock as minStock',
      ])
      .where('ps.min_stock', 'is not', null)
      .where(sql<boolean>`coalesce(ps.available_quantity, ps.quantity) < ps.min_stock`)
      .orderBy('ps.id')
      .limit(page(args.first))
    if (args.after) query = query.where('ps.id', '>', args.after)
    return query.$narrowType<{ minStock: NotNull }>().execute()
  },

  priceChanges: async (_, args, ctx) => {
    if (args.from.getTime() > args.to.getTime()) {
      throw badUserInput('from is after to: give from <= to', { argument: 'from' })
    }
    const rows = await ctx.db
      .selectFrom('price_history as ph')
      .leftJoin('products as p', 'p.id', 'ph.product_id')
      .leftJoin('suppliers as s', 's.id', 'ph.supplier_id')
      .select([
        'ph.id',
        'ph.product_id as productId',
        'p.sku',
        'p.title',
        's.code as supplierCode',
        'ph.price_type as priceType',
        'ph.old_price as oldPrice',
        'ph.new_price as newPrice',
        'ph.currency',
        'ph.source',
        'ph.changed_at as changedAt',
      ])
      .where('ph.changed_at', '>=', args.from)
      .where('ph.changed_at', '<', args.to)
      .where('ph.id', '>', String(args.after ?? 0))
      .orderBy('ph.id')
      .limit(page(args.first))
      .execute()
    return rows.map((r) => ({ ...r, id: Number(r.id) }))
  },
} satisfies QueryResolvers
