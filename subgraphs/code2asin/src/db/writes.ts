import type { DB } from '@pm/db/types/code2asin'
import { type Insertable, type Kysely, type Selectable, sql, type Transaction } from 'kysely'
import type { ResultValues } from '../validation'

/** Statements of the code2asin mutations; each runs inside the mutation's transaction. */
export type Code2AsinTrx = Transaction<DB>
type JobRow = Selectable<DB['code2asin_jobs']>
type ResultRow = Selectable<DB['code2asin_results']>

/** What the matching engine adds to a result: verified on arrival (auto-verification), or a failed lookup. */
export interface EngineColumns {
  is_verified?: boolean
  error_code?: string | null
  error_message?: string | null
}

export function insertJob(trx: Code2AsinTrx, values: Insertable<DB['code2asin_jobs']>) {
  return trx.insertInto('code2asin_jobs').values(values).returningAll().executeTakeFirstOrThrow()
}

/**
 * Inserts the rows whose (job, product, asin) is not recorded yet, in one statement (one parameter for all
 * the rows). Race-free because the caller holds the job's row lock: no other writer adds results to it meanwhile.
 */
export async function insertNewResults(
  trx: Code2AsinTrx,
  jobId: string,
  rows: readonly (ResultValues & EngineColumns)[],
) {
  if (rows.length === 0) return []
  const payload = JSON.stringify(rows)
  const result = await sql<ResultRow>`
    INSERT INTO code2asin_results (
      job_id, product_id, product_ean, product_title, asin, amazon_title, match_confidence, match_type,
      amazon_data, amazon_images, amazon_price, amazon_currency, amazon_category, amazon_rating,
      amazon_review_count, is_verified, error_code, error_message
    )
    SELECT ${jobId}::uuid, r.product_id, r.product_ean, r.product_title, r.asin, r.amazon_title,
      r.match_confidence, r.match_type, r.amazon_data, r.amazon_images, r.amazon_price, r.amazon_currency,
      r.amazon_category, r.amazon_rating, r.amazon_review_count, coalesce(r.is_verified, false), r.error_code,
      r.error_message
    FROM jsonb_to_recordset(${payload}::jsonb) AS r(
      product_id uuid, product_ean text, product_title text, asin text, amazon_title text,
      match_confidence numeric, match_type text, amazon_data jsonb, amazon_images jsonb, amazon_price numeric,
      amazon_currency text, amazon_category text, amazon_rating numeric, amazon_review_count int,
      is_verified boolean, error_code text, error_message text
    )
    WHERE NOT EXISTS (
      SELECT 1 FROM code2asin_results e
      WHERE e.job_id = ${jobId}::uuid AND e.product_id = r.product_id AND e.asin IS NOT DISTINCT FROM r.asin
    )
    RETURNING *`.execute(trx)
  return result.rows
}

/**
 * Recomputes the job's counters from its results (never incremented: a retry or a verification cannot make
 * them drift) and moves its status: pending → running on the first results, → completed once every product
 * is processed. Cancelled, failed and completed jobs keep their status. processed/successful/failed count
 * products (successful: at least one asin); exact/fuzzy/no count results, failed lookups (a result carrying
 * an error_code) apart from the no-matches.
 */
export async function refreshJobProgress(trx: Code2AsinTrx, jobId: string): Promise<JobRow> {
  const result = await sql<JobRow>`
    WITH per_product AS (
      SELECT bool_or(asin IS NOT NULL) AS matched
      FROM code2asin_results WHERE job_id = ${jobId}::uuid GROUP BY product_id
    ), products AS (
      SELECT count(*)::int AS processed, (count(*) FILTER (WHERE matched))::int AS successful FROM per_product
    ), results AS (
      SELECT (count(*) FILTER (WHERE match_type = 'exact'))::int AS exact,
        (count(*) FILTER (WHERE match_type IN ('partial', 'fuzzy')))::int AS fuzzy,
        (count(*) FILTER (WHERE asin IS NULL AND error_code IS NULL))::int AS none,
        (count(*) FILTER (WHERE error_code IS NOT NULL))::int AS failed
      FROM code2asin_results WHERE job_id = ${jobId}::uuid
    ), next AS (
      SELECT p.processed, p.successful, r.exact, r.fuzzy, r.none, r.failed,
        CASE
          WHEN j.status IN ('pending', 'running') AND p.processed > 0 THEN
            CASE WHEN p.processed >= coalesce(j.total_codes, 0) THEN 'completed' ELSE 'running' END
          ELSE j.status
        END AS status
      FROM products p CROSS JOIN results r JOIN code2asin_jobs j ON j.id = ${jobId}::uuid
    )
    UPDATE code2asin_jobs j SET
      processed_codes = n.processed,
      successful_conversions = n.successful,
      failed_conversions = n.processed - n.successful,
      exact_matches = n.exact,
      fuzzy_matches = n.fuzzy,
      no_matches = n.none,
      failed_lookups = n.failed,
      progress_percentage = CASE
        WHEN coalesce(j.total_codes, 0) > 0 THEN least(100, n.processed * 100 / j.total_codes)
        WHEN n.status = 'completed' THEN 100
        ELSE 0
      END,
      status = n.status,
      started_at = CASE WHEN n.status <> j.status AND j.status = 'pending' THEN coalesce(j.started_at, now())
        ELSE j.started_at END,
      completed_at = CASE WHEN n.status = 'completed' AND j.status <> 'completed' THEN now()
        ELSE j.completed_at END
    FROM next n
    WHERE j.id = ${jobId}::uuid
    RETURNING j.*`.execute(trx)
  return result.rows[0]!
}

/** The job of a result, read before the transaction (no lock): a result never moves to another job. */
export function resultJobId(db: Kysely<DB>, resultId: string) {
  return db.selectFrom('code2asin_results').select('job_id').where('id', '=', resultId).executeTakeFirst()
}

/** Whether any lookup of the job failed (a result carrying an error_code). */
export async function hasFailedLookups(trx: Code2AsinTrx, jobId: string): Promise<boolean> {
  const failed = await trx
    .selectFrom('code2asin_results')
    .select('id')
    .where('job_id', '=', jobId)
    .where('error_code', 'is not', null)
    .limit(1)
    .executeTakeFirst()
  return failed !== undefined
}

/** One verified ASIN per product: the product's other verified results of another ASIN lose the flag. */
export async function unverifyOtherAsins(trx: Code2AsinTrx, verified: ResultRow): Promise<void> {
  await trx
    .updateTable('code2asin_results')
    .set({ is_verified: false })
    .where('product_id', '=', verified.product_id)
    .where('is_verified', '=', true)
    .where('id', '<>', verified.id)
    .where('asin', 'is distinct from', verified.asin)
    .execute()
}

/** The ASIN of one of the product's verified results, if it has any. */
export function verifiedAsinOf(trx: Code2AsinTrx, productId: string) {
  return trx
    .selectFrom('code2asin_results')
    .select('asin')
    .where('product_id', '=', productId)
    .where('is_verified', '=', true)
    .executeTakeFirst()
}

/** Another result of the same job and product already holding this asin. */
export function sameKeyResult(trx: Code2AsinTrx, row: ResultRow, asin: string) {
  return trx
    .selectFrom('code2asin_results')
    .select('id')
    .where('job_id', '=', row.job_id)
    .where('product_id', '=', row.product_id)
    .where('asin', '=', asin)
    .where('id', '<>', row.id)
    .executeTakeFirst()
}
