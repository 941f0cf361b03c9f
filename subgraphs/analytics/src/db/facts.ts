import type { DB } from '@pm/db/types/analytics'
import { type Kysely, sql, type Transaction } from 'kysely'
import type { DateRange } from './queries'

type Db = Kysely<DB> | Transaction<DB>

/** How one import job ended (import_job_facts' row). */
export interface ImportJobFact {
  job_id: string
  supplier_code: string
  supplier_id: string | null
  status: 'completed' | 'failed' | 'cancelled'
  date: string
  rows_processed: number
  products_created: number
  products_updated: number
  rows_failed: number
  duration_seconds: number | null
  ended_at: Date
}

export const IMPORT_END_STATUSES = ['completed', 'failed', 'cancelled'] as const

/** The UTC day of an instant, YYYY-MM-DD. */
export const utcDay = (at: Date) => at.toISOString().slice(0, 10)

/**
 * The day a job's facts count for, its row locked (a concurrent report of the same job waits); undefined
 * when the job has no facts yet.
 */
export function lockJobFactDate(trx: Transaction<DB>, jobId: string) {
  return trx
    .selectFrom('import_job_facts')
    .select('date')
    .where('job_id', '=', jobId)
    .forUpdate()
    .executeTakeFirst()
}

/** Stores job facts, one row per job: a job reported again replaces its row. */
export async function upsertFacts(trx: Db, facts: readonly ImportJobFact[]): Promise<void> {
  if (facts.length === 0) return
  await trx
    .insertInto('import_job_facts')
    .values(facts.map((f) => ({ ...f, ended_at: sql<Date>`${f.ended_at.toISOString()}::timestamp` })))
    .onConflict((oc) =>
      oc.column('job_id').doUpdateSet((eb) => ({
        supplier_code: eb.ref('excluded.supplier_code'),
        supplier_id: eb.ref('excluded.supplier_id'),
        status: eb.ref('excluded.status'),
        date: eb.ref('excluded.date'),
        rows_processed: eb.ref('excluded.rows_processed'),
        products_created: eb.ref('excluded.products_created'),
        products_updated: eb.ref('excluded.products_updated'),
        rows_failed: eb.ref('excluded.rows_failed'),
        duration_seconds: eb.ref('excluded.duration_seconds'),
        ended_at: eb.ref('excluded.ended_at'),
        recorded_at: sql`now()`,
      })),
    )
    .execute()
}

/** Replaces the facts of one day by `facts` (a recomputation from imports' own rows). */
export async function replaceDayFacts(trx: Db, date: string, facts: readonly ImportJobFact[]): Promise<void> {
  await trx.deleteFrom('import_job_facts').where('date', '=', date).execute()
  await upsertFacts(trx, facts)
}

/**
 * Recomputes, from import_job_facts, every figure derived from the jobs of `dates`: the per supplier and
 * day rows (supplier_import_metrics), the import columns of supplier_metrics, and the daily totals
 * (import_metrics). Rows of those days left without any job are removed (or zeroed in supplier_metrics,
 * whose other columns come from elsewhere).
 */
export async function recomputeDays(trx: Db, dates: readonly string[]): Promise<void> {
  const days = [...new Set(dates)]
  if (days.length === 0) return
  const inDays = sql`${days}::date[]`
  await sql`
    DELETE FROM supplier_import_metrics m
    WHERE m.date = ANY(${inDays})
      AND NOT EXISTS (SELECT 1 FROM import_job_facts f WHERE f.supplier_id = m.supplier_id AND f.date = m.date)
  `.execute(trx)
  await sql`
    INSERT INTO supplier_import_metrics AS m (
      supplier_id, date, jobs_count, completed_count, failed_count, cancelled_count, rows_processed,
      products_created, products_updated, rows_failed, duration_seconds, computed_at)
    SELECT supplier_id, date, count(*),
           count(*) FILTER (WHERE status = 'completed'),
           count(*) FILTER (WHERE status = 'failed'),
           count(*) FILTER (WHERE status = 'cancelled'),
           sum(rows_processed), sum(products_created), sum(products_updated), sum(rows_failed),
           coalesce(sum(duration_seconds), 0), now()
    FROM import_job_facts
    WHERE date = ANY(${inDays}) AND supplier_id IS NOT NULL
    GROUP BY supplier_id, date
    ON CONFLICT (supplier_id, date) DO UPDATE SET
      jobs_count = EXCLUDED.jobs_count, completed_count = EXCLUDED.completed_count,
      failed_count = EXCLUDED.failed_count, cancelled_count = EXCLUDED.cancelled_count,
      rows_processed = EXCLUDED.rows_processed, products_created = EXCLUDED.products_created,
      products_updated = EXCLUDED.products_updated, rows_failed = EXCLUDED.rows_failed,
      duration_seconds = EXCLUDED.duration_seconds, computed_at = now()
  `.execute(trx)
  // supplier_metrics' import columns: imports ended that day, percent completed, average seconds.
  await sql`
    UPDATE supplier_metrics s SET imports_count = 0, success_rate = NULL, avg_processing_time = NULL
    WHERE s.date = ANY(${inDays})
      AND NOT EXISTS (SELECT 1 FROM import_job_facts f WHERE f.supplier_id = s.supplier_id AND f.date = s.date)
  `.execute(trx)
  await sql`
    INSERT INTO supplier_metrics AS s (supplier_id, date, imports_count, success_rate, avg_processing_time)
    SELECT supplier_id, date, count(*),
           round(100.0 * count(*) FILTER (WHERE status = 'completed') / count(*), 2),
           round(avg(duration_seconds))::int
    FROM import_job_facts
    WHERE date = ANY(${inDays}) AND supplier_id IS NOT NULL
    GROUP BY supplier_id, date
    ON CONFLICT (supplier_id, date) DO UPDATE SET
      imports_count = EXCLUDED.imports_count, success_rate = EXCLUDED.success_rate,
      avg_processing_time = EXCLUDED.avg_processing_time
  `.execute(trx)
  await sql`
    DELETE FROM import_metrics m
    WHERE m.date = ANY(${inDays}) AND NOT EXISTS (SELECT 1 FROM import_job_facts f WHERE f.date = m.date)
  `.execute(trx)
  await sql`
    INSERT INTO import_metrics AS m (date, total_imports, successful_imports, failed_imports,
                                     total_products_processed, avg_processing_time)
    SELECT date, count(*), count(*) FILTER (WHERE status = 'completed'),
           count(*) FILTER (WHERE status = 'failed'), sum(rows_processed), round(avg(duration_seconds))::int
    FROM import_job_facts
    WHERE date = ANY(${inDays})
    GROUP BY date
    ON CONFLICT (date) DO UPDATE SET
      total_imports = EXCLUDED.total_imports, successful_imports = EXCLUDED.successful_imports,
      failed_imports = EXCLUDED.failed_imports, total_products_processed = EXCLUDED.total_products_processed,
      avg_processing_time = EXCLUDED.avg_processing_time
  `.execute(trx)
}

/** Per supplier and day rows of `supplierIds` in the range (one statement for a batch of suppliers). */
export function supplierImportMetrics(db: Db, supplierIds: readonly string[], range: DateRange) {
  return db
    .selectFrom('supplier_import_metrics')
    .selectAll()
    .where('supplier_id', '=', (eb) => eb.fn.any(eb.val([...supplierIds])))
    .where('date', '>=', range.from)
    .where('date', '<=', range.to)
    .orderBy('supplier_id')
    .orderBy('date')
    .execute()
}
