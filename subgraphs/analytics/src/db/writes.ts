import type { DB } from '@pm/db/types/analytics'
import { type Insertable, type InsertObject, type Kysely, sql, type Transaction } from 'kysely'
import type { checkImportMetric, checkProductMetric, checkSupplierMetric } from '../validation'

/** The write statements of analytics' mutations; most run inside the mutation's transaction. */
type Trx = Transaction<DB>

// ---------------------------------------------------------------- metric runs, reports, AI usage

export function insertMetricRun(trx: Trx, values: Insertable<DB['metric_runs']>) {
  return trx.insertInto('metric_runs').values(values).returningAll().executeTakeFirstOrThrow()
}

export function insertReport(trx: Trx, values: Insertable<DB['reports']>) {
  return trx.insertInto('reports').values(values).returningAll().executeTakeFirstOrThrow()
}

export async function deleteReport(trx: Trx, id: string) {
  await trx.deleteFrom('reports').where('id', '=', id).execute()
}

/** One AI call (ai_usage_logs is append-only: a statement of its own, no transaction needed). */
export function insertAiUsageLog(db: Kysely<DB>, values: InsertObject<DB, 'ai_usage_logs'>) {
  return db.insertInto('ai_usage_logs').values(values).returningAll().executeTakeFirstOrThrow()
}

// ---------------------------------------------------------------- metrics

/** Rows per statement; with one array parameter per column, a statement's size does not grow with it. */
export const METRIC_CHUNK = 1_000

export function chunks<T>(items: readonly T[], size = METRIC_CHUNK): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

// True when the row was inserted, false when ON CONFLICT updated it (xmax is the updating transaction).
const inserted = sql<boolean>`(xmax = 0)`.as('inserted')

/** One INSERT … SELECT FROM unnest(…) ON CONFLICT (product_id, date) DO UPDATE per chunk. */
export function upsertProductMetrics(trx: Trx, rows: readonly ReturnType<typeof checkProductMetric>[]) {
  return trx
    .insertInto('product_metrics')
    .columns(['product_id', 'date', 'view_count', 'sales_count', 'conversion_rate', 'revenue'])
    .expression(
      sql`SELECT * FROM unnest(
        ${rows.map((r) => r.product_id)}::uuid[],
        ${rows.map((r) => r.date)}::date[],
        ${rows.map((r) => r.view_count)}::integer[],
        ${rows.map((r) => r.sales_count)}::integer[],
        ${rows.map((r) => r.conversion_rate)}::numeric[],
        ${rows.map((r) => r.revenue)}::numeric[]
      )`,
    )
    .onConflict((oc) =>
      oc.columns(['product_id', 'date']).doUpdateSet((eb) => ({
        view_count: eb.ref('excluded.view_count'),
        sales_count: eb.ref('excluded.sales_count'),
        conversion_rate: eb.ref('excluded.conversion_rate'),
        revenue: eb.ref('excluded.revenue'),
      })),
    )
    .returningAll()
    .returning(inserted)
    .execute()
}

export function upsertSupplierMetrics(trx: Trx, rows: readonly ReturnType<typeof checkSupplierMetric>[]) {
  return trx
    .insertInto('supplier_metrics')
    .columns([
      'supplier_id',
      'date',
      'products_count',
      'imports_count',
      'success_rate',
      'avg_processing_time',
    ])
    .expression(
      sql`SELECT * FROM unnest(
        ${rows.map((r) => r.supplier_id)}::uuid[],
        ${rows.map((r) => r.date)}::date[],
        ${rows.map((r) => r.products_count)}::integer[],
        ${rows.map((r) => r.imports_count)}::integer[],
        ${rows.map((r) => r.success_rate)}::numeric[],
        ${rows.map((r) => r.avg_processing_time)}::integer[]
      )`,
    )
    .onConflict((oc) =>
      oc.columns(['supplier_id', 'date']).doUpdateSet((eb) => ({
        products_count: eb.ref('excluded.products_count'),
        imports_count: eb.ref('excluded.imports_count'),
        success_rate: eb.ref('excluded.success_rate'),
        avg_processing_time: eb.ref('excluded.avg_processing_time'),
      })),
    )
    .returningAll()
    .returning(inserted)
    .execute()
}

export function upsertImportMetrics(trx: Trx, rows: readonly ReturnType<typeof checkImportMetric>[]) {
  return trx
    .insertInto('import_metrics')
    .columns([
      'date',
      'total_imports',
      'successful_imports',
      'failed_imports',
      'total_products_processed',
      'avg_processing_time',
    ])
    .expression(
      sql`SELECT * FROM unnest(
        ${rows.map((r) => r.date)}::date[],
        ${rows.map((r) => r.total_imports)}::integer[],
        ${rows.map((r) => r.successful_imports)}::integer[],
        ${rows.map((r) => r.failed_imports)}::integer[],
        ${rows.map((r) => r.total_products_processed)}::integer[],
        ${rows.map((r) => r.avg_processing_time)}::integer[]
      )`,
    )
    .onConflict((oc) =>
      oc.column('date').doUpdateSet((eb) => ({
        total_imports: eb.ref('excluded.total_imports'),
        successful_imports: eb.ref('excluded.successful_imports'),
        failed_imports: eb.ref('excluded.failed_imports'),
        total_products_processed: eb.ref('excluded.total_products_processed'),
        avg_processing_time: eb.ref('excluded.avg_processing_time'),
      })),
    )
    .returningAll()
    .returning(inserted)
    .execute()
}
