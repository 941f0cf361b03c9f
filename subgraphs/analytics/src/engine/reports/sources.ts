import type { DB } from '@pm/db/types/analytics'
import { type Peers, queryPeer } from '@pm/service-kit'
import { type Kysely, sql } from 'kysely'
import { fetchSupplierFigures } from '../supplier-metrics'
import type { ReportData, ReportParameters, ReportType } from './types'

export interface SourceDeps {
  db: Kysely<DB>
  peers: Peers
}

/** Called after each page read, with the rows gathered so far; throws to stop (cancelled, worker stopping). */
export type OnPage = (rows: number) => Promise<void>

const PAGE = 5_000
const TIMEOUT = 60_000

const STOCK_ALERTS = `query($after: UUID, $first: Int) { stockAlerts(after: $after, first: $first) {
  stockId productId sku ean title supplierCode warehouseId quantity availableQuantity minStock
} }`
const PRICE_CHANGES = `query($from: DateTime!, $to: DateTime!, $after: SafeInt, $first: Int) {
  priceChanges(from: $from, to: $to, after: $after, first: $first) {
    id productId sku title supplierCode priceType oldPrice newPrice currency source changedAt
  }
}`

interface StockAlertRow {
  stockId: string
  productId: string
  sku: string | null
  ean: string | null
  title: string
  supplierCode: string | null
  warehouseId: string | null
  quantity: number
  availableQuantity: number | null
  minStock: number
}

interface PriceChangeRow {
  id: number
  sku: string | null
  title: string | null
  supplierCode: string | null
  priceType: string
  oldPrice: string | null
  newPrice: string
  currency: string
  source: string
  changedAt: string
}

const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString()

/** Reads what a report of `type` holds: analytics' own tables, catalog's internal reads (paged). */
export async function reportData(
  deps: SourceDeps,
  type: ReportType,
  p: ReportParameters,
  onPage: OnPage,
): Promise<ReportData> {
  switch (type) {
    case 'import_summary':
      return importSummary(deps, p)
    case 'supplier_performance':
      return supplierPerformance(deps, p)
    case 'stock_alerts':
      return stockAlerts(deps, p, onPage)
    case 'price_changes':
      return priceChanges(deps, p, onPage)
    case 'catalog_completeness':
      return catalogCompleteness(deps, p)
  }
}

const COMPLETENESS = `{ completenessSummary(by: SUPPLIER) {
  supplier { code name } productsCount averageScore completeCount belowHalfCount
} }`

interface CompletenessSummaryRow {
  supplier: { code: string; name: string } | null
  productsCount: number
  averageScore: string
  completeCount: number
  belowHalfCount: number
}

/** Per supplier, catalog's stored completeness scores (one aggregate there), least complete first. */
async function catalogCompleteness(deps: SourceDeps, p: ReportParameters): Promise<ReportData> {
  const { completenessSummary } = await queryPeer<{ completenessSummary: CompletenessSummaryRow[] }>(
    deps.peers,
    'catalog',
    COMPLETENESS,
    {},
    TIMEOUT,
  )
  const rows = completenessSummary
    .filter((r) => !p.supplierCode || r.supplier?.code === p.supplierCode)
    .map((r) => ({
      code: r.supplier?.code ?? null,
      name: r.supplier?.name ?? null,
      products: r.productsCount,
      averageScore: r.averageScore,
      complete: r.completeCount,
      belowHalf: r.belowHalfCount,
    }))
  return {
    title: 'Catalogue completeness per supplier',
    columns: [
      { key: 'code', label: 'Code', kind: 'text' },
      { key: 'name', label: 'Supplier', kind: 'text' },
      { key: 'products', label: 'Products', kind: 'int' },
      { key: 'averageScore', label: 'Average score', kind: 'decimal' },
      { key: 'complete', label: 'Complete (100)', kind: 'int' },
      { key: 'belowHalf', label: 'Under 50', kind: 'int' },
    ],
    rows,
    chart: { label: 'code', value: 'belowHalf', title: 'Products scoring under 50 per supplier' },
  }
}

async function importSummary(deps: SourceDeps, p: ReportParameters): Promise<ReportData> {
  let query = deps.db
    .selectFrom('import_job_facts')
    .select((eb) => [
      'supplier_code',
      eb.fn.countAll<string>().as('jobs'),
      sql<string>`count(*) FILTER (WHERE status = 'completed')`.as('completed'),
      sql<string>`count(*) FILTER (WHERE status = 'failed')`.as('failed'),
      sql<string>`count(*) FILTER (WHERE status = 'cancelled')`.as('cancelled'),
      sql<string>`sum(rows_processed)`.as('rows'),
      sql<string>`sum(products_created)`.as('created'),
      sql<string>`sum(products_updated)`.as('updated'),
      sql<string>`sum(rows_failed)`.as('rows_failed'),
      sql<string>`coalesce(sum(duration_seconds), 0)`.as('duration'),
    ])
    .where('date', '>=', p.from!)
    .where('date', '<=', p.to!)
    .groupBy('supplier_code')
    .orderBy('supplier_code')
  if (p.supplierCode) query = query.where('supplier_code', '=', p.supplierCode)
  const rows = (await query.execute()).map((r) => ({
    supplier: r.supplier_code,
    jobs: Number(r.jobs),
    completed: Number(r.completed),
    failed: Number(r.failed),
    cancelled: Number(r.cancelled),
    rows: Number(r.rows),
    created: Number(r.created),
    updated: Number(r.updated),
    rowsFailed: Number(r.rows_failed),
    durationSeconds: Number(r.duration),
  }))
  return {
    title: `Import summary, ${p.from} to ${p.to}`,
    columns: [
      { key: 'supplier', label: 'Supplier', kind: 'text' },
      { key: 'jobs', label: 'Imports', kind: 'int' },
      { key: 'completed', label: 'Completed', kind: 'int' },
      { key: 'failed', label: 'Failed', kind: 'int' },
      { key: 'cancelled', label: 'Cancelled', kind: 'int' },
      { key: 'rows', label: 'Rows', kind: 'int' },
      { key: 'created', label: 'Created', kind: 'int' },
      { key: 'updated', label: 'Updated', kind: 'int' },
      { key: 'rowsFailed', label: 'Rows failed', kind: 'int' },
      { key: 'durationSeconds', label: 'Seconds', kind: 'int' },
    ],
    rows,
    chart: { label: 'supplier', value: 'rows', title: 'Rows imported per supplier' },
  }
}

async function supplierPerformance(deps: SourceDeps, p: ReportParameters): Promise<ReportData> {
  const supplierFigures = await fetchSupplierFigures(deps.peers)
  const suppliers = p.supplierCode
    ? supplierFigures.filter((s) => s.code === p.supplierCode)
    : supplierFigures
  // The latest stored shares (images, verified ASINs) on or before the period's end.
  const shares = await deps.db
    .selectFrom('supplier_metrics')
    .select(['supplier_id', 'image_share', 'verified_asin_share'])
    .distinctOn('supplier_id')
    .where('date', '<=', p.to!)
    .where('image_share', 'is not', null)
    .orderBy('supplier_id')
    .orderBy('date', 'desc')
    .execute()
  const shareOf = new Map(shares.map((s) => [s.supplier_id, s]))
  const imports = await deps.db
    .selectFrom('supplier_import_metrics')
    .select((eb) => [
      'supplier_id',
      eb.fn.sum<string>('jobs_count').as('jobs'),
      eb.fn.sum<string>('completed_count').as('completed'),
      eb.fn.sum<string>('rows_processed').as('rows'),
      eb.fn.sum<string>('rows_failed').as('rows_failed'),
    ])
    .where('date', '>=', p.from!)
    .where('date', '<=', p.to!)
    .groupBy('supplier_id')
    .execute()
  const importsOf = new Map(imports.map((i) => [i.supplier_id, i]))
  const pct = (part: number, whole: number) => (whole > 0 ? ((100 * part) / whole).toFixed(2) : null)
  const rows = suppliers.map((s) => {
    const i = importsOf.get(s.supplierId)
    const sh = shareOf.get(s.supplierId)
    return {
      code: s.code,
      name: s.name,
      products: s.productsCount,
      active: s.activeProductsCount,
      avgPrice: s.avgPrice,
      stockValue: s.stockValue,
      withImagesPct: sh?.image_share != null ? (Number(sh.image_share) * 100).toFixed(2) : null,
      verifiedAsinPct: pct(s.withAsinCount, s.productsCount),
      imports: Number(i?.jobs ?? 0),
      importSuccessPct: i ? pct(Number(i.completed), Number(i.jobs)) : null,
      rowsFailedPct: i ? pct(Number(i.rows_failed), Number(i.rows)) : null,
    }
  })
  return {
    title: `Supplier performance, ${p.from} to ${p.to}`,
    columns: [
      { key: 'code', label: 'Code', kind: 'text' },
      { key: 'name', label: 'Supplier', kind: 'text' },
      { key: 'products', label: 'Products', kind: 'int' },
      { key: 'active', label: 'Active', kind: 'int' },
      { key: 'avgPrice', label: 'Average price', kind: 'decimal' },
      { key: 'stockValue', label: 'Stock value', kind: 'decimal' },
      { key: 'withImagesPct', label: '% with images', kind: 'decimal' },
      { key: 'verifiedAsinPct', label: '% verified ASIN', kind: 'decimal' },
      { key: 'imports', label: 'Imports', kind: 'int' },
      { key: 'importSuccessPct', label: '% imports completed', kind: 'decimal' },
      { key: 'rowsFailedPct', label: '% rows failed', kind: 'decimal' },
    ],
    rows,
    chart: { label: 'code', value: 'active', title: 'Active products per supplier' },
  }
}

async function stockAlerts(deps: SourceDeps, p: ReportParameters, onPage: OnPage): Promise<ReportData> {
  const rows: ReportData['rows'] = []
  let after: string | null = null
  for (;;) {
    const page: StockAlertRow[] = (
      await queryPeer<{ stockAlerts: StockAlertRow[] }>(
        deps.peers,
        'catalog',
        STOCK_ALERTS,
        { after, first: PAGE },
        TIMEOUT,
      )
    ).stockAlerts
    for (const r of page) {
      if (p.supplierCode && r.supplierCode !== p.supplierCode) continue
      const available = r.availableQuantity ?? r.quantity
      rows.push({
        supplier: r.supplierCode,
        sku: r.sku,
        ean: r.ean,
        title: r.title,
        warehouse: r.warehouseId,
        quantity: r.quantity,
        available,
        minStock: r.minStock,
        shortfall: r.minStock - available,
      })
    }
    await onPage(rows.length)
    if (page.length < PAGE) break
    after = page.at(-1)!.stockId
  }
  return {
    title: p.supplierCode ? `Stock under minimum, supplier ${p.supplierCode}` : 'Stock under minimum',
    columns: [
      { key: 'supplier', label: 'Supplier', kind: 'text' },
      { key: 'sku', label: 'SKU', kind: 'text' },
      { key: 'ean', label: 'EAN', kind: 'text' },
      { key: 'title', label: 'Title', kind: 'text' },
      { key: 'warehouse', label: 'Warehouse', kind: 'text' },
      { key: 'quantity', label: 'Quantity', kind: 'int' },
      { key: 'available', label: 'Available', kind: 'int' },
      { key: 'minStock', label: 'Minimum', kind: 'int' },
      { key: 'shortfall', label: 'Shortfall', kind: 'int' },
    ],
    rows,
    chart: { label: 'sku', value: 'shortfall', title: 'Largest shortfalls' },
  }
}

async function priceChanges(deps: SourceDeps, p: ReportParameters, onPage: OnPage): Promise<ReportData> {
  const rows: ReportData['rows'] = []
  let after = 0
  const from = `${p.from}T00:00:00.000Z`
  const to = nextDay(p.to!)
  for (;;) {
    const page = (
      await queryPeer<{ priceChanges: PriceChangeRow[] }>(
        deps.peers,
        'catalog',
        PRICE_CHANGES,
        { from, to, after, first: PAGE },
        TIMEOUT,
      )
    ).priceChanges
    for (const r of page) {
      if (p.supplierCode && r.supplierCode !== p.supplierCode) continue
      const change =
        r.oldPrice !== null && Number(r.oldPrice) !== 0
          ? ((100 * (Number(r.newPrice) - Number(r.oldPrice))) / Number(r.oldPrice)).toFixed(2)
          : null
      rows.push({
        changedAt: r.changedAt,
        supplier: r.supplierCode,
        sku: r.sku,
        title: r.title,
        // The stored values (retail, manual), as report files always carried them, not the enum names.
        priceType: r.priceType.toLowerCase(),
        oldPrice: r.oldPrice,
        newPrice: r.newPrice,
        changePct: change,
        currency: r.currency,
        source: r.source.toLowerCase(),
      })
    }
    await onPage(rows.length)
    if (page.length < PAGE) break
    after = page.at(-1)!.id
  }
  return {
    title: `Price changes, ${p.from} to ${p.to}`,
    columns: [
      { key: 'changedAt', label: 'Changed at', kind: 'date' },
      { key: 'supplier', label: 'Supplier', kind: 'text' },
      { key: 'sku', label: 'SKU', kind: 'text' },
      { key: 'title', label: 'Title', kind: 'text' },
      { key: 'priceType', label: 'Price type', kind: 'text' },
      { key: 'oldPrice', label: 'Old price', kind: 'decimal' },
      { key: 'newPrice', label: 'New price', kind: 'decimal' },
      { key: 'changePct', label: 'Change %', kind: 'decimal' },
      { key: 'currency', label: 'Currency', kind: 'text' },
      { key: 'source', label: 'Source', kind: 'text' },
    ],
    rows,
    chart: { label: 'supplier', value: null, title: 'Price changes per supplier' },
  }
}
