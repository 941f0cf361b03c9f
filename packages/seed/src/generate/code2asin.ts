import type { DB } from '@pm/db/types/code2asin'
import type { Insertable } from 'kysely'
import { DEMO_ASIN_SUPPLIER } from '../fixtures'
import { fixed, type Random } from '../random'
import { anchorId, type Ctx, HOUR_MS, MINUTE_MS, type ProductInfo } from './context'

export type Code2AsinRows = { [T in Exclude<keyof DB, 'audit_outbox'>]: Insertable<DB[T]>[] }

interface JobPlan {
  name: string
  status: 'completed' | 'failed' | 'running' | 'pending'
  supplierCode: string | null
  daysAgo: number
  /** Relative share of the matched products this job processed. */
  weight: number
}

const JOBS: JobPlan[] = [
  {
    name: 'Rapprochement catalogue complet',
    status: 'completed',
    supplierCode: null,
    daysAgo: 120,
    weight: 40,
  },
  { name: 'Code2ASIN – Distrilux', status: 'completed', supplierCode: 'DISTRILUX', daysAgo: 75, weight: 0 },
  { name: 'Code2ASIN – Médiatech', status: 'completed', supplierCode: 'MEDIATECH', daysAgo: 40, weight: 0 },
  { name: 'Nouveautés du mois', status: 'completed', supplierCode: null, daysAgo: 12, weight: 25 },
  {
    name: 'Code2ASIN – Benelux Trade',
    status: 'failed',
    supplierCode: 'BENELUX_TRADE',
    daysAgo: 6,
    weight: 0,
  },
  { name: 'Mise à jour hebdomadaire', status: 'running', supplierCode: null, daysAgo: 0.2, weight: 10 },
  {
    name: 'Code2ASIN – Casa Ménager',
    status: 'pending',
    supplierCode: 'CASA_MENAGER',
    daysAgo: 0.05,
    weight: 0,
  },
]

/** An Amazon ASIN as the marketplace writes them (B0 and eight alphanumerics). */
export function asin(rng: Random): string {
  return `B0${rng.alnum(8)}`
}

export function matchType(confidence: number | null): string | null {
  if (confidence === null) return null
  if (confidence >= 9500) return 'exact'
  if (confidence >= 7500) return 'partial'
  return 'fuzzy'
}

export interface AsinResultInput {
  id: string
  jobId: string
  productId: string
  ean: string
  title: string
  brand: string
  category: string
  retailCents: number
  /** Match confidence in hundredths of a percent (NULL: unscored). */
  confidence: number | null
  matched: boolean
  verified: boolean
  processedAt: Date
  /** The ASIN found, when already decided; drawn here otherwise. */
  asin?: string
}

/** One candidate of an EAN → ASIN lookup, with what Amazon shows for it when it matched. */
export function asinResultRow(rng: Random, input: AsinResultInput): Insertable<DB['code2asin_results']> {
  const { matched, confidence, brand, title, ean, retailCents } = input
  const code = matched ? (input.asin ?? asin(rng)) : null
  return {
    id: input.id,
    job_id: input.jobId,
    product_id: input.productId,
    product_ean: ean,
    product_title: title,
    asin: code,
    amazon_title: matched
      ? `${brand.toUpperCase()} ${title.slice(brand.length + 1)}${rng.chance(0.4) ? ' - Version française' : ''}`
      : null,
    match_confidence: confidence === null ? null : fixed(confidence, 2),
    match_type: matched ? (confidence === null ? 'manual' : matchType(confidence)) : null,
    amazon_data: matched
      ? { brand, ean, marketplace: 'amazon.fr', seller_count: rng.int(1, 25), prime: rng.chance(0.7) }
      : null,
    amazon_images: matched
      ? [
          `https://m.media-amazon.com/images/I/${rng.alnum(11)}.jpg`,
          `https://m.media-amazon.com/images/I/${rng.alnum(11)}.jpg`,
        ]
      : null,
    amazon_price: matched ? fixed(Math.round(retailCents * (0.85 + 0.3 * rng.float())), 2) : null,
    amazon_currency: 'EUR',
    amazon_category: matched ? `High-Tech › ${input.category}` : null,
    amazon_rating: matched ? fixed(rng.int(300, 490), 2) : null,
    amazon_review_count: matched ? rng.int(0, 12_000) : null,
    processed_at: input.processedAt,
    is_verified: input.verified,
  }
}

/**
 * ASIN matching jobs and results for about 60% of products (none of DEMO_ASIN_SUPPLIER's, which `pnpm start`
 * matches with the engine): several candidates with different
 * confidences for some, unscored (NULL) ones, verified ones, and about 2% of results for product ids
 * the catalog does not have. Marks products with a verified match with that ASIN (ProductInfo.asin).
 */
export function generateCode2Asin(ctx: Ctx, products: ProductInfo[], orphanIds: string[]): Code2AsinRows {
  const rng = ctx.rng('code2asin')
  const ids = ctx.rng('code2asin.code2asin_jobs.id')
  const resultIds = ctx.rng('code2asin.code2asin_results.id')

  const jobs = JOBS.map((plan, i) => {
    const createdAt = ctx.daysAgo(plan.daysAgo)
    const startedAt = plan.status === 'pending' ? null : ctx.after(createdAt, rng.int(1, 10) * MINUTE_MS)
    return {
      plan,
      // The first job anchors the code2asin database (same id for every seed).
      id: i === 0 ? anchorId('code2asin') : ids.uuid(),
      createdAt,
      startedAt,
      results: [] as Insertable<DB['code2asin_results']>[],
      products: new Set<string>(),
    }
  })
  const bySupplier = new Map(
    jobs
      .filter((j) => j.plan.supplierCode && j.plan.status !== 'pending')
      .map((j) => [j.plan.supplierCode!, j]),
  )
  const shared = jobs.filter((j) => j.plan.weight > 0)
  const finishedAt = (startedAt: Date, results: Insertable<DB['code2asin_results']>[]) => {
    const last = results.reduce(
      (max, r) => Math.max(max, (r.processed_at as Date).getTime()),
      startedAt.getTime(),
    )
    return new Date(Math.min(ctx.now.getTime(), last + 2 * MINUTE_MS))
  }

  const addResult = (
    job: (typeof jobs)[number],
    productId: string,
    ean: string,
    title: string,
    brand: string,
    category: string,
    retailCents: number,
    confidence: number | null,
    matched: boolean,
    verified: boolean,
  ) => {
    const end =
      job.plan.status === 'running' || job.plan.status === 'failed'
        ? ctx.now
        : ctx.after(job.startedAt!, 6 * HOUR_MS)
    const processedAt = rng.dateBetween(job.startedAt!, end)
    const row = asinResultRow(rng, {
      id: resultIds.uuid(),
      jobId: job.id,
      productId,
      ean,
      title,
      brand,
      category,
      retailCents,
      confidence,
      matched,
      verified,
      processedAt,
    })
    job.products.add(productId)
    job.results.push(row)
    return row.asin ?? null
  }

  for (const product of products) {
    if (!rng.chance(0.6)) continue
    // The demo supplier's matches come from the engine at start (a lookup table and a real job).
    if (product.supplier.code === DEMO_ASIN_SUPPLIER) continue
    // Only jobs that ran after the product existed can have matched it.
    const own = bySupplier.get(product.supplier.code)
    const eligible = shared.filter((j) => j.startedAt!.getTime() >= product.createdAt.getTime())
    if (eligible.length === 0) continue
    const job =
      own && own.startedAt!.getTime() >= product.createdAt.getTime() && rng.chance(0.7)
        ? own
        : rng.weighted(eligible.map((j) => [j, j.plan.weight] as const))
    const candidates = rng.weighted([
      [1, 65],
      [2, 25],
      [3, 10],
    ] as const)
    // Sorted best first; a tie at the top for some, so tie-breaking (verified, newest) shows.
    const scores: (number | null)[] = []
    let best = rng.int(7000, 10000)
    for (let c = 0; c < candidates; c++) {
      if (rng.chance(0.08)) scores.push(null)
      else {
        scores.push(best)
        best = c === 0 && candidates > 1 && rng.chance(0.1) ? best : Math.max(1000, best - rng.int(500, 3500))
      }
    }
    const top = scores.find((s) => s !== null) ?? null
    const verifiedIndex = top !== null && top >= 9000 && rng.chance(0.35) ? scores.indexOf(top) : -1
    scores.forEach((score, c) => {
      // Unscored candidates are mostly "no match found".
      const matched = score !== null || rng.chance(0.5)
      const verified = c === verifiedIndex
      const code = addResult(
        job,
        product.id,
        product.ean,
        product.title,
        product.brand,
        product.leaf.name,
        product.retailCents,
        score,
        matched,
        verified,
      )
      if (verified) product.asin = code
    })
  }

  // Orphans: results for products deleted from the catalog since (about 2% of all results).
  const realCount = jobs.reduce((n, j) => n + j.results.length, 0)
  const orphanCount = Math.max(1, Math.round((realCount * 0.02) / 0.98))
  for (let n = 0; n < orphanCount; n++) {
    const productId = orphanIds[n % orphanIds.length]!
    const ean = `3${rng.digits(12)}`
    addResult(
      jobs[0]!,
      productId,
      ean,
      'Produit retiré du catalogue',
      'Inconnu',
      'Divers',
      rng.int(1000, 20000),
      rng.chance(0.2) ? null : rng.int(6000, 9900),
      true,
      false,
    )
  }

  const jobRows: Insertable<DB['code2asin_jobs']>[] = jobs.map((job) => {
    const { plan, results } = job
    const processed = job.products.size
    const converted = new Set(results.filter((r) => r.asin !== null).map((r) => r.product_id)).size
    const pendingExtra =
      plan.status === 'pending'
        ? rng.int(80, 200)
        : plan.status === 'running'
          ? rng.int(40, 150)
          : plan.status === 'failed'
            ? rng.int(50, 120)
            : 0
    const total = processed + pendingExtra
    return {
      id: job.id,
      name: plan.name,
      status: plan.status,
      supplier_code: plan.supplierCode,
      total_codes: total,
      processed_codes: processed,
      successful_conversions: converted,
      failed_conversions: processed - converted,
      progress_percentage: total === 0 ? 0 : Math.floor((processed * 100) / total),
      exact_matches: results.filter((r) => r.match_type === 'exact').length,
      fuzzy_matches: results.filter((r) => r.match_type === 'partial' || r.match_type === 'fuzzy').length,
      no_matches: results.filter((r) => r.asin === null).length,
      batch_size: rng.pick([50, 100, 200]),
      retry_count: plan.status === 'failed' ? 5 : rng.int(0, 2),
      max_retries: 5,
      search_config: {
        marketplace: 'amazon.fr',
        search_by: ['ean', 'title'],
        min_confidence: 70,
        include_offers: true,
      },
      started_at: job.startedAt,
      completed_at:
        plan.status === 'completed' || plan.status === 'failed' ? finishedAt(job.startedAt!, results) : null,
      created_at: job.createdAt,
    }
  })
  // The demo jobs' results are recorded, not run by the worker: no worklist.
  return {
    code2asin_jobs: jobRows,
    code2asin_job_products: [],
    code2asin_results: jobs.flatMap((j) => j.results),
  }
}
