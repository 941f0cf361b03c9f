import { fixedStatement } from '@pm/db'
import type { DB } from '@pm/db/types/code2asin'
import { uuidKeys } from '@pm/service-kit'
import { type Kysely, sql } from 'kysely'

export type Code2AsinDb = Kysely<DB>

const jobsOfIds = fixedStatement('code2asin jobs by ids', (db: Code2AsinDb, keys: string[]) =>
  db
    .selectFrom('code2asin_jobs')
    .selectAll()
    .where('code2asin_jobs.id', '=', (eb) => eb.fn.any(eb.val(keys))),
)

export function jobsByIds(db: Code2AsinDb, ids: readonly string[]) {
  const keys = uuidKeys(ids)
  if (keys.length === 0) return Promise.resolve([])
  return jobsOfIds(db, keys)
}

export interface JobFilter {
  status?: string | null
  supplierCode?: string | null
}

/** idx_code2asin_jobs_status_created_id serves the status filter in the list's order. */
export function jobsQuery(db: Code2AsinDb, filter: JobFilter = {}) {
  let query = db.selectFrom('code2asin_jobs').selectAll('code2asin_jobs')
  if (filter.status != null) query = query.where('code2asin_jobs.status', '=', filter.status)
  if (filter.supplierCode != null)
    query = query.where('code2asin_jobs.supplier_code', '=', filter.supplierCode)
  return query
}

/** The results of the given jobs (batched nested connection), optionally of one match type. */
export function resultsOfJobsQuery(db: Code2AsinDb, jobIds: readonly string[], matchType: string | null) {
  let query = db
    .selectFrom('code2asin_results')
    .selectAll('code2asin_results')
    .where('code2asin_results.job_id', '=', (eb) => eb.fn.any(eb.val(uuidKeys(jobIds))))
  if (matchType != null) query = query.where('code2asin_results.match_type', '=', matchType)
  return query
}

export function resultsByAsinQuery(db: Code2AsinDb, asin: string) {
  return db
    .selectFrom('code2asin_results')
    .selectAll('code2asin_results')
    .where('code2asin_results.asin', '=', asin)
}

/**
 * Every result of the given products, best first (verified, then confidence): the product_id indexes find
 * them; a product has a handful of results, sorted in memory.
 */
const resultsOfProducts = fixedStatement(
  'code2asin results by product ids',
  (db: Code2AsinDb, keys: string[]) =>
    bestFirst(
      db
        .selectFrom('code2asin_results')
        .selectAll()
        .where('code2asin_results.product_id', '=', (eb) => eb.fn.any(eb.val(keys))),
    ),
)

export function resultsByProductIds(db: Code2AsinDb, productIds: readonly string[]) {
  const keys = uuidKeys(productIds)
  if (keys.length === 0) return Promise.resolve([])
  return resultsOfProducts(db, keys)
}

/** The best result of each product, for the whole batch in one DISTINCT ON statement. */
const bestResultsOfProducts = fixedStatement(
  'best code2asin results by product ids',
  (db: Code2AsinDb, keys: string[]) =>
    bestFirst(
      db
        .selectFrom('code2asin_results')
        .distinctOn('code2asin_results.product_id')
        .selectAll()
        .where('code2asin_results.product_id', '=', (eb) => eb.fn.any(eb.val(keys))),
    ),
)

export function bestResultsByProductIds(db: Code2AsinDb, productIds: readonly string[]) {
  const keys = uuidKeys(productIds)
  if (keys.length === 0) return Promise.resolve([])
  return bestResultsOfProducts(db, keys)
}

type ResultsQuery = ReturnType<typeof resultsByAsinQuery>

function bestFirst(query: ResultsQuery) {
  return (
    query
      .orderBy('code2asin_results.product_id')
      // The verified match is the product's ASIN; is_verified is nullable: a NULL ranks with false.
      .orderBy(sql`coalesce(${sql.ref('code2asin_results.is_verified')}, false)`, 'desc')
      .orderBy('code2asin_results.match_confidence', (ob) => ob.desc().nullsLast())
      .orderBy('code2asin_results.processed_at', (ob) => ob.desc().nullsLast())
      .orderBy('code2asin_results.id')
  )
}
