import type { DB } from '@pm/db/types/analytics'
import { type Peers, queryPeer } from '@pm/service-kit'
import { type Kysely, sql } from 'kysely'
import { utcDay } from '../db/facts'
import { claimRun, endRun, type RunDeps } from './import-metrics'

const FIGURES = `{ supplierFigures {
  supplierId code name productsCount activeProductsCount avgPrice stockValue withAsinCount
} }`
const WITH_MEDIA = `query($after: UUID, $first: Int) { productIdsWithMedia(after: $after, first: $first) }`
const COUNTS = `query($ids: [UUID!]!) { supplierProductCounts(productIds: $ids) { supplierId count } }`

/** Product ids asked of media per page (and sent to catalog to count per supplier). */
const PAGE = 10_000

export interface SupplierFigures {
  supplierId: string
  code: string
  name: string
  productsCount: number
  activeProductsCount: number
  avgPrice: string | null
  stockValue: string | null
  withAsinCount: number
}

/** Catalog's per supplier aggregate (one statement there). */
export async function fetchSupplierFigures(peers: Peers): Promise<SupplierFigures[]> {
  return (await queryPeer<{ supplierFigures: SupplierFigures[] }>(peers, 'catalog', FIGURES, {}, 60_000))
    .supplierFigures
}

/** A share 0–1 with 4 decimals, null without products. */
const share = (part: number, whole: number) => (whole > 0 ? (part / whole).toFixed(4) : null)

/** Today's (UTC) supplier figures run, created for the crontab's daily computation. */
export async function queueDailySupplierMetrics(db: Kysely<DB>): Promise<string> {
  const today = utcDay(new Date())
  const run = await db
    .insertInto('metric_runs')
    .values({ kind: 'supplier_metrics', date_from: today, date_to: today, total: 1 })
    .returning('id')
    .executeTakeFirstOrThrow()
  return run.id
}

/**
 * Computes the run's day of supplier and catalogue figures: catalog's per supplier aggregate (products,
 * active ones, average price, stock value, ASINs), then the products with media, paged from media and
 * counted per supplier by catalog; written in one transaction at the end (supplier_metrics' import columns
 * are kept), so a run stopped midway leaves the previous figures whole and simply runs again.
 */
export async function runSupplierMetrics(deps: RunDeps, runId: string, signal?: AbortSignal): Promise<void> {
  const run = await claimRun(deps.db, runId)
  if (!run) return
  const date = String(run.date_to)
  const cancelled = async () => {
    const state = await deps.db
      .selectFrom('metric_runs')
      .select(['status', 'cancel_requested_at'])
      .where('id', '=', runId)
      .executeTakeFirstOrThrow()
    if (state.status === 'running' && state.cancel_requested_at) await endRun(deps.db, runId, 'cancelled')
    return state.status !== 'running' || state.cancel_requested_at !== null
  }
  try {
    const supplierFigures = await fetchSupplierFigures(deps.peers)
    const totalProducts = supplierFigures.reduce((n, s) => n + s.productsCount, 0)
    await progress(deps.db, runId, 1, 1 + Math.ceil(totalProducts / PAGE))
    const withMedia = new Map<string, number>()
    let after: string | null = null
    for (let pageNo = 2; ; pageNo++) {
      if (await cancelled()) return
      signal?.throwIfAborted()
      const ids: string[] = (
        await queryPeer<{ productIdsWithMedia: string[] }>(
          deps.peers,
          'media',
          WITH_MEDIA,
          { after, first: PAGE },
          60_000,
        )
      ).productIdsWithMedia
      if (ids.length === 0) break
      const { supplierProductCounts } = await queryPeer<{
        supplierProductCounts: { supplierId: string; count: number }[]
      }>(deps.peers, 'catalog', COUNTS, { ids }, 60_000)
      for (const c of supplierProductCounts)
        withMedia.set(c.supplierId, (withMedia.get(c.supplierId) ?? 0) + c.count)
      await progress(deps.db, runId, pageNo, null)
      if (ids.length < PAGE) break
      after = ids.at(-1)!
    }
    if (await cancelled()) return
    await writeFigures(deps.db, date, supplierFigures, withMedia)
    await deps.db
      .updateTable('metric_runs')
      .set((eb) => ({ processed: eb.ref('total') }))
      .where('id', '=', runId)
      .execute()
    await endRun(deps.db, runId, 'completed')
  } catch (error) {
    if (signal?.aborted) throw error
    const message = error instanceof Error ? error.message : String(error)
    deps.logger.warn('supplier figures failed', { runId, error: message })
    await endRun(deps.db, runId, 'failed', message)
  } finally {
    await deps.invalidate()
  }
}

async function progress(db: Kysely<DB>, runId: string, processed: number, total: number | null) {
  await db
    .updateTable('metric_runs')
    .set({ processed, ...(total !== null ? { total } : {}) })
    .where('id', '=', runId)
    .execute()
}

/** One upsert per table for the day, in one transaction. */
export async function writeFigures(
  db: Kysely<DB>,
  date: string,
  suppliers: readonly SupplierFigures[],
  withMedia: ReadonlyMap<string, number>,
) {
  await db.transaction().execute(async (trx) => {
    if (suppliers.length > 0) {
      await trx
        .insertInto('supplier_metrics')
        .values(
          suppliers.map((s) => ({
            supplier_id: s.supplierId,
            date,
            products_count: s.productsCount,
            active_products_count: s.activeProductsCount,
            avg_price: s.avgPrice,
            stock_value: s.stockValue,
            image_share: share(withMedia.get(s.supplierId) ?? 0, s.productsCount),
            verified_asin_share: share(s.withAsinCount, s.productsCount),
            computed_at: sql<Date>`now()`,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['supplier_id', 'date']).doUpdateSet((eb) => ({
            products_count: eb.ref('excluded.products_count'),
            active_products_count: eb.ref('excluded.active_products_count'),
            avg_price: eb.ref('excluded.avg_price'),
            stock_value: eb.ref('excluded.stock_value'),
            image_share: eb.ref('excluded.image_share'),
            verified_asin_share: eb.ref('excluded.verified_asin_share'),
            computed_at: eb.ref('excluded.computed_at'),
          })),
        )
        .execute()
    }
    const products = suppliers.reduce((n, s) => n + s.productsCount, 0)
    const active = suppliers.reduce((n, s) => n + s.activeProductsCount, 0)
    const images = [...withMedia.values()].reduce((n, c) => n + c, 0)
    const asins = suppliers.reduce((n, s) => n + s.withAsinCount, 0)
    // The catalogue's average price weighs each supplier's average by its active products with a price.
    const priced = suppliers.filter((s) => s.avgPrice !== null)
    const pricedWeight = priced.reduce((n, s) => n + s.activeProductsCount, 0)
    const avgPrice =
      pricedWeight > 0
        ? (
            priced.reduce((sum, s) => sum + Number(s.avgPrice) * s.activeProductsCount, 0) / pricedWeight
          ).toFixed(2)
        : null
    const cents = suppliers.reduce((sum, s) => sum + BigInt(Math.round(Number(s.stockValue ?? 0) * 100)), 0n)
    const stockValue = `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`
    const row = {
      date,
      suppliers_count: suppliers.length,
      products_count: products,
      active_products_count: active,
      avg_price: avgPrice,
      stock_value: stockValue,
      image_share: share(images, products),
      verified_asin_share: share(asins, products),
      computed_at: sql<Date>`now()`,
    }
    await trx
      .insertInto('catalog_metrics')
      .values(row)
      .onConflict((oc) => oc.column('date').doUpdateSet(row))
      .execute()
  })
}
