import type { DomainUrls } from './data'
import { withClient } from './data'

/** The supplier whose products Q4 upserts; kept out of the read scenarios' parameters. */
export const BENCH_SUPPLIER_CODE = 'PM-BENCH-Q4'

export interface ScenarioParams {
  /** Suppliers with active products, in a fixed shuffled order (md5 of the id). */
  supplierIds: string[]
  /** EANs: half of products that have metrics, half of any product, shuffled the same way. */
  eans: string[]
  /** The 30 days ending at the last day of product metrics in the data set. */
  metricsRange: { from: string; to: string }
  statuses: string[]
  /** EANs for "Q2 Redis cold vs warm" only, none of them in `eans`: no other run has cached them. */
  coldEans: string[]
}

const EAN_SAMPLE = 250

/** Parameters picked from the data, deterministic for a data set, rotating so caches cannot make it trivial. */
export async function pickParams(urls: DomainUrls, coldEanCount = 0): Promise<ScenarioParams> {
  const { supplierIds, randomEans } = await withClient(urls.catalog, async (c) => {
    const suppliers = await c.query<{ id: string }>(
      `SELECT p.supplier_id::text AS id FROM products p JOIN suppliers s ON s.id = p.supplier_id
        WHERE p.is_active = true AND s.code <> $1
        GROUP BY p.supplier_id ORDER BY md5(p.supplier_id::text)`,
      [BENCH_SUPPLIER_CODE],
    )
    const eans = await c.query<{ ean: string }>(
      `SELECT p.ean FROM products p LEFT JOIN suppliers s ON s.id = p.supplier_id
        WHERE p.ean IS NOT NULL AND s.code IS DISTINCT FROM $1 ORDER BY md5(p.id::text) LIMIT ${EAN_SAMPLE}`,
      [BENCH_SUPPLIER_CODE],
    )
    return { supplierIds: suppliers.rows.map((r) => r.id), randomEans: eans.rows.map((r) => r.ean) }
  })
  const { withMetrics, to } = await withClient(urls.analytics, async (c) => {
    const ids = await c.query<{ id: string }>(
      `SELECT product_id::text AS id FROM product_metrics GROUP BY product_id ORDER BY md5(product_id::text) LIMIT ${EAN_SAMPLE}`,
    )
    const last = await c.query<{ to: string | null }>(
      `SELECT to_char(max(date), 'YYYY-MM-DD') AS "to" FROM product_metrics`,
    )
    return {
      withMetrics: ids.rows.map((r) => r.id),
      to: last.rows[0]?.to ?? new Date().toISOString().slice(0, 10),
    }
  })
  const metricEans = await withClient(urls.catalog, async (c) => {
    const { rows } = await c.query<{ ean: string }>(
      `SELECT ean FROM products WHERE id = ANY($1::uuid[]) AND ean IS NOT NULL`,
      [withMetrics],
    )
    return rows.map((r) => r.ean)
  })
  const statuses = await withClient(urls.imports, async (c) => {
    const { rows } = await c.query<{ status: string }>(
      `SELECT status FROM import_jobs GROUP BY status ORDER BY count(*) DESC, status`,
    )
    // As the API names them (ImportJobStatus): COMPLETED.
    return rows.map((r) => r.status.toUpperCase())
  })
  const eans = [...new Set([...metricEans, ...randomEans])].sort((a, b) => hash(a) - hash(b))
  const from = new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10)
  if (supplierIds.length === 0 || eans.length === 0 || statuses.length === 0) {
    throw new Error('the bench data set has no suppliers, EANs or import jobs to pick parameters from')
  }
  const coldEans = coldEanCount > 0 ? await pickColdEans(urls, eans, coldEanCount) : []
  return { supplierIds, eans, metricsRange: { from, to }, statuses, coldEans }
}

/** `count` EANs outside `used`, half of them of products with metrics like `eans`, in the same kind of order. */
async function pickColdEans(urls: DomainUrls, used: string[], count: number): Promise<string[]> {
  const withMetrics = await withClient(urls.analytics, async (c) => {
    const { rows } = await c.query<{ id: string }>(
      `SELECT product_id::text AS id FROM product_metrics GROUP BY product_id
        ORDER BY md5('cold' || product_id::text) LIMIT $1`,
      [EAN_SAMPLE + count],
    )
    return rows.map((r) => r.id)
  })
  return withClient(urls.catalog, async (c) => {
    const metric = await c.query<{ ean: string }>(
      `SELECT p.ean FROM products p LEFT JOIN suppliers s ON s.id = p.supplier_id
        WHERE p.id = ANY($1::uuid[]) AND p.ean IS NOT NULL AND NOT (p.ean = ANY($2::text[]))
          AND s.code IS DISTINCT FROM $3
        GROUP BY p.ean ORDER BY md5('cold' || p.ean) LIMIT $4`,
      [withMetrics, used, BENCH_SUPPLIER_CODE, Math.ceil(count / 2)],
    )
    const taken = [...used, ...metric.rows.map((r) => r.ean)]
    const other = await c.query<{ ean: string }>(
      `SELECT p.ean FROM products p LEFT JOIN suppliers s ON s.id = p.supplier_id
        WHERE p.ean IS NOT NULL AND NOT (p.ean = ANY($1::text[])) AND s.code IS DISTINCT FROM $2
        GROUP BY p.ean ORDER BY md5('cold' || p.ean) LIMIT $3`,
      [taken, BENCH_SUPPLIER_CODE, count - metric.rows.length],
    )
    return [...metric.rows.map((r) => r.ean), ...other.rows.map((r) => r.ean)].sort(
      (a, b) => hash(a) - hash(b),
    )
  })
}

/** A stable order that is not the alphabetical one. */
function hash(text: string): number {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return h >>> 0
}
