import { badUserInput, checkInt, inTransaction, queryPeer, uuidKeys } from '@pm/service-kit'
import { sql } from 'kysely'
import { declareProductsChanged } from './changes'
import {
  completenessTotals,
  refreshAllCompleteness,
  scoreUnscoredProducts,
  setHasImage,
  setHasImageOfAll,
} from './db/completeness'
import type { CatalogDb } from './db/queries'
import type { CompletenessSummaryRowResolvers, MutationResolvers, QueryResolvers } from './generated/graphql'

/**
 * Completeness: the share of what a product's category requires that the product has. The scores are kept in
 * product_completeness by the database's triggers (migration 006) on every write of products, prices, stocks
 * and category rules; media tells catalog whether a product has an image (recordProductImages), and
 * recomputeCompleteness re-reads that from media for the whole catalogue.
 */

/** What a category may require; the order is the order `missing` lists them in. */
export const COMPLETENESS_ITEMS = [
  'TITLE',
  'DESCRIPTION',
  'SHORT_DESCRIPTION',
  'EAN',
  'SKU',
  'MANUFACTURER_REFERENCE',
  'BRAND',
  'CATEGORY',
  'WEIGHT',
  'DIMENSIONS',
  'PRICE',
  'STOCK',
  'IMAGE',
] as const
export type CompletenessItem = (typeof COMPLETENESS_ITEMS)[number]

/** Required when a category says nothing. */
export const DEFAULT_REQUIRED: readonly CompletenessItem[] = [
  'TITLE',
  'DESCRIPTION',
  'EAN',
  'BRAND',
  'PRICE',
  'STOCK',
  'IMAGE',
]

/** The score the database computes: the rounded share of the required items present (100 when none). */
export function completenessScore(required: readonly string[], missing: readonly string[]): number {
  if (required.length === 0) return 100
  return Math.round((100 * (required.length - missing.length)) / required.length)
}

/** A category's rules as stored: duplicates dropped, in the items' order; null stands for the defaults. */
export function normaliseRules(rules: readonly string[] | null | undefined): string[] | null {
  if (rules == null) return null
  const wanted = new Set(rules)
  return COMPLETENESS_ITEMS.filter((item) => wanted.has(item))
}

const MAX_IMAGE_ROWS = 5_000
const MEDIA_PAGE = 10_000
const WITH_MEDIA = `query($after: UUID, $first: Int) { productIdsWithMedia(after: $after, first: $first) }`

export interface CompletenessRow {
  productId: string
  score: number
  missing: string[]
  computedAt: Date
}

export async function completenessByProductIds(db: CatalogDb, ids: readonly string[]) {
  const keys = uuidKeys(ids)
  if (keys.length === 0) return []
  const rows = await db
    .selectFrom('product_completeness')
    .select(['product_id', 'score', 'missing', 'computed_at'])
    .where('product_id', '=', (eb) => eb.fn.any(eb.val(keys)))
    .execute()
  return rows.map(
    (r): CompletenessRow => ({
      productId: r.product_id,
      score: r.score,
      missing: r.missing,
      computedAt: r.computed_at,
    }),
  )
}

export function checkScore(argument: string, value: number | null | undefined) {
  return checkInt(argument, value, { min: 0, max: 100 })
}

/** A CompletenessSummaryRow as completenessSummary answers it: its supplier or category by id. */
export interface CompletenessSummary {
  supplierId: string | null
  categoryId: string | null
  productsCount: number
  averageScore: string
  completeCount: number
  belowHalfCount: number
}

export const completenessQuery = {
  completenessSummary: async (_, { by }, ctx) => {
    const column = by === 'SUPPLIER' ? sql.ref('p.supplier_id') : sql.ref('p.category_id')
    const { rows } = await sql<{
      key: string | null
      products: string
      average: string | null
      complete: string
      below_half: string
    }>`
      SELECT ${column} AS key, count(*) AS products, round(avg(pc.score), 2) AS average,
             count(*) FILTER (WHERE pc.score = 100) AS complete,
             count(*) FILTER (WHERE pc.score < 50) AS below_half
      FROM products p JOIN product_completeness pc ON pc.product_id = p.id
      GROUP BY 1
      ORDER BY 3 ASC NULLS LAST, 1 NULLS LAST
    `.execute(ctx.db)
    return rows.map(
      (r): CompletenessSummary => ({
        supplierId: by === 'SUPPLIER' ? r.key : null,
        categoryId: by === 'CATEGORY' ? r.key : null,
        productsCount: Number(r.products),
        averageScore: r.average ?? '0',
        completeCount: Number(r.complete),
        belowHalfCount: Number(r.below_half),
      }),
    )
  },
} satisfies QueryResolvers

export const CompletenessSummaryRow = {
  supplier: (r, _, ctx) => (r.supplierId ? ctx.loaders.supplierById.load(r.supplierId) : null),
  category: (r, _, ctx) => (r.categoryId ? ctx.loaders.categoryById.load(r.categoryId) : null),
} satisfies CompletenessSummaryRowResolvers

export const completenessMutations = {
  recordProductImages: async (_, { products }, ctx) => {
    if (products.length > MAX_IMAGE_ROWS) {
      throw badUserInput(`products: at most ${MAX_IMAGE_ROWS} per call`, { argument: 'products' })
    }
    // The last word on a product wins when it appears twice.
    const last = new Map(products.map((p) => [p.productId, p.hasImage]))
    return inTransaction(ctx, async (trx) => {
      const ids = [...last.keys()]
      await declareProductsChanged(ctx, trx, ids)
      // Products stored before their first score (none after migration 006's backfill) get one first.
      await scoreUnscoredProducts(trx, ids)
      const withImage = ids.filter((id) => last.get(id) === true)
      const withoutImage = ids.filter((id) => last.get(id) === false)
      return (await setHasImage(trx, withImage, true)) + (await setHasImage(trx, withoutImage, false))
    })
  },

  recomputeCompleteness: async (_, __, ctx) => {
    // Which products have media, by pages of media's answer (never its database).
    const withMedia: string[] = []
    let after: string | null = null
    for (;;) {
      const page: string[] = (
        await queryPeer<{ productIdsWithMedia: string[] }>(
          ctx.peers,
          'media',
          WITH_MEDIA,
          { after, first: MEDIA_PAGE },
          60_000,
        )
      ).productIdsWithMedia
      withMedia.push(...page)
      if (page.length < MEDIA_PAGE) break
      after = page.at(-1)!
    }
    return inTransaction(ctx, async (trx) => {
      await scoreUnscoredProducts(trx)
      await setHasImageOfAll(trx, withMedia)
      await refreshAllCompleteness(trx)
      const counts = await completenessTotals(trx)
      return {
        productsCount: Number(counts.products),
        averageScore: counts.average === null ? '0' : Number(counts.average).toFixed(2),
      }
    })
  },
} satisfies MutationResolvers
