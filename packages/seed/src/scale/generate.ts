import type { Domain } from '@pm/db'
import type { DB as Code2AsinDB } from '@pm/db/types/code2asin'
import type { DB as ImportsDB } from '@pm/db/types/imports'
import type { Insertable } from 'kysely'
import { BRANDS, type Family, LEAVES, WAREHOUSES } from '../fixtures'
import { type DomainRows, resolveOptions } from '../generate'
import { analyticsActivity, dailyMetrics, dayStart, METRIC_DAYS } from '../generate/analytics'
import {
  brandRow,
  CategoryTree,
  pricePlan,
  priceRow,
  productRow,
  supplierRows,
  uniqueEan,
} from '../generate/catalog'
import { asin, asinResultRow } from '../generate/code2asin'
import {
  type Ctx,
  createContext,
  HOUR_MS,
  MINUTE_MS,
  type ProductInfo,
  type UserInfo,
} from '../generate/context'
import { generateCore, generateUsers } from '../generate/core'
import { EXPORT_FAILURES, type ExportJobInfo, exportPlatforms } from '../generate/exports'
import { type ImportJobInfo, importJobRows, importSetup } from '../generate/imports'
import { mediaFileRows } from '../generate/media'
import type { ProductSpecs } from '../generate/specs'
import { DAY_MS, fixed, isoDate, type Random, rankPrefix } from '../random'
import { BRAND_COUNT, brandNames, FAMILIES, SUBCATEGORIES, supplierFixtures } from './reference'

export interface ScaleOptions {
  /** Number of catalog products. */
  products: number
  /** PRNG seed (default 42): the same seed and product count give the same ids and counts. */
  seed?: number
  /** The instant the data set is relative to (default: the start of the current UTC day). */
  now?: Date
}

export interface RowSink<Row> {
  push(row: Row): void
  /** The table is complete: its COPY may finish (the loader closes every sink at the end anyway). */
  close(): void
}

/** Where a domain's rows go, table by table (the loader's COPY sinks). */
export type DomainSinks<D extends Domain> = {
  [T in keyof DomainRows<D>]-?: RowSink<DomainRows<D>[T][number]>
}

/** Writes one database's rows into its sinks, awaiting tick() now and then so the loads run meanwhile. */
export type Producer<D extends Domain> = (out: DomainSinks<D>, tick: () => Promise<void>) => Promise<void>

export interface ScalePlan {
  options: { products: number; seed: number; now: Date }
  producers: { [D in Domain]: Producer<D> }
  /** First day (YYYY-MM-01) of each month import logs may fall in: their partitions must exist. */
  logMonths: string[]
}

interface ScaleProduct {
  info: ProductInfo
  status: string
  updatedAt: Date
  axis: ProductSpecs['axis']
  /** First 32 bits of the ids of the product and of its rows in other tables (see Random.orderedUuid). */
  prefix: number
  /** ASIN lookup candidates recorded for it (0–2). */
  asinResults: number
}

const PRODUCT_SPAN_DAYS = 548
const HISTORY_DAYS = 365
/** Yield to the event loop after this many products: the seven loads progress in between. */
const TICK_EVERY = 500

function weighted<T>(rng: Random, entries: readonly (readonly [T, number])[]): T {
  return rng.weighted(entries)
}

/** Picks from a list with a long tail: the first entries are the popular ones. */
function skewed<T>(rng: Random, items: readonly T[]): T {
  const u = rng.float()
  return items[Math.floor(items.length * u * u)]!
}

function closeAll<D extends Domain>(out: DomainSinks<D>, tables: (keyof DomainSinks<D>)[]): void {
  for (const table of tables) out[table].close()
}

/** A value other producers wait for (import and export jobs feed analytics and notifications). */
class Deferred<T> {
  resolve!: (value: T) => void
  reject!: (error: unknown) => void
  readonly promise = new Promise<T>((resolve, reject) => {
    this.resolve = resolve
    this.reject = reject
  })

  constructor() {
    this.promise.catch(() => {})
  }
}

/**
 * The products as the catalog producer makes them, in creation order, for the producers of the
 * other databases (media, ASIN matches, export items, metrics). Those wait for all of them: the
 * products' COPY, the longest chain of the load (its children wait for it), goes first.
 */
class ProductFeed {
  readonly list: ScaleProduct[] = []
  private closed = false
  private failure: unknown
  private waiters: (() => void)[] = []

  add(product: ScaleProduct): void {
    this.list.push(product)
  }

  /** Wakes the followers (called at each tick rather than per product). */
  publish(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  close(): void {
    this.closed = true
    this.publish()
  }

  fail(error: unknown): void {
    this.failure = error
    this.close()
  }

  private async grow(): Promise<boolean> {
    if (this.failure !== undefined) throw this.failure
    if (this.closed) return false
    await new Promise<void>((resolve) => this.waiters.push(resolve))
    if (this.failure !== undefined) throw this.failure
    return true
  }

  /** Every product, once all are made. */
  async all(): Promise<ScaleProduct[]> {
    while (await this.grow()) {}
    return this.list
  }

  /** How many products were created before `at`, once that is known. */
  async createdBefore(at: number): Promise<number> {
    while (
      !(this.list.length > 0 && this.list.at(-1)!.info.createdAt.getTime() >= at) &&
      (await this.grow())
    ) {}
    let lo = 0
    let hi = this.list.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.list[mid]!.info.createdAt.getTime() < at) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/** Runs a producer; its failure reaches whatever waits on what it was to provide. */
function guarded<D extends Domain>(producer: Producer<D>, onError: (error: unknown) => void): Producer<D> {
  return (out, tick) =>
    producer(out, tick).catch((error: unknown) => {
      onError(error)
      throw error
    })
}

/**
 * The large data set (`pm seed`): ~50 suppliers, ~2,000 brands, ~500 categories and `products`
 * products with their prices, stock, variants, media, ASIN matches, metrics, a year of imports and
 * exports, plus the demo's users, roles, permissions and module settings. Nothing is built up front:
 * each database's producer makes its rows while its load runs, the catalog's products feeding the
 * others. Ids are PRNG-derived and grow with creation order (Random.orderedUuid), so the same seed
 * and product count give the same ids. Every cross-database reference points at a row that exists
 * (no orphans, unlike the demo set).
 */
export function planDataSet(options: ScaleOptions): ScalePlan {
  // Midnight UTC by default: the same seed and product count give the same rows all day, the same counts any day.
  const resolved = resolveOptions({
    ...options,
    now: options.now ?? new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS),
  })
  const ctx = createContext(resolved.seed, resolved.products, resolved.now)
  const n = resolved.products
  const now = ctx.now.getTime()

  const { users, info: userInfo } = generateUsers(ctx)
  const editors = userInfo.filter((u) => ['admin', 'manager', 'editor', 'importer'].includes(u.role))

  // Reference data.
  const refRng = ctx.rng('scale.catalog')
  const supplierIdRng = ctx.rng('scale.catalog.suppliers.id')
  const supplierData = supplierFixtures(ctx.rng('scale.catalog.supplier_fixtures')).map((f) =>
    supplierRows(ctx, refRng, supplierIdRng.uuid(), f),
  )
  const suppliers = supplierData.map((s) => s.info)
  const suppliersByRoot = new Map<string, typeof suppliers>()
  for (const root of new Set(LEAVES.map((l) => l.root))) {
    suppliersByRoot.set(
      root,
      suppliers.filter((s) => s.roots.includes(root)),
    )
  }

  const brandIdRng = ctx.rng('scale.catalog.brands.id')
  const invented = brandNames(ctx.rng('scale.catalog.brand_names'), BRAND_COUNT - BRANDS.length, BRANDS)
  const brands = [
    ...BRANDS.map((name) => brandRow(brandIdRng.uuid(), name, name !== 'Acer')),
    // About one invented brand in a hundred is withdrawn; its products stay.
    ...invented.map((name) => brandRow(brandIdRng.uuid(), name, !refRng.chance(0.01))),
  ]
  const brandId = new Map(brands.map((b) => [b.name, b.id!]))
  const brandsByFamily = new Map<Family, string[]>(FAMILIES.map((f) => [f, []]))
  for (const [i, name] of invented.entries()) brandsByFamily.get(FAMILIES[i % FAMILIES.length]!)!.push(name)

  const tree = new CategoryTree(ctx.rng('scale.catalog.categories.id'))
  for (const l of LEAVES) tree.add([l.root])
  for (const l of LEAVES) tree.add([l.root, l.mid])
  for (const l of LEAVES) tree.add([l.root, l.mid, l.name])
  for (const l of LEAVES)
    for (const sub of SUBCATEGORIES) tree.add([l.root, l.mid, l.name, `${l.name} – ${sub}`])
  tree.add(['Téléphonie', 'Accessoires mobiles', 'Câbles'], false)

  const warehouseRng = ctx.rng('scale.catalog.warehouses.id')
  const warehouseIds = WAREHOUSES.map(() => warehouseRng.uuid())

  const feed = new ProductFeed()
  const importJobs = new Deferred<(ImportJobInfo & { createdBy: string | null })[]>()
  const exportJobs = new Deferred<ExportJobInfo[]>()
  const recent = now - 14 * DAY_MS

  // Products in creation order over the last 18 months, each with its prices, stock and variants.
  const catalog: Producer<'catalog'> = async (out, tick) => {
    for (const s of supplierData) {
      out.suppliers.push(s.supplier)
      out.supplier_details.push(s.details)
    }
    for (const b of brands) out.brands.push(b)
    for (const c of tree.rows) out.categories.push(c)
    closeAll(out, ['suppliers', 'supplier_details', 'brands', 'categories'])
    const prodRng = ctx.rng('scale.catalog.products')
    const productIds = ctx.rng('scale.catalog.products.id')
    const rng = ctx.rng('scale.catalog.children')
    const ids = {
      prices: ctx.rng('scale.catalog.product_prices.id'),
      stocks: ctx.rng('scale.catalog.product_stocks.id'),
      variants: ctx.rng('scale.catalog.product_variants.id'),
      resolutions: ctx.rng('scale.catalog.ean_resolutions.id'),
    }
    const eans = new Set<string>()
    const spanMs = PRODUCT_SPAN_DAYS * DAY_MS
    for (let i = 0; i < n; i++) {
      const prefix = rankPrefix(i, n)
      const leaf = prodRng.pick(LEAVES)
      const sub = prodRng.pick(SUBCATEGORIES)
      const brand = prodRng.chance(0.45)
        ? prodRng.pick(leaf.brands)
        : skewed(prodRng, brandsByFamily.get(leaf.family)!)
      const supplier = prodRng.chance(0.97)
        ? prodRng.pick(suppliersByRoot.get(leaf.root)!)
        : prodRng.pick(suppliers)
      const createdAt = new Date(now - spanMs + Math.floor(((i + prodRng.float()) / n) * spanMs))
      const updatedAt = ctx.after(createdAt, Math.floor(prodRng.float() * (now - createdAt.getTime())))
      const { row, info, axis, status } = productRow(ctx, prodRng, {
        id: productIds.orderedUuid(prefix),
        index: i,
        leaf,
        brand,
        supplier,
        createdAt,
        updatedAt,
        sku: `${supplier.code.slice(0, 4)}-${String(i + 1).padStart(7, '0')}`,
        categoryId: tree.ids.get([leaf.root, leaf.mid, leaf.name, `${leaf.name} – ${sub}`].join(' > '))!,
        brandId: brandId.get(brand)!,
        eans,
      })
      const asinResults = weighted(prodRng, [
        [0, 40],
        [1, 45],
        [2, 15],
      ] as const)
      // A verified match is recorded on the product itself.
      if (asinResults > 0 && prodRng.chance(0.3)) {
        info.asin = asin(prodRng)
        row.asin = info.asin
      }
      out.products.push(row)
      feed.add({ info, status, updatedAt, axis, prefix, asinResults })
      if (i % TICK_EVERY === TICK_EVERY - 1) {
        feed.publish()
        await tick()
      }
    }
    feed.close()
    out.products.close()
    // The children in a second pass: the products' COPY can end (and theirs begin) meanwhile.
    for (const [i, product] of feed.list.entries()) {
      catalogChildren(ctx, rng, ids, product, { out, warehouseIds, editors, eans })
      if (i % TICK_EVERY === TICK_EVERY - 1) await tick()
    }
    closeAll(out, ['product_prices', 'product_stocks', 'product_variants', 'price_history', 'stock_history'])
    // Lookups that found nothing are remembered too (product_id NULL).
    for (let k = 0; k < Math.max(1, Math.round(n / 80)); k++) {
      out.ean_resolutions.push({
        id: ids.resolutions.uuid(),
        ean: uniqueEan(rng, eans),
        product_id: null,
        source: 'ean_lookup',
        confidence: null,
        resolved_data: null,
        resolved_at: ctx.daysAgo(rng.int(0, 60)),
      })
    }
  }

  const imports: Producer<'imports'> = async (out, tick) => {
    importJobs.resolve(await importRows(ctx, suppliers, userInfo, out, tick))
  }

  const exportsProducer: Producer<'exports'> = async (out, tick) => {
    exportJobs.resolve(await exportRows(ctx, feed, out, tick))
  }

  const media: Producer<'media'> = async (out, tick) => {
    const rng = ctx.rng('scale.media')
    const fileIds = ctx.rng('scale.media.media_files.id')
    const thumbIds = ctx.rng('scale.media.media_thumbnails.id')
    const hashRng = ctx.rng('scale.media.media_files.file_hash')
    for (const p of await feed.all()) {
      if (p.info.index % TICK_EVERY === TICK_EVERY - 1) await tick()
      const count = weighted(rng, [
        [0, 8],
        [1, 20],
        [2, 25],
        [3, 22],
        [4, 15],
        [5, 10],
      ] as const)
      // Most products with images have exactly one primary (usually the first); some have none.
      const primary = count > 0 && rng.chance(0.9) ? (rng.chance(0.85) ? 0 : rng.int(0, count - 1)) : -1
      const createdAt = ctx.after(p.info.createdAt, rng.int(0, 72) * HOUR_MS)
      for (let order = 0; order < count; order++) {
        const id = fileIds.orderedUuid(p.prefix + order)
        const rows = mediaFileRows(ctx, rng, {
          id,
          productId: p.info.id,
          baseName: p.info.sku.toLowerCase(),
          title: p.info.title,
          order,
          isPrimary: order === primary,
          createdAt,
          // A SHA-256 stand-in that sorts like the ids: its unique index fills at the right edge.
          fileHash: `${id.slice(0, 8)}${hashRng.hex(56)}`,
          thumbnailId: (k) => thumbIds.orderedUuid(p.prefix + order * 3 + k),
        })
        out.media_files.push(rows.file)
        for (const t of rows.thumbnails) out.media_thumbnails.push(t)
      }
    }
  }

  const code2asin: Producer<'code2asin'> = async (out, tick) => {
    const rng = ctx.rng('scale.code2asin')
    const jobs = planAsinJobs(ctx, ctx.rng('scale.code2asin.jobs'), suppliers)
    const resultIds = ctx.rng('scale.code2asin.code2asin_results.id')
    const monthly = jobs.filter((j) => j.monthly)
    const running = jobs.find((j) => j.status === 'running')!
    let next = 0
    for (const p of await feed.all()) {
      if (p.info.index % TICK_EVERY === TICK_EVERY - 1) await tick()
      if (p.asinResults === 0) continue
      // The first monthly run that started after the product existed matched it; the newest, the running one.
      const created = p.info.createdAt.getTime()
      while (next < monthly.length && monthly[next]!.startedAt.getTime() < created) next++
      const job = monthly[next] ?? running
      const end = job.status === 'running' ? ctx.now : ctx.after(job.startedAt, 6 * HOUR_MS)
      let score = p.info.asin ? rng.int(9000, 10000) : rng.int(5000, 9800)
      for (let k = 0; k < p.asinResults; k++) {
        const verified = k === 0 && p.info.asin !== null
        const confidence = !verified && rng.chance(0.08) ? null : score
        const matched = confidence !== null || rng.chance(0.5)
        const row = asinResultRow(rng, {
          id: resultIds.orderedUuid(p.prefix + k),
          jobId: job.id,
          productId: p.info.id,
          ean: p.info.ean,
          title: p.info.title,
          brand: p.info.brand,
          category: p.info.leaf.name,
          retailCents: p.info.retailCents,
          confidence,
          matched,
          verified,
          processedAt: rng.dateBetween(job.startedAt, end),
          ...(verified ? { asin: p.info.asin! } : {}),
        })
        job.count(row)
        out.code2asin_results.push(row)
        score = Math.max(1000, score - rng.int(500, 3500))
      }
    }
    out.code2asin_results.close()
    for (const job of jobs) out.code2asin_jobs.push(job.row())
  }

  const analytics: Producer<'analytics'> = async (out, tick) => {
    const rng = ctx.rng('scale.analytics')
    const ids = ctx.rng('scale.analytics.ids')
    const metricIds = ctx.rng('scale.analytics.product_metrics.id')
    // 30 days of metrics for one product in ten (fewer days for products younger than that).
    const firstDay = dayStart(ctx, METRIC_DAYS - 1).getTime()
    for (const p of await feed.all()) {
      if (p.info.index % TICK_EVERY === TICK_EVERY - 1) await tick()
      if (!rng.chance(0.1)) continue
      const base = rng.int(5, 400)
      const conversion = 0.005 + 0.05 * rng.float()
      const created = p.info.createdAt.getTime()
      const from = Math.max(firstDay, created - (created % DAY_MS))
      for (let day = from, d = 0; day <= now; day += DAY_MS, d++) {
        const date = new Date(day)
        const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6
        const views = Math.round(base * (weekend ? 1.3 : 1) * (0.6 + 0.8 * rng.float()))
        const sales = Math.min(views, Math.round(views * conversion * (0.5 + rng.float())))
        out.product_metrics.push({
          id: metricIds.orderedUuid(p.prefix + d),
          product_id: p.info.id,
          date: isoDate(date),
          view_count: views,
          sales_count: sales,
          conversion_rate: views === 0 ? null : fixed(Math.round((sales * 10_000) / views), 4),
          revenue: fixed(sales * p.info.retailCents, 2),
          // Aggregated by the nightly job at 02:00, or a few minutes ago for today's running figures (and for
          // yesterday's before 02:00: never after now).
          created_at: day + DAY_MS > now ? ctx.now : ctx.after(new Date(day + DAY_MS), 2 * HOUR_MS),
        })
      }
    }
    out.product_metrics.close()
    const products = (await feed.all()).map((p) => p.info)
    const imported = await importJobs.promise
    const daily = dailyMetrics(
      ctx,
      ids,
      { products, suppliers, imports: imported },
      { supplierDays: METRIC_DAYS, importDays: HISTORY_DAYS },
    )
    for (const row of daily.supplier_metrics) out.supplier_metrics.push(row)
    for (const row of daily.import_metrics) out.import_metrics.push(row)
    closeAll(out, ['supplier_metrics', 'import_metrics'])
    await tick()
    const activity = analyticsActivity(ctx, rng, ids, {
      products,
      users: userInfo,
      imports: imported,
      exports: await exportJobs.promise,
    })
    for (const row of activity.reports) out.reports.push(row)
    for (const row of activity.audit_logs) out.audit_logs.push(row)
    for (const row of activity.ai_usage_logs) out.ai_usage_logs.push(row)
  }

  const core: Producer<'core'> = async (out) => {
    const imported = await importJobs.promise
    const exported = await exportJobs.promise
    const rows = generateCore(ctx, users, userInfo, {
      imports: imported
        .filter((j) => j.createdAt.getTime() > recent && (j.status === 'completed' || j.status === 'failed'))
        .map((j) => ({
          id: j.id,
          supplierCode: j.supplierCode,
          status: j.status,
          at: j.createdAt,
          rows: j.processed,
          failed: j.failed,
        })),
      exports: exported.filter((j) => j.at.getTime() > recent && j.status !== 'pending'),
    })
    for (const [table, list] of Object.entries(rows) as [keyof DomainRows<'core'>, object[]][]) {
      const sink = out[table] as RowSink<object> | undefined
      if (list.length === 0) continue
      if (!sink) throw new Error(`core.${table} has rows but no place in the load order (TABLE_ORDER)`)
      for (const row of list) sink.push(row)
    }
  }

  // Logs fall between a job's creation (at most a year ago) and now.
  const logMonths: string[] = []
  const first = new Date(now - HISTORY_DAYS * DAY_MS)
  for (
    let m = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), 1));
    m.getTime() <= now;
    m = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1))
  ) {
    logMonths.push(isoDate(m))
  }

  return {
    options: resolved,
    producers: {
      core,
      catalog: guarded(catalog, (error) => feed.fail(error)),
      imports: guarded(imports, (error) => importJobs.reject(error)),
      exports: guarded(exportsProducer, (error) => exportJobs.reject(error)),
      media,
      code2asin,
      analytics,
    },
    logMonths,
  }
}

interface ChildContext {
  out: DomainSinks<'catalog'>
  warehouseIds: string[]
  editors: UserInfo[]
  eans: Set<string>
}

/** A product's prices (1–3), price changes, its stock row and movements, variants (0–3), EAN lookups. */
function catalogChildren(
  ctx: Ctx,
  rng: Random,
  ids: { prices: Random; stocks: Random; variants: Random; resolutions: Random },
  p: ScaleProduct,
  { out, warehouseIds, editors, eans }: ChildContext,
): void {
  const { info, prefix } = p
  const { id, createdAt, supplier } = info
  const now = ctx.now.getTime()
  const created = createdAt.getTime()
  const cents = info.retailCents

  const { costCents, prices } = pricePlan(ctx, rng, cents, createdAt)
  prices.forEach((price, k) => {
    out.product_prices.push(priceRow(ids.prices.orderedUuid(prefix + k), id, supplier.id, costCents, price))
  })
  // The supplier's first price, and for some products a change in the last 90 days.
  const changedAt = rng.chance(0.3) ? Math.max(created, now - rng.int(0, 90 * 24) * HOUR_MS) : null
  const initial = changedAt === null ? cents : Math.round(cents * (0.9 + 0.2 * rng.float()))
  out.price_history.push({
    product_id: id,
    supplier_id: supplier.id,
    price_type: 'retail',
    old_price: null,
    new_price: fixed(initial, 2),
    currency: 'EUR',
    source: 'import',
    reason: 'Prix initial du catalogue fournisseur',
    changed_by: null,
    changed_at: createdAt,
  })
  if (changedAt !== null) {
    const manual = rng.chance(0.35)
    out.price_history.push({
      product_id: id,
      supplier_id: supplier.id,
      price_type: 'retail',
      old_price: fixed(initial, 2),
      new_price: fixed(cents, 2),
      currency: 'EUR',
      source: manual ? 'manual' : rng.pick(['import', 'sync']),
      reason: manual
        ? rng.pick(['Alignement concurrence', 'Correction de saisie', 'Révision de marge'])
        : 'Mise à jour du tarif fournisseur',
      changed_by: manual ? rng.pick(editors).id : null,
      changed_at: new Date(changedAt),
    })
  }

  // One stock row; 0–3 movements in the last 30 days ending at the current quantity.
  const warehouse = rng.pick(warehouseIds)
  const quantity =
    p.status === 'out_of_stock'
      ? 0
      : weighted(rng, [
          [0, 5],
          [rng.int(1, 20), 30],
          [rng.int(21, 400), 65],
        ] as const)
  const moves = weighted(rng, [
    [0, 25],
    [1, 30],
    [2, 25],
    [3, 20],
  ] as const)
  const windowStart = Math.max(created, now - METRIC_DAYS * DAY_MS)
  const times = Array.from(
    { length: moves },
    () => windowStart + Math.floor(rng.float() * (now - windowStart)),
  )
  times.sort((a, b) => a - b)
  let previous = rng.int(0, 300)
  times.forEach((at, m) => {
    const value = m === moves - 1 ? quantity : rng.int(0, 300)
    const reason = rng.pick(['sale', 'sale', 'sale', 'return', 'adjustment', 'import', 'reservation'])
    out.stock_history.push({
      product_id: id,
      warehouse_id: warehouse,
      old_quantity: previous,
      new_quantity: value,
      reason,
      note: reason === 'adjustment' ? 'Inventaire tournant' : null,
      changed_by: reason === 'adjustment' ? rng.pick(editors).id : null,
      changed_at: new Date(at),
    })
    previous = value
  })
  out.product_stocks.push({
    id: ids.stocks.orderedUuid(prefix),
    product_id: id,
    warehouse_id: warehouse,
    quantity,
    reserved_quantity: quantity > 0 && rng.chance(0.3) ? rng.int(1, Math.min(quantity, 10)) : 0,
    min_stock: rng.pick([0, 5, 10]),
    last_update: new Date(times.at(-1) ?? created + Math.floor(rng.float() * (windowStart - created))),
  })

  const variants = weighted(rng, [
    [0, 55],
    [1, 10],
    [2, 20],
    [3, 15],
  ] as const)
  const values = rng.sample(p.axis.values, variants)
  values.forEach((value, position) => {
    out.product_variants.push({
      id: ids.variants.orderedUuid(prefix + position),
      product_id: id,
      sku: `${info.sku}-${String(position + 1).padStart(2, '0')}`,
      ean: uniqueEan(rng, eans),
      title: `${info.title} – ${value}`.slice(0, 500),
      attributes: { [p.axis.name]: value },
      price: p.axis.name !== 'color' ? fixed(cents + position * rng.pick([2000, 5000, 10000]), 2) : null,
      weight: null,
      position,
      is_active: rng.chance(0.92),
      created_at: createdAt,
      updated_at: p.updatedAt,
    })
  })

  if (rng.chance(0.08)) {
    rng.sample(['icecat', 'ean_lookup', 'catalog'], rng.int(1, 2)).forEach((source, k) => {
      out.ean_resolutions.push({
        id: ids.resolutions.orderedUuid(prefix + k),
        ean: info.ean,
        product_id: id,
        source,
        confidence: fixed(rng.int(8000, 10000), 2),
        resolved_data: { title: info.title, brand: info.brand, category: info.leaf.name },
        resolved_at: ctx.after(createdAt, rng.int(0, 5) * DAY_MS),
      })
    })
  }
}

/**
 * Import configurations per supplier and a year of import jobs (one per ten products, at least
 * 240), oldest first, each with its logs, errors, files and statistics.
 */
async function importRows(
  ctx: Ctx,
  suppliers: Parameters<typeof importSetup>[3],
  users: UserInfo[],
  out: DomainSinks<'imports'>,
  tick: () => Promise<void>,
): Promise<(ImportJobInfo & { createdBy: string | null })[]> {
  const rng = ctx.rng('scale.imports')
  const setup = importSetup(ctx, rng, ctx.rng('scale.imports.ids'), suppliers)
  for (const { format: _format, ...row } of setup.configs) out.import_configs.push(row)
  for (const row of setup.import_schedules) out.import_schedules.push(row)
  for (const row of setup.mapping_templates) out.mapping_templates.push(row)
  closeAll(out, ['import_configs', 'import_schedules', 'mapping_templates'])
  const jobIds = ctx.rng('scale.imports.jobs.id')
  const operators = users.filter((u) => ['admin', 'manager', 'importer', 'editor'].includes(u.role))
  const active = setup.configs.filter((c) => c.is_active)
  const count = Math.max(240, Math.round(ctx.products / 10))
  const times = Array.from({ length: count }, () => Math.floor(rng.float() * HISTORY_DAYS * DAY_MS)).sort(
    (a, b) => b - a,
  )
  let createdBy: string | null = null
  const sink = {
    ...out,
    import_jobs: {
      push(row: Insertable<ImportsDB['import_jobs']>) {
        createdBy = row.created_by ?? null
        out.import_jobs.push(row)
      },
    },
  }
  const jobs: (ImportJobInfo & { createdBy: string | null })[] = []
  for (const [j, ago] of times.entries()) {
    const config = rng.pick(active)
    const status =
      j === count - 1
        ? 'pending'
        : j === count - 2
          ? 'running'
          : rng.weighted([
              ['completed', 80],
              ['failed', 12],
              ['cancelled', 8],
            ] as const)
    const prefix = rankPrefix(j, count)
    let k = 0
    const info = importJobRows(ctx, rng, sink, {
      config,
      createdAt: new Date(ctx.now.getTime() - ago),
      status,
      operators,
      newId: () => jobIds.orderedUuid(prefix + k++),
    })
    jobs.push({ ...info, createdBy })
    if (j % 100 === 99) await tick()
  }
  return jobs
}

/**
 * The three platforms and a year of export jobs (one per 500 products, at least 20), each with
 * items for active products that existed when it ran.
 */
async function exportRows(
  ctx: Ctx,
  feed: ProductFeed,
  out: DomainSinks<'exports'>,
  tick: () => Promise<void>,
): Promise<ExportJobInfo[]> {
  const rng = ctx.rng('scale.exports')
  const platforms = exportPlatforms(ctx, rng, ctx.rng('scale.exports.ids'))
  for (const row of platforms) out.export_platforms.push(row)
  out.export_platforms.close()
  const jobIds = ctx.rng('scale.exports.export_jobs.id')
  const itemIds = ctx.rng('scale.exports.export_job_items.id')
  const jobs: ExportJobInfo[] = []
  const count = Math.max(20, Math.round(ctx.products / 500))
  // About 0.4 items per product over the year.
  const meanItems = Math.max(5, Math.round((ctx.products * 0.4) / count))
  const times = Array.from({ length: count }, () => Math.floor(rng.float() * HISTORY_DAYS * DAY_MS)).sort(
    (a, b) => b - a,
  )
  for (const [j, ago] of times.entries()) {
    const platform = platforms[rng.weighted([[0, 5] as const, [1, 3] as const, [2, 2] as const])]!
    const status =
      j === count - 1
        ? 'pending'
        : j === count - 2
          ? 'running'
          : rng.weighted([
              ['completed', 80],
              ['failed', 12],
              ['cancelled', 8],
            ] as const)
    const createdAt = new Date(ctx.now.getTime() - ago)
    const startedAt = status === 'pending' ? null : ctx.after(createdAt, rng.int(1, 5) * MINUTE_MS)
    const prefix = rankPrefix(j, count)
    const id = jobIds.orderedUuid(prefix)
    const existing = await feed.createdBefore(createdAt.getTime())
    const products = feed.list
    const wanted = status === 'pending' ? 0 : Math.min(existing, rng.int(1, 2 * meanItems))
    const chosen = new Set<number>()
    for (let tries = 0; chosen.size < wanted && tries < wanted * 4; tries++) {
      const index = rng.int(0, existing - 1)
      if (products[index]!.info.isActive) chosen.add(index)
    }
    let success = 0
    let failed = 0
    let last = startedAt?.getTime() ?? 0
    let k = 0
    for (const index of chosen) {
      const product = products[index]!.info
      const itemStatus =
        status === 'running'
          ? weighted(rng, [
              ['success', 60],
              ['pending', 35],
              ['failed', 5],
            ] as const)
          : status === 'failed'
            ? weighted(rng, [
                ['success', 30],
                ['failed', 70],
              ] as const)
            : status === 'cancelled'
              ? weighted(rng, [
                  ['success', 40],
                  ['skipped', 60],
                ] as const)
              : weighted(rng, [
                  ['success', 93],
                  ['failed', 5],
                  ['skipped', 2],
                ] as const)
      const processedAt = itemStatus === 'pending' ? null : ctx.after(startedAt!, rng.int(1, 1800) * 1000)
      if (processedAt) last = Math.max(last, processedAt.getTime())
      if (itemStatus === 'success') success++
      if (itemStatus === 'failed') failed++
      out.export_job_items.push({
        id: itemIds.orderedUuid(prefix + k++),
        job_id: id,
        product_id: product.id,
        status: itemStatus,
        error_message: itemStatus === 'failed' ? rng.pick(EXPORT_FAILURES[platform.platform_type]!) : null,
        exported_data: {
          sku: product.sku,
          ean: product.ean,
          title: product.title,
          price: fixed(product.retailCents, 2),
          currency: 'EUR',
        },
        response_data:
          itemStatus === 'success' ? { remote_id: rng.digits(13), http_status: rng.pick([200, 201]) } : null,
        processed_at: processedAt,
      })
    }
    out.export_jobs.push({
      id,
      platform_id: platform.id!,
      job_type: rng.pick(['full_sync', 'incremental_sync', 'price_update', 'stock_update', 'media_sync']),
      status,
      total_items: chosen.size,
      success_items: success,
      failed_items: failed,
      started_at: startedAt,
      completed_at: ['completed', 'failed', 'cancelled'].includes(status)
        ? new Date(Math.min(ctx.now.getTime(), last + MINUTE_MS))
        : null,
      created_at: createdAt,
    })
    jobs.push({ id, platform: platform.name, status, at: createdAt, items: chosen.size })
    if (j % 20 === 19) await tick()
  }
  return jobs
}

interface AsinJob {
  id: string
  monthly: boolean
  status: 'completed' | 'failed' | 'running' | 'pending'
  startedAt: Date
  count(result: Insertable<Code2AsinDB['code2asin_results']>): void
  row(): Insertable<Code2AsinDB['code2asin_jobs']>
}

/**
 * A matching run per month over the last year (each takes the products created since the previous
 * one; the first, the whole back catalogue), a weekly update still running, a failed supplier run
 * and a pending one.
 */
function planAsinJobs(ctx: Ctx, rng: Random, suppliers: { code: string }[]): AsinJob[] {
  const plans: { name: string; status: AsinJob['status']; supplier: string | null; daysAgo: number }[] = []
  for (let m = 0; m < 12; m++) {
    const at = ctx.daysAgo(HISTORY_DAYS - 30 * m)
    plans.push({
      name: `Rapprochement mensuel ${at.toISOString().slice(0, 7)}`,
      status: 'completed',
      supplier: null,
      daysAgo: HISTORY_DAYS - 30 * m,
    })
  }
  plans.push(
    { name: 'Mise à jour hebdomadaire', status: 'running', supplier: null, daysAgo: 0.2 },
    { name: `Code2ASIN – ${suppliers[3]!.code}`, status: 'failed', supplier: suppliers[3]!.code, daysAgo: 6 },
    {
      name: `Code2ASIN – ${suppliers[11]!.code}`,
      status: 'pending',
      supplier: suppliers[11]!.code,
      daysAgo: 0.05,
    },
  )
  return plans.map((plan, i) => {
    const createdAt = ctx.daysAgo(plan.daysAgo)
    const startedAt = plan.status === 'pending' ? createdAt : ctx.after(createdAt, rng.int(1, 10) * MINUTE_MS)
    const id = rng.orderedUuid(rankPrefix(i, plans.length))
    const products = new Set<string>()
    const converted = new Set<string>()
    let exact = 0
    let fuzzy = 0
    let none = 0
    let lastAt = startedAt.getTime()
    return {
      id,
      monthly: plan.name.startsWith('Rapprochement mensuel'),
      status: plan.status,
      startedAt,
      count(result) {
        products.add(result.product_id)
        if (result.asin) converted.add(result.product_id)
        else none++
        if (result.match_type === 'exact') exact++
        if (result.match_type === 'partial' || result.match_type === 'fuzzy') fuzzy++
        lastAt = Math.max(lastAt, (result.processed_at as Date).getTime())
      },
      row() {
        const pendingExtra =
          plan.status === 'pending'
            ? rng.int(80, 200)
            : plan.status === 'running'
              ? rng.int(40, 150)
              : plan.status === 'failed'
                ? rng.int(50, 120)
                : 0
        const total = products.size + pendingExtra
        return {
          id,
          name: plan.name,
          status: plan.status,
          supplier_code: plan.supplier,
          total_codes: total,
          processed_codes: products.size,
          successful_conversions: converted.size,
          failed_conversions: products.size - converted.size,
          progress_percentage: total === 0 ? 0 : Math.floor((products.size * 100) / total),
          exact_matches: exact,
          fuzzy_matches: fuzzy,
          no_matches: none,
          batch_size: rng.pick([50, 100, 200]),
          retry_count: plan.status === 'failed' ? 5 : rng.int(0, 2),
          max_retries: 5,
          search_config: {
            marketplace: 'amazon.fr',
            search_by: ['ean', 'title'],
            min_confidence: 70,
            include_offers: true,
          },
          started_at: plan.status === 'pending' ? null : startedAt,
          completed_at:
            plan.status === 'completed' || plan.status === 'failed'
              ? new Date(Math.min(ctx.now.getTime(), lastAt + 2 * MINUTE_MS))
              : null,
          created_at: createdAt,
        }
      },
    }
  })
}
