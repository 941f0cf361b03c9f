import type { ConnectorSettings } from '@pm/connectors'
import type { DB } from '@pm/db/types/code2asin'
import { claimJobLease } from '@pm/jobs'
import { ErrorCode, type Logger, type Peers } from '@pm/service-kit'
import { openUpload, SERVICE_OWNER, type Storage, UploadNotFoundError } from '@pm/storage'
import { GraphQLError } from 'graphql'
import { type Kysely, type Selectable, sql } from 'kysely'
import { type EngineColumns, insertNewResults, refreshJobProgress } from '../db/writes'
import type { ResultValues } from '../validation'
import { AccountProblem, readSpApiAccount, type SpApiAccount } from './account'
import { CatalogGone, forEachProductId, productDetails, writeCatalogAsins } from './catalog'
import type { ProviderConfig } from './config'
import { LookupTableProvider, parseLookupTable } from './lookup-table'
import { type CatalogProvider, type IdentifierType, ProviderError } from './provider'
import { bestExact, bestFuzzy, type CatalogItem, keywordsOf, type MatchProduct, type Scored } from './scoring'
import { SpApiProvider } from './sp-api'

type JobRow = Selectable<DB['code2asin_jobs']>
type Row = ResultValues & EngineColumns

export interface EngineDeps {
  db: Kysely<DB>
  peers: Peers
  storage: Storage
  settings: ConnectorSettings
  logger: Logger
  /** A running job whose heartbeat is older than this has lost its worker (CODE2ASIN_LEASE_SECONDS, 60). */
  leaseSeconds: number
  /** First back-off of a provider retry (CODE2ASIN_RETRY_BASE_MS, 1,000), doubled at each retry. */
  retryBaseMs: number
  /** Provider requests of one batch in flight at once (CODE2ASIN_CONCURRENCY, 4); the rate limit still holds. */
  concurrency: number
  /** Tells the gateways' caches that code2asin (and catalog) changed behind their back. */
  invalidate?: (domains: readonly ('code2asin' | 'catalog')[]) => Promise<void>
}

export function engineSettings(env: NodeJS.ProcessEnv) {
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name]?.trim()
    if (!raw) return fallback
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${name} must be an integer from ${min} to ${max}`)
    }
    return value
  }
  return {
    leaseSeconds: int('CODE2ASIN_LEASE_SECONDS', 60, 2, 3_600),
    retryBaseMs: int('CODE2ASIN_RETRY_BASE_MS', 1_000, 1, 60_000),
    concurrency: int('CODE2ASIN_CONCURRENCY', 4, 1, 64),
  }
}

/** Fuzzy candidates below this confidence are no match unless the job's searchConfig.min_confidence says otherwise. */
export const DEFAULT_MIN_CONFIDENCE = 50
const IDENTIFIER_FIELDS: [IdentifierType, keyof MatchProduct][] = [
  ['EAN', 'ean'],
  ['UPC', 'upc'],
  ['GTIN', 'gtin'],
]

/** The job is no longer this runner's (cancelled, or taken over after a lost lease). */
class LostJob extends Error {}

/** A failure that ends the job, with the code recorded in last_error. */
class JobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** Runs items through `work`, at most `limit` at once, keeping their order in the answer. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  let failed: unknown
  const lane = async () => {
    while (next < items.length && failed === undefined) {
      const i = next++
      try {
        out[i] = await work(items[i]!)
      } catch (error) {
        failed ??= error
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  if (failed !== undefined) throw failed
  return out
}

/** Ends the job as this runner: failed (with why) or completed; false when it is no longer ours. */
async function finish(
  db: Kysely<DB>,
  jobId: string,
  runner: string,
  status: 'failed' | 'completed',
  lastError?: string,
  counts?: { retries: number; requests: number },
) {
  const row = await db
    .updateTable('code2asin_jobs')
    .set({
      status,
      runner_id: null,
      heartbeat_at: null,
      completed_at: sql`coalesce(completed_at, now())`,
      ...(lastError ? { last_error: lastError.slice(0, 2_000) } : {}),
      ...(status === 'completed' ? { progress_percentage: 100 } : {}),
      ...(counts ? { retry_count: counts.retries, provider_requests: counts.requests } : {}),
    })
    .where('id', '=', jobId)
    .where('runner_id', '=', runner)
    // The last batch's progress may have completed the job already.
    .where('status', 'in', status === 'completed' ? ['running', 'completed'] : ['running'])
    .returning('id')
    .executeTakeFirst()
  return row !== undefined
}

/**
 * Runs (or resumes) one matching job: claims it, takes its list of products once, then in batches of its
 * batch size asks the provider about the products not answered yet, scores what comes back, and commits each
 * batch's results with the checkpoint in one transaction. A job already final or held by a live runner is left
 * alone (the latter throws, so the queue tries again later).
 */
export async function runMatchJob(deps: EngineDeps, jobId: string, signal?: AbortSignal): Promise<void> {
  const { db } = deps
  const lease = await claimJobLease({
    db,
    table: 'code2asin_jobs',
    label: 'code2asin',
    jobId,
    leaseSeconds: deps.leaseSeconds,
    logger: deps.logger,
    signal,
    claim: { last_error: null },
    // A job with no provider has its results recorded by callers: no worker runs it.
    runnable: (eb) => eb('provider_config', 'is not', null),
    minHeartbeatMs: 500,
  })
  if (!lease) return
  const { job, runner } = lease
  const run: Run = { provider: null }
  try {
    await execute(deps, job, runner, lease.stopped, run)
  } catch (error) {
    if (error instanceof LostJob) {
      if (lease.interrupted()) await lease.handBack()
      deps.logger.info('code2asin job stopped: cancelled or taken over', { jobId })
      return
    }
    const [code, message] =
      error instanceof ProviderError || error instanceof JobFailure
        ? [error.code, error.message]
        : error instanceof CatalogGone
          ? ['NOT_FOUND', error.message]
          : error instanceof GraphQLError
            ? [String(error.extensions.code ?? ErrorCode.INTERNAL_SERVER_ERROR), error.message]
            : [
                ErrorCode.INTERNAL_SERVER_ERROR,
                'the job stopped on an internal error; see the worker log, then resume it',
              ]
    if (!(error instanceof ProviderError || error instanceof JobFailure || error instanceof CatalogGone)) {
      deps.logger.error('code2asin job failed', { jobId, error: String((error as Error)?.stack ?? error) })
    }
    // The retries of the batch that failed count too (its results are not written).
    const stats = run.provider?.stats()
    await finish(
      db,
      jobId,
      runner,
      'failed',
      `${code}: ${message}`,
      stats && {
        retries: (job.retry_count ?? 0) + stats.retries,
        requests: job.provider_requests + stats.requests,
      },
    )
  } finally {
    lease.end()
    await invalidate(deps, ['code2asin', 'catalog'])
  }
}

async function invalidate(deps: EngineDeps, domains: ('code2asin' | 'catalog')[]) {
  try {
    await deps.invalidate?.(domains)
  } catch (error) {
    deps.logger.warn('gateway cache not invalidated', { error: String(error) })
  }
}

/** The job's products, in order, taken once (the first run) into code2asin_job_products. */
async function ensureWorklist(deps: EngineDeps, job: JobRow, runner: string): Promise<number> {
  const { db } = deps
  const existing = await db
    .selectFrom('code2asin_job_products')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('job_id', '=', job.id)
    .executeTakeFirstOrThrow()
  if (Number(existing.n) > 0) return Number(existing.n)
  let ids: string[] = []
  const config = job.search_config as { productIds?: unknown } | null
  if (job.target === 'products' || Array.isArray(config?.productIds)) {
    ids = Array.isArray(config?.productIds) ? config.productIds.map(String) : []
  } else {
    const seen = new Set<string>()
    await forEachProductId(deps.peers, job.supplier_code, async (page) => {
      let keep = page.filter((id) => !seen.has(id))
      if (job.target === 'unverified' && keep.length > 0) {
        const verified = await db
          .selectFrom('code2asin_results')
          .select('product_id')
          .distinct()
          .where('is_verified', '=', true)
          .where('product_id', '=', (eb) => eb.fn.any(eb.val(keep)))
          .execute()
        const done = new Set(verified.map((r) => r.product_id))
        keep = keep.filter((id) => !done.has(id))
      }
      for (const id of keep) seen.add(id)
      ids.push(...keep)
    })
  }
  await db.transaction().execute(async (trx) => {
    const mine = await trx
      .selectFrom('code2asin_jobs')
      .select('id')
      .where('id', '=', job.id)
      .where('runner_id', '=', runner)
      .where('status', '=', 'running')
      .forUpdate()
      .executeTakeFirst()
    if (!mine) throw new LostJob()
    for (let i = 0; i < ids.length; i += 5_000) {
      const chunk = ids.slice(i, i + 5_000)
      await sql`
        INSERT INTO code2asin_job_products (job_id, position, product_id)
        SELECT ${job.id}::uuid, t.ord::int + ${i} - 1, t.id
        FROM unnest(${chunk}::uuid[]) WITH ORDINALITY AS t(id, ord)`.execute(trx)
    }
    await trx
      .updateTable('code2asin_jobs')
      .set({ total_codes: ids.length, checkpoint: 0 })
      .where('id', '=', job.id)
      .execute()
  })
  return ids.length
}

const spApiOptions = (deps: EngineDeps, job: JobRow) => ({
  maxRetries: job.max_retries ?? 5,
  allowPrivate: deps.settings.allowPrivate,
  retryBaseMs: deps.retryBaseMs,
})

async function openProvider(deps: EngineDeps, job: JobRow): Promise<CatalogProvider> {
  const config = job.provider_config as ProviderConfig | null
  if (config?.kind === 'lookup_table') {
    let text: string
    let fileName: string
    try {
      const upload = await openUpload(deps.storage, config.uploadId, SERVICE_OWNER)
      const chunks: Buffer[] = []
      for await (const chunk of await upload.stream()) chunks.push(Buffer.from(chunk))
      text = Buffer.concat(chunks).toString('utf8')
      fileName = upload.info.filename
    } catch (error) {
      if (error instanceof UploadNotFoundError) {
        throw new JobFailure('LOOKUP_TABLE_INVALID', `the lookup table's upload ${config.uploadId} is gone`)
      }
      throw error
    }
    return new LookupTableProvider(parseLookupTable(text, fileName))
  }
  if (config?.kind === 'sp_api_setting') {
    // The stored account, read now: a secret rotated since the job was created is the one used.
    let account: SpApiAccount
    try {
      account = await readSpApiAccount(deps.peers)
    } catch (error) {
      if (error instanceof AccountProblem) throw new JobFailure('PROVIDER_CONFIG', error.message)
      throw error
    }
    const { setting: _setting, kind: _kind, ...tuning } = config
    return new SpApiProvider(
      {
        kind: 'sp_api',
        ...tuning,
        endpoint: account.endpoint,
        tokenEndpoint: account.tokenEndpoint,
        clientId: account.clientId,
        clientSecret: account.clientSecret,
        refreshToken: account.refreshToken,
      },
      spApiOptions(deps, job),
    )
  }
  if (config?.kind === 'sp_api') return new SpApiProvider(config, spApiOptions(deps, job))
  throw new JobFailure('PROVIDER_CONFIG', 'the job has no catalogue provider')
}

/** What Amazon shows of the item, kept with the result (amazon_data). */
function amazonData(item: CatalogItem) {
  return {
    asin: item.asin,
    title: item.title,
    brand: item.brand,
    manufacturer: item.manufacturer,
    modelNumber: item.modelNumber,
    images: item.images,
    salesRank: item.salesRank,
    marketplaceId: item.marketplaceId,
    identifiers: item.identifiers.slice(0, 20),
  }
}

const ASIN_FORMAT = /^(B0[A-Z0-9]{8}|\d{9}[\dX])$/

function resultRow(p: MatchProduct, scored: Scored | null, verifyAt: number | null): Row {
  const base = {
    product_id: p.id,
    product_ean: p.ean,
    product_title: p.title?.slice(0, 500) ?? null,
    amazon_price: null,
    amazon_currency: null,
    amazon_rating: null,
    amazon_review_count: null,
  }
  if (!scored) {
    return {
      ...base,
      asin: null,
      amazon_title: null,
      match_confidence: null,
      match_type: null,
      amazon_category: null,
      amazon_data: null,
      amazon_images: null,
    }
  }
  const { item } = scored
  return {
    ...base,
    asin: item.asin,
    amazon_title: item.title?.slice(0, 2_000) ?? null,
    match_confidence: scored.confidence.toFixed(2),
    match_type: scored.matchType,
    amazon_category: item.category?.slice(0, 255) ?? null,
    amazon_data: amazonData(item),
    amazon_images: item.images,
    is_verified: verifyAt !== null && scored.confidence >= verifyAt,
  }
}

const failedRow = (
  p: { id: string; ean?: string | null; title?: string | null },
  code: string,
  message: string,
): Row => ({
  product_id: p.id,
  product_ean: p.ean ?? null,
  product_title: p.title?.slice(0, 500) ?? null,
  asin: null,
  amazon_title: null,
  match_confidence: null,
  match_type: null,
  amazon_price: null,
  amazon_currency: null,
  amazon_category: null,
  amazon_rating: null,
  amazon_review_count: null,
  amazon_data: null,
  amazon_images: null,
  error_code: code,
  error_message: message.slice(0, 1_000),
})

/** Asks the provider about one batch of products and scores the answers: one result row per product. */
async function matchBatch(
  deps: EngineDeps,
  provider: CatalogProvider,
  products: readonly MatchProduct[],
  o: { minConfidence: number; verifyAt: number | null },
): Promise<Row[]> {
  const results = new Map<string, Row>()
  let pending = [...products]
  for (const [type, field] of IDENTIFIER_FIELDS) {
    const asking = pending.filter((p) => p[field])
    if (asking.length === 0) continue
    const chunks: MatchProduct[][] = []
    for (let i = 0; i < asking.length; i += provider.maxIdentifiers)
      chunks.push(asking.slice(i, i + provider.maxIdentifiers))
    await mapLimit(chunks, deps.concurrency, async (chunk) => {
      const codes = [...new Set(chunk.map((p) => String(p[field])))]
      let items: CatalogItem[]
      try {
        items = await provider.searchByIdentifiers(type, codes)
      } catch (error) {
        if (!(error instanceof ProviderError) || error.fatal) throw error
        for (const p of chunk) results.set(p.id, failedRow(p, error.code, error.message))
        return
      }
      for (const p of chunk) {
        const best = bestExact(p, items)
        if (best && ASIN_FORMAT.test(best.item.asin)) results.set(p.id, resultRow(p, best, o.verifyAt))
      }
    })
    pending = pending.filter((p) => !results.has(p.id))
  }
  if (provider.keywordSearch) {
    await mapLimit(pending, deps.concurrency, async (p) => {
      const keywords = keywordsOf(p)
      if (keywords.length === 0) return
      try {
        const items = await provider.searchByKeywords(keywords, p.brand)
        const best = bestFuzzy(p, items, o.minConfidence)
        if (best && ASIN_FORMAT.test(best.item.asin)) results.set(p.id, resultRow(p, best, o.verifyAt))
      } catch (error) {
        if (!(error instanceof ProviderError) || error.fatal) throw error
        results.set(p.id, failedRow(p, error.code, error.message))
      }
    })
  }
  return products.map((p) => results.get(p.id) ?? resultRow(p, null, null))
}

/** What a run has opened, for its failure path to read. */
interface Run {
  provider: CatalogProvider | null
}

async function execute(deps: EngineDeps, job: JobRow, runner: string, stopped: () => boolean, run: Run) {
  const { db } = deps
  const total = await ensureWorklist(deps, job, runner)
  const provider = await openProvider(deps, job)
  run.provider = provider
  const search = (job.search_config ?? {}) as { min_confidence?: unknown }
  const minConfidence =
    typeof search.min_confidence === 'number' && search.min_confidence >= 0 && search.min_confidence <= 100
      ? search.min_confidence
      : DEFAULT_MIN_CONFIDENCE
  const verifyAt = job.auto_verify_confidence === null ? null : Number(job.auto_verify_confidence)
  const batchSize = Math.max(1, job.batch_size ?? 100)
  const baseRetries = job.retry_count ?? 0
  const baseRequests = job.provider_requests
  let position = job.checkpoint
  deps.logger.info('code2asin job claimed', { jobId: job.id, checkpoint: position, total })

  while (position < total) {
    if (stopped()) throw new LostJob()
    const slice = await db
      .selectFrom('code2asin_job_products')
      .select(['position', 'product_id'])
      .where('job_id', '=', job.id)
      .where('position', '>=', position)
      .orderBy('position')
      .limit(batchSize)
      .execute()
    if (slice.length === 0) break
    const next = slice[slice.length - 1]!.position + 1
    // Products already answered by this job (an earlier run, a resume) are not asked again.
    const answered = new Set(
      (
        await db
          .selectFrom('code2asin_results')
          .select('product_id')
          .where('job_id', '=', job.id)
          .where('error_code', 'is', null)
          .where('product_id', '=', (eb) => eb.fn.any(eb.val(slice.map((s) => s.product_id))))
          .execute()
      ).map((r) => r.product_id),
    )
    const asking = [...new Set(slice.map((s) => s.product_id).filter((id) => !answered.has(id)))]
    let rows: Row[] = []
    if (asking.length > 0) {
      const details = await productDetails(deps.peers, asking)
      const known = asking.flatMap((id) => (details.has(id) ? [details.get(id)!] : []))
      rows = await matchBatch(deps, provider, known, { minConfidence, verifyAt })
      for (const id of asking) {
        if (!details.has(id))
          rows.push(failedRow({ id }, 'PRODUCT_NOT_FOUND', 'the catalog no longer has this product'))
      }
    }
    const verified = rows.filter((r) => r.is_verified && r.asin)
    const catalogWrites = verified.length > 0 ? await autoVerifiable(db, verified) : []
    // The ASINs reach the catalog before the batch commits: a batch retried after a crash writes them again, harmlessly.
    if (catalogWrites.length > 0) await writeCatalogAsins(deps.peers, catalogWrites)
    const writable = new Set(catalogWrites.map((w) => w.productId))
    for (const r of rows) if (r.is_verified && !writable.has(r.product_id)) r.is_verified = false
    const stats = provider.stats()
    const committed = await db.transaction().execute(async (trx) => {
      const mine = await trx
        .selectFrom('code2asin_jobs')
        .select('id')
        .where('id', '=', job.id)
        .where('runner_id', '=', runner)
        .where('status', '=', 'running')
        .forUpdate()
        .executeTakeFirst()
      if (!mine) return false
      if (rows.length > 0) {
        // A failed lookup asked again is replaced by its new answer.
        await trx
          .deleteFrom('code2asin_results')
          .where('job_id', '=', job.id)
          .where('error_code', 'is not', null)
          .where('product_id', '=', (eb) => eb.fn.any(eb.val(rows.map((r) => r.product_id))))
          .execute()
        await insertNewResults(trx, job.id, rows)
      }
      await trx
        .updateTable('code2asin_jobs')
        .set({
          checkpoint: next,
          heartbeat_at: sql`now()`,
          retry_count: baseRetries + stats.retries,
          provider_requests: baseRequests + stats.requests,
        })
        .where('id', '=', job.id)
        .execute()
      await refreshJobProgress(trx, job.id)
      return true
    })
    if (!committed) throw new LostJob()
    position = next
    await invalidate(deps, catalogWrites.length > 0 ? ['code2asin', 'catalog'] : ['code2asin'])
  }
  if (!(await finish(db, job.id, runner, 'completed'))) throw new LostJob()
  deps.logger.info('code2asin job completed', { jobId: job.id, total })
}

/**
 * The auto-verified matches that may reach the catalog: a product some earlier result has verified (a person's
 * choice, or a rule's) keeps it.
 */
async function autoVerifiable(db: Kysely<DB>, rows: readonly Row[]) {
  const taken = new Set(
    (
      await db
        .selectFrom('code2asin_results')
        .select('product_id')
        .where('is_verified', '=', true)
        .where('product_id', '=', (eb) => eb.fn.any(eb.val(rows.map((r) => r.product_id))))
        .execute()
    ).map((r) => r.product_id),
  )
  return rows.filter((r) => !taken.has(r.product_id)).map((r) => ({ productId: r.product_id, asin: r.asin }))
}
