/**
 * The realistic mixed workload (issue 16): product details by id and by EAN drawn uniformly from every
 * product, product lists of every supplier with several filters and orders, searches by title words, the
 * import dashboard, and 2 % writes (price and stock changes) through catalog's mutations, which invalidate
 * the gateway's cache of catalog as any production write does. The sequence is a pure function of the seed
 * and the request's index, so every target is sent the same requests in the same order; the floor answers
 * each with one statement (bench/floor.ts) and does its writes as one UPDATE each.
 */
import {
  MIXED_ADJUST_STOCK,
  MIXED_PRODUCT_BY_ID,
  MIXED_PRODUCT_LIST,
  MIXED_SET_PRICE,
  Q2_PRODUCT_DETAIL,
  Q3_IMPORT_DASHBOARD,
} from '../queries'
import type { DomainUrls } from './data'
import { withClient } from './data'
import type { TargetId } from './options'
import { BENCH_SUPPLIER_CODE, type ScenarioParams } from './params'
import type { RunResult, TargetCheck } from './report'

export const MIXED_KINDS = ['by-id', 'by-ean', 'page', 'search', 'dashboard', 'price', 'stock'] as const
export type MixedKind = (typeof MIXED_KINDS)[number]

/** Requests per thousand: 98 % reads, 2 % writes (one price, one stock change in a hundred requests each). */
export const MIXED_WEIGHTS: Readonly<Record<MixedKind, number>> = {
  'by-id': 250,
  'by-ean': 250,
  page: 300,
  search: 100,
  dashboard: 80,
  price: 10,
  stock: 10,
}

export const MIXED_KIND_TITLES: Readonly<Record<MixedKind, string>> = {
  'by-id': 'detail by id',
  'by-ean': 'detail by EAN',
  page: 'supplier page',
  search: 'search',
  dashboard: 'import dashboard',
  price: 'price write',
  stock: 'stock write',
}

const WRITES: readonly MixedKind[] = ['price', 'stock']
export const isWrite = (kind: MixedKind) => WRITES.includes(kind)

/** Each concurrency level starts this far into the sequence: no level replays another's requests. */
export const MIXED_LEVEL_STRIDE = 1 << 24
/** The requests whose answers are compared before measuring: a stretch no measured run reaches. */
const SAMPLE_OFFSET = 0x7000_0000

/** Rows the writes change (price rows and stock rows, a product at most once in each). */
export const WRITE_POOL = { full: 2_000, smoke: 200 }

interface SupplierPages {
  id: string
  /** The supplier's most frequent brand and category (null when its products have none) */
  brandId: string | null
  categoryId: string | null
}

interface PriceRow {
  /** The product_prices row setProductPrice updates for (product, priceType, minQuantity) */
  id: string
  productId: string
  priceType: string
  minQuantity: number
  price: number
  cost: number | null
}

interface StockRow {
  /** The product_stocks row adjustStock updates for (product, warehouse): the oldest of duplicates */
  id: string
  productId: string
  warehouseId: string | null
}

export interface MixedParams {
  /** Every product's id but Q4's supplier's (the bench's own), in id order */
  productIds: string[]
  /** The EAN of every such product that has one (a product's own, so EANs held twice count twice) */
  eans: string[]
  suppliers: SupplierPages[]
  /** The products' three most frequent statuses (the pages' status filter) */
  productStatuses: string[]
  /** Words of four letters or more from the titles of 400 products */
  words: string[]
  jobStatuses: string[]
  metricsRange: { from: string; to: string }
  prices: PriceRow[]
  stocks: StockRow[]
}

/** The rows the writes may change: deterministic for a data set (md5 order), Q4's supplier left out. */
async function writePool(
  catalogUrl: string,
  size: number,
): Promise<{ prices: PriceRow[]; stocks: StockRow[] }> {
  return withClient(catalogUrl, async (c) => {
    const prices = await c.query<PriceRow>(
      `SELECT id, "productId", "priceType", "minQuantity", price, cost FROM (
         SELECT DISTINCT ON (pp.product_id)
                pp.id::text AS id, pp.product_id::text AS "productId", upper(pp.price_type) AS "priceType",
                coalesce(pp.min_quantity, 1) AS "minQuantity", pp.price::float8 AS price, pp.cost::float8 AS cost
           FROM (SELECT DISTINCT ON (product_id, price_type, coalesce(min_quantity, 1)) *
                   FROM product_prices WHERE is_active IS TRUE AND price_type IS NOT NULL
                  ORDER BY product_id, price_type, coalesce(min_quantity, 1), valid_from DESC NULLS LAST, id DESC) pp
           JOIN products p ON p.id = pp.product_id LEFT JOIN suppliers s ON s.id = p.supplier_id
          WHERE s.code IS DISTINCT FROM $1
            AND (pp.valid_until IS NULL OR pp.valid_until > coalesce(pp.valid_from, now()))
          ORDER BY pp.product_id, pp.price_type, coalesce(pp.min_quantity, 1)
       ) x ORDER BY md5('mixed-price' || id) LIMIT $2`,
      [BENCH_SUPPLIER_CODE, size],
    )
    const stocks = await c.query<StockRow>(
      `SELECT id, "productId", "warehouseId" FROM (
         SELECT DISTINCT ON (st.product_id) st.id::text AS id, st.product_id::text AS "productId",
                st.warehouse_id::text AS "warehouseId"
           FROM (SELECT DISTINCT ON (product_id, warehouse_id) * FROM product_stocks
                  WHERE product_id IS NOT NULL ORDER BY product_id, warehouse_id, id) st
           JOIN products p ON p.id = st.product_id LEFT JOIN suppliers s ON s.id = p.supplier_id
          WHERE s.code IS DISTINCT FROM $1
          ORDER BY st.product_id, st.warehouse_id NULLS FIRST
       ) x ORDER BY md5('mixed-stock' || id) LIMIT $2`,
      [BENCH_SUPPLIER_CODE, size],
    )
    return { prices: prices.rows, stocks: stocks.rows }
  })
}

/**
 * The products whose rows the bench writes: the mixed workload's write pool and Q4's supplier's products
 * (bench_floor's copies of them are refreshed before answers are compared: src/floor-data.ts).
 */
export async function benchWrittenProductIds(catalogUrl: string, poolSize: number): Promise<string[]> {
  const { prices, stocks } = await writePool(catalogUrl, poolSize)
  const q4 = await withClient(catalogUrl, async (c) => {
    const { rows } = await c.query<{ id: string }>(
      `SELECT p.id::text AS id FROM products p JOIN suppliers s ON s.id = p.supplier_id WHERE s.code = $1`,
      [BENCH_SUPPLIER_CODE],
    )
    return rows.map((r) => r.id)
  })
  return [...new Set([...prices.map((r) => r.productId), ...stocks.map((r) => r.productId), ...q4])]
}

/** What the mixed workload draws from, read from the data set (deterministic for a data set). */
export async function pickMixedParams(
  urls: DomainUrls,
  base: ScenarioParams,
  poolSize: number,
): Promise<MixedParams> {
  const catalog = await withClient(urls.catalog, async (c) => {
    const products = await c.query<{ id: string; ean: string | null }>(
      `SELECT p.id::text AS id, p.ean FROM products p LEFT JOIN suppliers s ON s.id = p.supplier_id
        WHERE s.code IS DISTINCT FROM $1 ORDER BY p.id`,
      [BENCH_SUPPLIER_CODE],
    )
    const suppliers = await c.query<SupplierPages>(
      `SELECT s.id::text AS id,
              (SELECT brand_id::text FROM products WHERE supplier_id = s.id AND brand_id IS NOT NULL
                GROUP BY brand_id ORDER BY count(*) DESC, brand_id LIMIT 1) AS "brandId",
              (SELECT category_id::text FROM products WHERE supplier_id = s.id AND category_id IS NOT NULL
                GROUP BY category_id ORDER BY count(*) DESC, category_id LIMIT 1) AS "categoryId"
         FROM suppliers s WHERE s.code <> $1 ORDER BY s.id`,
      [BENCH_SUPPLIER_CODE],
    )
    const statuses = await c.query<{ status: string }>(
      `SELECT status FROM products WHERE status IS NOT NULL GROUP BY status ORDER BY count(*) DESC, status LIMIT 3`,
    )
    const titles = await c.query<{ title: string }>(
      `SELECT title FROM products WHERE title IS NOT NULL ORDER BY md5('mixed-words' || id::text) LIMIT 400`,
    )
    return { products: products.rows, suppliers: suppliers.rows, statuses, titles }
  })
  const words = [
    ...new Set(
      catalog.titles.rows.flatMap((r) =>
        r.title
          .toLowerCase()
          .split(/[^\p{L}\p{N}]+/u)
          .filter((w) => w.length >= 4 && !/^\d+$/.test(w)),
      ),
    ),
  ].sort()
  const { prices, stocks } = await writePool(urls.catalog, poolSize)
  const params: MixedParams = {
    productIds: catalog.products.map((p) => p.id),
    eans: catalog.products.flatMap((p) => (p.ean ? [p.ean] : [])),
    suppliers: catalog.suppliers,
    productStatuses: catalog.statuses.rows.map((r) => r.status.toUpperCase()),
    words,
    jobStatuses: base.statuses,
    metricsRange: base.metricsRange,
    prices,
    stocks,
  }
  const empty = Object.entries(params).filter(([, v]) => Array.isArray(v) && v.length === 0)
  if (empty.length)
    throw new Error(`the mixed workload has nothing to draw from for ${empty.map(([k]) => k).join(', ')}`)
  return params
}

/** murmur3's finaliser: a well-mixed 32-bit hash. */
function mix(x: number): number {
  let h = x >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** A number in [0, 1) for (seed, index, lane): the same for every target, every run, every machine. */
function draw(seed: number, index: number, lane: number): number {
  return mix(mix(mix(seed) ^ Math.imul(lane + 1, 0x9e3779b9)) ^ index) / 2 ** 32
}

const pick = <T>(items: readonly T[], u: number): T => items[Math.floor(u * items.length)]!

const CUMULATIVE = (() => {
  let total = 0
  return MIXED_KINDS.map((kind) => {
    total += MIXED_WEIGHTS[kind]
    return { kind, upTo: total }
  })
})()

export interface MixedRequest {
  kind: MixedKind
  document: string
  variables: Record<string, unknown>
  /** The floor's route and variables for the same request */
  floorPath: string
  floorVariables: Record<string, unknown>
}

/**
 * Request `index` of the sequence of `seed`. `salt` changes only the amounts written (price, stock delta), so
 * that each target's writes change their rows rather than write what an earlier target already wrote.
 */
export function mixedRequest(p: MixedParams, seed: number, index: number, salt = 0): MixedRequest {
  const roll = draw(seed, index, 0) * 1000
  const kind = CUMULATIVE.find((k) => roll < k.upTo)?.kind ?? 'by-id'
  const u = (lane: number) => draw(seed, index, lane)
  const same = (document: string, variables: Record<string, unknown>, floorPath: string) => ({
    kind,
    document,
    variables,
    floorPath,
    floorVariables: variables,
  })
  switch (kind) {
    case 'by-id':
      return same(MIXED_PRODUCT_BY_ID, { id: pick(p.productIds, u(1)), ...p.metricsRange }, '/product')
    case 'by-ean':
      return same(Q2_PRODUCT_DETAIL, { ean: pick(p.eans, u(1)), ...p.metricsRange }, '/q2')
    case 'page': {
      const supplier = pick(p.suppliers, u(1))
      const variant = Math.floor(u(2) * 4)
      // Q1's page; by status, by title; the supplier's main category, latest changes; its main brand, oldest first.
      const list =
        variant === 1
          ? {
              filter: { supplierId: supplier.id, status: pick(p.productStatuses, u(3)) },
              orderBy: { field: 'TITLE', direction: 'ASC' },
              first: 20,
            }
          : variant === 2 && supplier.categoryId
            ? {
                filter: { supplierId: supplier.id, categoryId: supplier.categoryId },
                orderBy: { field: 'UPDATED_AT', direction: 'DESC' },
                first: 20,
              }
            : variant === 3 && supplier.brandId
              ? {
                  filter: { supplierId: supplier.id, brandId: supplier.brandId },
                  orderBy: { field: 'CREATED_AT', direction: 'ASC' },
                  first: 20,
                }
              : { filter: { supplierId: supplier.id, isActive: true }, first: 50 }
      return same(MIXED_PRODUCT_LIST, list, '/products')
    }
    case 'search':
      return same(MIXED_PRODUCT_LIST, { filter: { search: pick(p.words, u(1)) }, first: 20 }, '/products')
    case 'dashboard':
      return same(Q3_IMPORT_DASHBOARD, { status: pick(p.jobStatuses, u(1)), first: 50 }, '/q3')
    case 'price': {
      const row = pick(p.prices, u(1))
      // A realistic new amount: 5 % to 60 % over the cost, else within 10 % of the current price.
      const v = draw(seed ^ salt, index, 2)
      const amount =
        row.cost !== null && row.cost > 0 ? row.cost * (1.05 + 0.55 * v) : row.price * (0.9 + 0.2 * v)
      const price = Math.max(0.01, amount).toFixed(2)
      return {
        kind,
        document: MIXED_SET_PRICE,
        variables: {
          input: { productId: row.productId, priceType: row.priceType, minQuantity: row.minQuantity, price },
        },
        floorPath: '/write-price',
        floorVariables: { id: row.id, price },
      }
    }
    case 'stock': {
      const row = pick(p.stocks, u(1))
      const delta = 1 + Math.floor(draw(seed ^ salt, index, 2) * 5)
      return {
        kind,
        document: MIXED_ADJUST_STOCK,
        variables: { input: { productId: row.productId, warehouseId: row.warehouseId, delta } },
        floorPath: '/write-stock',
        floorVariables: { id: row.id, delta },
      }
    }
  }
}

/** The HTTP request a target is sent for a mixed request: the floor's route, or the gateway's /graphql. */
export function mixedHttp(target: TargetId, request: MixedRequest): { path: string; body: string } {
  return target === 'floor'
    ? { path: request.floorPath, body: JSON.stringify({ variables: request.floorVariables }) }
    : { path: '/graphql', body: JSON.stringify({ query: request.document, variables: request.variables }) }
}

/** `count` reads of the sequence (at least `perKind` of each read kind), from a stretch no run measures. */
export function mixedSample(p: MixedParams, seed: number, count: number, perKind: number): MixedRequest[] {
  const out: MixedRequest[] = []
  const seen = new Map<MixedKind, number>()
  const reads = MIXED_KINDS.filter((k) => !isWrite(k))
  for (let i = SAMPLE_OFFSET; i < SAMPLE_OFFSET + 1_000_000; i++) {
    const request = mixedRequest(p, seed, i)
    if (isWrite(request.kind)) continue
    const n = seen.get(request.kind) ?? 0
    if (out.length >= count && n >= perKind) continue
    out.push(request)
    seen.set(request.kind, n + 1)
    if (out.length >= count && reads.every((k) => (seen.get(k) ?? 0) >= perKind)) break
  }
  return out
}

/** The first price write and the first stock write of the sample's stretch: checked on every target. */
export function mixedWriteSample(p: MixedParams, seed: number): MixedRequest[] {
  const out: MixedRequest[] = []
  for (const kind of WRITES) {
    for (let i = SAMPLE_OFFSET; i < SAMPLE_OFFSET + 1_000_000; i++) {
      const request = mixedRequest(p, seed, i)
      if (request.kind !== kind) continue
      out.push(request)
      break
    }
  }
  return out
}

/**
 * What must be the same in every target's answer to a request: all of a read, the row and amount of a price
 * write; a stock write's row only (each target adds its delta to what the one before left).
 */
export function comparable(request: MixedRequest, data: unknown): unknown {
  if (request.kind !== 'stock') return data
  const answer = (data as { adjustStock?: { id?: unknown } } | null | undefined)?.adjustStock
  return { adjustStock: { id: answer?.id } }
}

/** Resident memory of a run's processes, sampled every 250 ms while it was measured. */
export interface RunMemory {
  /** The target's own processes: a gateway's primary and workers (one process with one worker) */
  front: { pid: number; role: 'primary' | 'worker' | 'process' | 'child'; peakMb: number }[]
  /** The seven subgraphs together (sum at each sample, the highest) */
  subgraphsPeakMb: number
}

const f = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits)

const pct = (share: number) => (Number.isNaN(share) ? '–' : `${(100 * share).toFixed(1)}%`)

function frontRss(memory: RunMemory | undefined): string {
  if (!memory) return '–'
  return memory.front
    .map((p) => (memory.front.length > 1 ? `${p.role} ${f(p.peakMb, 0)}` : f(p.peakMb, 0)))
    .join(', ')
}

const find = (runs: RunResult[], target: TargetId, c: number) =>
  runs.find((r) => r.scenario === 'mixed' && r.target === target && r.concurrency === c)

/** The mixed workload's tables: totals with hits and memory, then latency per kind of request. */
export function mixedTables(runs: RunResult[]): string {
  const mixed = runs.filter((r) => r.scenario === 'mixed')
  if (mixed.length === 0) return 'Not run.'
  const versus = (r: RunResult, other: TargetId) => {
    const o = find(mixed, other, r.concurrency)
    if (!o || r.target === other || (r.target !== 'ours' && r.target !== 'uncached')) return ''
    if (o.measurement.requests === 0 || r.measurement.requests === 0) return '–'
    return `p95 ${f(r.measurement.p95 / o.measurement.p95, 2)}× · req/s ${f(r.measurement.rps / o.measurement.rps, 2)}×`
  }
  const totals = [
    '| target | c | requests | req/s | p50 ms | p95 ms | p99 ms | errors | cache hits (of lookups) | hits by subgraph | front RSS MB (peak) | subgraphs RSS MB (peak, 7 together) | vs floor | vs peer |',
    '|---|--:|--:|--:|--:|--:|--:|--:|---|---|---|--:|---|---|',
    ...mixed.map((r) => {
      const m = r.measurement
      const hits =
        r.cache === undefined
          ? ''
          : r.cache === null
            ? 'not read'
            : r.cache.lookups === 0
              ? 'no lookups'
              : `${pct(r.cache.hit)} (L1 ${pct(r.cache.l1)}, L2 ${pct(r.cache.l2)}) of ${r.cache.lookups}`
      const bySubgraph = Object.entries(r.cache?.byNamespace ?? {})
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, n]) => `${name.split(':').at(-1)} ${pct(n.hit)} of ${n.lookups}`)
        .join(', ')
      return `| ${r.target} | ${r.concurrency} | ${m.requests} | ${f(m.rps)} | ${f(m.p50, 2)} | ${f(m.p95, 2)} | ${f(m.p99, 2)} | ${m.errors} | ${hits} | ${bySubgraph} | ${frontRss(r.memory)} | ${f(r.memory?.subgraphsPeakMb, 0)} | ${versus(r, 'floor')} | ${versus(r, 'peer')} |`
    }),
  ]
  const kinds = [
    `| target | c | ${MIXED_KINDS.map((k) => MIXED_KIND_TITLES[k]).join(' | ')} |`,
    `|---|--:|${MIXED_KINDS.map(() => '--:').join('|')}|`,
    ...mixed.map((r) => {
      const cells = MIXED_KINDS.map((k) => {
        const m = r.measurement.byKind?.[k]
        return m
          ? `${f(m.p50, 1)} / ${f(m.p95, 1)} (${m.requests}${m.errors ? `, ${m.errors} errors` : ''})`
          : '–'
      })
      return `| ${r.target} | ${r.concurrency} | ${cells.join(' | ')} |`
    }),
  ]
  return [...totals, '', 'Per kind of request: p50 / p95 ms (requests).', '', ...kinds].join('\n')
}

/** The issue's targets for the mixed workload, for ours as deployed (and shown for uncached). */
export function mixedTargets(runs: RunResult[]): TargetCheck[] {
  const mixed = runs.filter((r) => r.scenario === 'mixed')
  if (mixed.length === 0) return []
  const out: TargetCheck[] = []
  const labels = { ours: 'ours, as deployed', uncached: 'uncached, GATEWAY_CACHE=false' } as const
  for (const target of ['ours', 'uncached'] as const) {
    if (!mixed.some((r) => r.target === target)) continue
    const label = ` (${labels[target]})`
    // A run in which no request completed has no figures (the run fails for it anyway).
    const answered = <M extends { requests: number }>(m: M | undefined) => (m?.requests ? m : undefined)
    const mine = answered(find(mixed, target, 8)?.measurement)
    const floor = answered(find(mixed, 'floor', 8)?.measurement)
    out.push({
      name: `Mixed at c=8: p95 ≤ 25 ms${label}`,
      met: mine ? mine.p95 <= 25 : null,
      detail: mine ? `${f(mine.p95, 2)} ms` : 'not measured (no c=8 run with answers)',
    })
    out.push({
      name: `Mixed at c=8: throughput ≥ 0.3× the floor's${label}`,
      met: mine && floor ? mine.rps / floor.rps >= 0.3 : null,
      detail:
        mine && floor
          ? `${f(mine.rps)} vs ${f(floor.rps)} req/s = ${f(mine.rps / floor.rps, 2)}×`
          : 'not measured (no c=8 runs with answers, of this target and of the floor)',
    })
    const withMemory = mixed.filter((r) => r.target === target && r.memory)
    if (withMemory.length) {
      const worst = Math.max(...withMemory.flatMap((r) => r.memory!.front.map((p) => p.peakMb)))
      out.push({
        name: `Mixed: each gateway process ≤ 300 MB RSS${label}`,
        met: worst <= 300,
        detail: `highest peak ${f(worst, 0)} MB over the mixed runs (${withMemory.map((r) => `c=${r.concurrency}: ${frontRss(r.memory)}`).join('; ')})`,
      })
    }
  }
  const withMemory = mixed.filter((r) => r.memory)
  if (withMemory.length) {
    const peak = (r: RunResult) => r.memory!.subgraphsPeakMb
    const top = withMemory.reduce((a, b) => (peak(b) > peak(a) ? b : a))
    const ours = withMemory.filter((r) => r.target === 'ours')
    out.push({
      name: 'Mixed: the seven subgraphs together ≤ 600 MB RSS',
      met: peak(top) <= 600,
      detail: `highest peak ${f(peak(top), 0)} MB (behind ${top.target} at c=${top.concurrency})${ours.length ? `; behind ours: ${f(Math.max(...ours.map(peak)), 0)} MB` : ''}`,
    })
  }
  return out
}
