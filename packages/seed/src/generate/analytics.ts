import type { DB } from '@pm/db/types/analytics'
import type { Insertable } from 'kysely'
import { DAY_MS, fixed, isoDate, type Random } from '../random'
import { anchorId, type Ctx, HOUR_MS, type ProductInfo, type SupplierInfo, type UserInfo } from './context'
import type { ExportJobInfo } from './exports'
import type { ImportJobInfo } from './imports'

export type AnalyticsRows = { [T in Exclude<keyof DB, 'audit_outbox'>]: Insertable<DB[T]>[] }

export const METRIC_DAYS = 30
const IMPORT_METRIC_DAYS = 60
const METRIC_PRODUCTS = 200

/** USD per million tokens (input, output), as the providers list them. */
const MODELS = [
  ['openai', 'gpt-4o-mini', 0.15, 0.6],
  ['openai', 'gpt-4o', 2.5, 10],
  ['anthropic', 'claude-3-5-haiku-latest', 0.8, 4],
  ['anthropic', 'claude-sonnet-4-0', 3, 15],
  ['mistral', 'mistral-small-latest', 0.2, 0.6],
] as const

const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
]

export function ip(rng: Random): string {
  return rng.chance(0.8)
    ? `192.168.${rng.int(1, 20)}.${rng.int(2, 254)}`
    : `2a01:cb00:${rng.hex(4)}:${rng.hex(4)}::${rng.int(1, 255)}`
}

/** The UTC day `days` before now, at midnight. */
export function dayStart(ctx: Ctx, days: number): Date {
  const d = new Date(ctx.now.getTime() - days * DAY_MS)
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
}

export interface ActivityInput {
  products: ProductInfo[]
  users: UserInfo[]
  imports: (ImportJobInfo & { createdBy: string | null })[]
  exports: ExportJobInfo[]
}

/**
 * Reports, audit logs (logins, product edits, every import and export job, module switches) and AI
 * usage logs, each list in time order.
 */
export function analyticsActivity(
  ctx: Ctx,
  rng: Random,
  ids: Random,
  input: ActivityInput,
): Pick<AnalyticsRows, 'reports' | 'audit_logs' | 'ai_usage_logs'> {
  const staff = input.users.filter((u) => u.role !== 'partner' && u.role !== 'viewer')
  const reportPlans = [
    ['Complétude du catalogue', 'catalog_completeness', 'completed', 'xlsx', 2],
    ['Synthèse des imports – mois dernier', 'import_summary', 'completed', 'pdf', 20],
    ['Performance fournisseurs T3', 'supplier_performance', 'completed', 'xlsx', 45],
    ['Historique des prix – 90 jours', 'price_changes', 'completed', 'csv', 9],
    ['Valorisation du stock', 'stock_valuation', 'failed', 'xlsx', 5],
    ['Synthèse des imports – semaine', 'import_summary', 'running', 'pdf', 0.05],
    ['Export catalogue partenaires', 'catalog_export', 'pending', 'csv', 0.01],
    ['Couverture ASIN', 'asin_coverage', 'cancelled', 'json', 30],
  ] as const
  const reports: Insertable<DB['reports']>[] = reportPlans.map(([name, type, status, format, ago], i) => {
    const createdAt = ctx.daysAgo(ago)
    const startedAt = status === 'pending' ? null : ctx.after(createdAt, rng.int(5, 60) * 1000)
    const completedAt =
      status === 'completed' || status === 'failed' ? ctx.after(startedAt!, rng.int(10, 600) * 1000) : null
    const id = i === 0 ? anchorId('analytics') : ids.uuid()
    return {
      // The first report anchors the analytics database (same id for every seed).
      id,
      name,
      report_type: type,
      parameters: {
        from: isoDate(ctx.daysAgo(ago + 30)),
        to: isoDate(createdAt),
        locale: 'fr-FR',
        include_inactive: rng.chance(0.3),
      },
      status,
      format,
      bucket_name: status === 'completed' ? 'pm-reports' : null,
      object_key: status === 'completed' ? `reports/${isoDate(createdAt)}/${id}.${format}` : null,
      file_size_bytes: status === 'completed' ? rng.int(20_000, 4_000_000) : null,
      row_count: status === 'completed' ? rng.int(50, ctx.products + 50) : null,
      error_message:
        status === 'failed' ? 'Délai de requête dépassé (statement_timeout) sur db_catalog' : null,
      created_by: rng.pick(staff).id,
      started_at: startedAt,
      completed_at: completedAt,
      expires_at: status === 'completed' ? new Date(createdAt.getTime() + 30 * DAY_MS) : null,
      created_at: createdAt,
      updated_at: completedAt ?? startedAt ?? createdAt,
    }
  })

  const audit: Insertable<DB['audit_logs']>[] = []
  for (const user of input.users.filter((u) => u.role !== 'viewer')) {
    for (let d = METRIC_DAYS - 1; d >= 0; d -= rng.int(1, 3)) {
      const agent = rng.pick(AGENTS)
      audit.push({
        user_id: user.id,
        action: 'login',
        entity_type: 'user',
        entity_id: user.id,
        changes: { method: user.role === 'partner' ? 'api_key' : 'password' },
        ip_address: ip(rng),
        user_agent: user.role === 'partner' ? 'boutique-sync/2.3 (+https://boutique-demo.example)' : agent,
        created_at: new Date(
          Math.min(ctx.now.getTime(), dayStart(ctx, d).getTime() + rng.int(7 * 60, 19 * 60) * 60_000),
        ),
      })
    }
  }
  const editors = staff.filter((u) => ['admin', 'manager', 'editor'].includes(u.role))
  for (const product of rng.sample(input.products, Math.min(input.products.length, 60))) {
    const oldCents = Math.round(product.retailCents * (0.9 + 0.2 * rng.float()))
    audit.push({
      user_id: rng.pick(editors).id,
      action: 'update',
      entity_type: 'product',
      entity_id: product.id,
      changes: rng.chance(0.6)
        ? { price: { old: Number(fixed(oldCents, 2)), new: Number(fixed(product.retailCents, 2)) } }
        : { title: { old: product.title.replace(/ \S+$/, ''), new: product.title } },
      ip_address: ip(rng),
      user_agent: rng.pick(AGENTS),
      created_at: ctx.daysAgo(rng.float() * METRIC_DAYS),
    })
  }
  for (const job of input.imports) {
    audit.push({
      user_id: job.createdBy,
      action: 'create',
      entity_type: 'import_job',
      entity_id: job.id,
      changes: { supplier_code: job.supplierCode, trigger: job.createdBy ? 'manual' : 'schedule' },
      ip_address: job.createdBy ? ip(rng) : null,
      user_agent: job.createdBy ? rng.pick(AGENTS) : null,
      created_at: job.createdAt,
    })
  }
  for (const job of input.exports) {
    audit.push({
      user_id: rng.pick(editors).id,
      action: 'export',
      entity_type: 'export_job',
      entity_id: job.id,
      changes: { platform: job.platform, items: job.items },
      ip_address: ip(rng),
      user_agent: rng.pick(AGENTS),
      created_at: job.at,
    })
  }
  const admin = input.users[0]!
  for (const [module, enabled] of [
    ['price_monitor', false],
    ['price_monitor', true],
    ['odoo_sync', true],
  ] as const) {
    audit.push({
      user_id: admin.id,
      action: 'update',
      entity_type: 'app_settings',
      entity_id: `module.${module}`,
      changes: { value: { old: { enabled: !enabled }, new: { enabled } } },
      ip_address: ip(rng),
      user_agent: AGENTS[0]!,
      created_at: ctx.daysAgo(rng.float() * METRIC_DAYS),
    })
  }
  // Logs are written in time order (the BRIN index on created_at relies on it).
  audit.sort((a, b) => (a.created_at as Date).getTime() - (b.created_at as Date).getTime())

  const aiUsage: Insertable<DB['ai_usage_logs']>[] = []
  for (let n = 0; n < 250; n++) {
    const [provider, model, inPrice, outPrice] = rng.pick(MODELS)
    const operation = rng.weighted([
      ['enrichment', 40],
      ['translation', 25],
      ['categorization', 20],
      ['description_generation', 15],
    ] as const)
    const success = rng.chance(0.95)
    const prompt = rng.int(300, 4000)
    const completion = success ? rng.int(50, 1500) : 0
    const cached = rng.chance(0.1) ? rng.int(100, 1000) : 0
    // Cost in millionths of a dollar, so NUMERIC(12, 6) holds it exactly.
    const micro = Math.round(prompt * inPrice + completion * outPrice)
    aiUsage.push({
      user_id: rng.chance(0.7) ? rng.pick(staff).id : null,
      provider,
      model,
      operation,
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion + cached,
      cost: fixed(micro, 6),
      currency: 'USD',
      latency_ms: rng.int(300, success ? 9000 : 30_000),
      success,
      error_message: success
        ? null
        : rng.pick([
            'Rate limit exceeded (429)',
            'Request timed out after 30000 ms',
            'Upstream overloaded (529)',
          ]),
      created_at: ctx.daysAgo(rng.float() * METRIC_DAYS),
    })
  }
  aiUsage.sort((a, b) => (a.created_at as Date).getTime() - (b.created_at as Date).getTime())

  return { reports, audit_logs: audit, ai_usage_logs: aiUsage }
}

/**
 * Per supplier and day over the last `supplierDays` days, and per day over the last `importDays`,
 * consistent with the import jobs and the products' creation dates.
 */
export function dailyMetrics(
  ctx: Ctx,
  ids: Random,
  input: { products: ProductInfo[]; suppliers: SupplierInfo[]; imports: ImportJobInfo[] },
  days: { supplierDays: number; importDays: number },
): Pick<AnalyticsRows, 'supplier_metrics' | 'import_metrics'> {
  const importsByDay = new Map<string, ImportJobInfo[]>()
  for (const job of input.imports) {
    const key = isoDate(job.createdAt)
    const list = importsByDay.get(key)
    if (list) list.push(job)
    else importsByDay.set(key, [job])
  }
  const finished = (jobs: ImportJobInfo[]) => jobs.filter((j) => j.durationSeconds !== null)
  const avgDuration = (jobs: ImportJobInfo[]) => {
    const done = finished(jobs)
    return done.length === 0
      ? null
      : Math.round(done.reduce((n, j) => n + j.durationSeconds!, 0) / done.length)
  }

  const supplierMetrics: Insertable<DB['supplier_metrics']>[] = []
  const createdBySupplier = new Map<string, number[]>()
  for (const p of input.products) {
    const list = createdBySupplier.get(p.supplier.id)
    if (list) list.push(p.createdAt.getTime())
    else createdBySupplier.set(p.supplier.id, [p.createdAt.getTime()])
  }
  for (let d = days.supplierDays - 1; d >= 0; d--) {
    const day = dayStart(ctx, d)
    const dayEnd = day.getTime() + DAY_MS
    const jobs = importsByDay.get(isoDate(day)) ?? []
    for (const supplier of input.suppliers) {
      const mine = jobs.filter((j) => j.supplierCode === supplier.code)
      const done = finished(mine)
      supplierMetrics.push({
        id: ids.uuid(),
        supplier_id: supplier.id,
        date: isoDate(day),
        products_count: (createdBySupplier.get(supplier.id) ?? []).filter((t) => t < dayEnd).length,
        imports_count: mine.length,
        success_rate:
          done.length === 0
            ? null
            : fixed(
                Math.round((done.filter((j) => j.status === 'completed').length * 10_000) / done.length),
                2,
              ),
        avg_processing_time: avgDuration(mine),
      })
    }
  }

  const importMetrics: Insertable<DB['import_metrics']>[] = []
  for (let d = days.importDays; d >= 0; d--) {
    const day = dayStart(ctx, d)
    const jobs = importsByDay.get(isoDate(day)) ?? []
    importMetrics.push({
      id: ids.uuid(),
      date: isoDate(day),
      total_imports: jobs.length,
      successful_imports: jobs.filter((j) => j.status === 'completed').length,
      failed_imports: jobs.filter((j) => j.status === 'failed').length,
      total_products_processed: jobs.reduce((n, j) => n + j.processed, 0),
      avg_processing_time: avgDuration(jobs),
    })
  }

  return { supplier_metrics: supplierMetrics, import_metrics: importMetrics }
}

/**
 * Daily metrics (200 products and every supplier over the last 30 days, imports over the last 60,
 * consistent with the generated import jobs), reports, audit logs and AI usage logs.
 */
export function generateAnalytics(
  ctx: Ctx,
  input: {
    products: ProductInfo[]
    suppliers: SupplierInfo[]
    users: UserInfo[]
    imports: (ImportJobInfo & { createdBy: string | null })[]
    exports: ExportJobInfo[]
  },
): AnalyticsRows {
  const rng = ctx.rng('analytics')
  const ids = ctx.rng('analytics.ids')
  const metricIds = ctx.rng('analytics.product_metrics.id')

  // Product metrics: mostly established active products, topped up with others for small catalogs.
  const cutoff = dayStart(ctx, METRIC_DAYS - 1).getTime()
  const established = input.products.filter((p) => p.isActive && p.createdAt.getTime() < cutoff)
  const chosen = rng.sample(established, METRIC_PRODUCTS)
  if (chosen.length < METRIC_PRODUCTS) {
    const taken = new Set(chosen.map((p) => p.id))
    chosen.push(...input.products.filter((p) => !taken.has(p.id)).slice(0, METRIC_PRODUCTS - chosen.length))
  }
  const profiles = chosen.map((p) => ({
    product: p,
    views: rng.int(5, 400),
    conversion: 0.005 + 0.05 * rng.float(),
  }))
  const productMetrics: Insertable<DB['product_metrics']>[] = []
  for (let d = METRIC_DAYS - 1; d >= 0; d--) {
    const day = dayStart(ctx, d)
    const weekend = day.getUTCDay() === 0 || day.getUTCDay() === 6
    for (const { product, views: base, conversion } of profiles) {
      const views = Math.round(base * (weekend ? 1.3 : 1) * (0.6 + 0.8 * rng.float()))
      const sales = Math.min(views, Math.round(views * conversion * (0.5 + rng.float())))
      productMetrics.push({
        id: metricIds.uuid(),
        product_id: product.id,
        date: isoDate(day),
        view_count: views,
        sales_count: sales,
        conversion_rate: views === 0 ? null : fixed(Math.round((sales * 10_000) / views), 4),
        revenue: fixed(sales * product.retailCents, 2),
        // Aggregated by the nightly job at 02:00, or a few minutes ago for today's running figures (and for
        // yesterday's before 02:00: never after now).
        created_at: d === 0 ? ctx.now : ctx.after(new Date(day.getTime() + DAY_MS), 2 * HOUR_MS),
      })
    }
  }

  const daily = dailyMetrics(ctx, ids, input, { supplierDays: METRIC_DAYS, importDays: IMPORT_METRIC_DAYS })
  const activity = analyticsActivity(ctx, rng, ids, input)

  return {
    product_metrics: productMetrics,
    ...daily,
    ...activity,
    // Written by the analytics engine itself (import job ends, recomputations), not seeded.
    import_job_facts: [],
    supplier_import_metrics: [],
    metric_runs: [],
    catalog_metrics: [],
  }
}
