import { type DatabaseOf, type Domain, databaseName } from '@pm/db'
import { type Kysely, sql } from 'kysely'
import {
  type DemoData,
  type DomainRows,
  generateDemoData,
  resolveOptions,
  type SeedOptions,
} from './generate'

export type SeedDatabases = { [D in Domain]: Kysely<DatabaseOf<D>> }

export interface SeedResult {
  seeded: boolean
  /** Rows per table of the demo data set (empty when nothing was seeded). */
  counts: Record<string, number>
}

/** Insert order within each database: parents before children. */
export const TABLE_ORDER: { [D in Domain]: (keyof DatabaseOf<D> & string)[] } = {
  // roles, permissions and role_permissions: made by migrations/core (see generate/core MIGRATION_TABLES).
  core: ['users', 'notifications', 'app_settings', 'api_keys'],
  catalog: [
    'suppliers',
    'supplier_details',
    'brands',
    'categories',
    'products',
    'product_prices',
    'product_stocks',
    'product_variants',
    'price_history',
    'stock_history',
    'ean_resolutions',
  ],
  imports: [
    'import_configs',
    'import_schedules',
    'mapping_templates',
    'import_jobs',
    'import_logs',
    'import_errors',
    'import_files',
    'import_statistics',
  ],
  exports: ['export_platforms', 'export_jobs', 'export_job_items'],
  media: ['media_files', 'media_thumbnails'],
  code2asin: ['code2asin_jobs', 'code2asin_job_products', 'code2asin_results'],
  analytics: [
    'product_metrics',
    'supplier_metrics',
    'import_metrics',
    'reports',
    'audit_logs',
    'ai_usage_logs',
  ],
}

/** JSONB columns: their values are sent as JSON text (pg would turn a JS array into a PostgreSQL array). */
export const JSON_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  users: ['permissions'],
  notifications: ['metadata'],
  app_settings: ['value'],
  operation_runs: ['result'],
  products: ['technical_specs'],
  product_variants: ['attributes'],
  supplier_details: ['extra'],
  ean_resolutions: ['resolved_data'],
  import_batch_receipts: ['result'],
  import_configs: [
    'connection_config',
    'schedule_config',
    'field_mapping',
    'transformation_rules',
    'validation_rules',
  ],
  import_jobs: ['source'],
  mapping_templates: ['field_mapping'],
  import_logs: ['context'],
  import_errors: ['raw_row'],
  import_statistics: ['errors_by_code'],
  export_platforms: ['config', 'field_mappings'],
  export_jobs: ['selection'],
  export_job_items: ['exported_data', 'response_data'],
  code2asin_jobs: ['search_config', 'provider_config'],
  code2asin_results: ['amazon_data', 'amazon_images'],
  reports: ['parameters'],
  audit_logs: ['changes'],
}

type OtherDomain = Exclude<Domain, 'catalog'>
const OTHER_DOMAINS: readonly OtherDomain[] = [
  'core',
  'imports',
  'exports',
  'media',
  'code2asin',
  'analytics',
]

/** The table whose first row has a seed-independent id in each database (see generate/context anchorId). */
const ANCHOR_TABLES: { [D in OtherDomain]: keyof DatabaseOf<D> & string } = {
  core: 'users',
  imports: 'import_configs',
  exports: 'export_platforms',
  media: 'media_files',
  code2asin: 'code2asin_jobs',
  analytics: 'reports',
}

/** Bind parameters per statement stay well under PostgreSQL's 65535 limit. */
const MAX_PARAMS = 60_000
const MAX_ROWS = 1000

// Table names vary at run time here; the rows were type-checked against each domain's DB when generated.
type LooseDb = Kysely<Record<string, Record<string, unknown>>>

function toParams(row: Record<string, unknown>, jsonColumns: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [column, value] of Object.entries(row)) {
    if (value instanceof Date) {
      // TIMESTAMP (no zone) columns hold UTC; an ISO string is read the same whatever the process's zone.
      out[column] = value.toISOString()
    } else if (value !== null && value !== undefined && jsonColumns.includes(column)) {
      out[column] = JSON.stringify(value)
    } else {
      out[column] = value
    }
  }
  return out
}

/** Multi-row INSERTs in chunks of at most MAX_ROWS rows and MAX_PARAMS parameters. */
async function insertRows(db: LooseDb, table: string, rows: readonly object[]): Promise<void> {
  if (rows.length === 0) return
  const columns = new Set<string>()
  for (const row of rows) for (const column of Object.keys(row)) columns.add(column)
  const size = Math.max(1, Math.min(MAX_ROWS, Math.floor(MAX_PARAMS / columns.size)))
  const jsonColumns = JSON_COLUMNS[table] ?? []
  for (let start = 0; start < rows.length; start += size) {
    const chunk = rows
      .slice(start, start + size)
      .map((r) => toParams(r as Record<string, unknown>, jsonColumns))
    await db.insertInto(table).values(chunk).execute()
  }
}

async function catalogHasProducts(db: Kysely<DatabaseOf<'catalog'>>): Promise<boolean> {
  const row = await db.selectFrom('products').select('id').limit(1).executeTakeFirst()
  return row !== undefined
}

type ProbeState = 'absent' | 'present' | 'foreign'

/**
 * Whether a database already holds this data set (a previous run committed it, then failed before the
 * catalog), holds another demo data set (other seed or product count), or none.
 */
async function probe(db: LooseDb, domain: OtherDomain, data: DemoData): Promise<ProbeState> {
  const table = ANCHOR_TABLES[domain]
  const rows = (data.rows[domain] as Record<string, { id?: unknown }[]>)[table]!
  const anchor = String(rows[0]!.id)
  const own = String(rows.at(-1)!.id)
  const found = await sql<{
    id: string
  }>`SELECT id::text AS id FROM ${sql.table(table)} WHERE id IN (${anchor}, ${own})`
    .execute(db)
    .then((r) => new Set(r.rows.map((row) => row.id)))
  if (found.size === 0) return 'absent'
  return found.has(anchor) && found.has(own) ? 'present' : 'foreign'
}

async function seedDatabase<D extends Domain>(
  db: Kysely<DatabaseOf<D>>,
  domain: D,
  rows: DomainRows<D>,
): Promise<{ inserted: number; skipped: boolean }> {
  const loose = db as unknown as LooseDb
  return loose.transaction().execute(async (trx) => {
    if (domain === 'catalog') {
      // Serialises concurrent seeders; the one that finds products already there writes nothing.
      await sql`LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE`.execute(trx)
      if (await catalogHasProducts(trx as unknown as Kysely<DatabaseOf<'catalog'>>))
        return { inserted: 0, skipped: true }
    }
    let inserted = 0
    for (const table of TABLE_ORDER[domain]) {
      const list = (rows as Record<string, object[]>)[table] ?? []
      if (table === 'import_logs') await ensureImportLogPartitions(trx, list as { created_at?: unknown }[])
      await insertRows(trx, table, list)
      inserted += list.length
    }
    return { inserted, skipped: false }
  })
}

/** Monthly partitions (and the next month) for every month the logs fall in, so none lands in the default one. */
async function ensureImportLogPartitions(db: LooseDb, logs: { created_at?: unknown }[]): Promise<void> {
  const months = new Set<string>()
  for (const log of logs) {
    if (log.created_at instanceof Date) months.add(`${log.created_at.toISOString().slice(0, 7)}-01`)
  }
  for (const month of [...months].sort()) {
    await sql`SELECT ensure_import_logs_partitions(1, ${month}::date)`.execute(db)
  }
}

/**
 * Seeds the demo data set when the catalog has no products; returns false (and writes nothing) when
 * data exists.
 *
 * Each database is written in ONE transaction (all or nothing per database); the six other databases
 * first (in parallel), the catalog LAST. Partial-failure rule: the catalog is the "seeded" marker, so
 * a run that fails anywhere leaves the catalog empty and the next run retries. A database that an
 * earlier failed run did commit is recognised by its anchor row and the data set's own ids (same seed
 * and product count give the same ids) and is kept as it is, not written twice; the run then fills in
 * the databases that failed and the catalog. A database holding a demo data set of another seed or
 * product count makes the run stop before writing anything (retry with the same options, or clear it).
 */
export async function seedDemoData(dbs: SeedDatabases, options: SeedOptions = {}): Promise<SeedResult> {
  const log = options.log ?? (() => {})
  resolveOptions(options)
  if (await catalogHasProducts(dbs.catalog)) {
    log('demo data: the catalog already has products, nothing seeded')
    return { seeded: false, counts: {} }
  }
  const started = performance.now()
  const data = generateDemoData(options)
  const total = Object.values(data.counts).reduce((n, c) => n + c, 0)
  log(`demo data: ${total} rows generated in ${Math.round(performance.now() - started)} ms`)

  const loose = (domain: Domain) => dbs[domain] as unknown as LooseDb
  const states = await Promise.all(OTHER_DOMAINS.map((d) => probe(loose(d), d, data)))
  const foreign = OTHER_DOMAINS.filter((_, i) => states[i] === 'foreign')
  if (foreign.length > 0) {
    throw new Error(
      `demo data: ${foreign.map(databaseName).join(', ')} already hold(s) demo data of another seed or product count ` +
        `(an earlier run failed before seeding the catalog); rerun with those options or clear those databases`,
    )
  }
  const pending = OTHER_DOMAINS.filter((d, i) => {
    if (states[i] === 'present')
      log(`demo data: ${databaseName(d)} already holds this data set from an earlier run, kept`)
    return states[i] === 'absent'
  })
  const seedOne = <D extends Domain>(domain: D) => seedDatabase(dbs[domain], domain, data.rows[domain])
  const outcomes = await Promise.allSettled(
    pending.map(async (domain) => {
      const t0 = performance.now()
      const { inserted } = await seedOne(domain)
      log(`demo data: ${databaseName(domain)} ${inserted} rows in ${Math.round(performance.now() - t0)} ms`)
    }),
  )
  const failures = outcomes.flatMap((o, i) =>
    o.status === 'rejected' ? [{ domain: pending[i]!, error: o.reason as unknown }] : [],
  )
  if (failures.length > 0) {
    const detail = failures
      .map(
        ({ domain, error }) =>
          `${databaseName(domain)}: ${error instanceof Error ? error.message : String(error)}`,
      )
      .join('; ')
    throw new Error(
      `demo data: seeding failed and was rolled back in ${failures.map((f) => databaseName(f.domain)).join(', ')} (${detail}); ` +
        'the catalog was left empty, so the next run retries',
      { cause: failures[0]!.error },
    )
  }

  const t0 = performance.now()
  const catalog = await seedDatabase(dbs.catalog, 'catalog', data.rows.catalog)
  if (catalog.skipped) {
    log('demo data: another process seeded the catalog meanwhile, nothing more written')
    return { seeded: false, counts: {} }
  }
  log(
    `demo data: ${databaseName('catalog')} ${catalog.inserted} rows in ${Math.round(performance.now() - t0)} ms`,
  )
  // The triggers scored the products without their images (media's data): tell catalog which have one, as
  // media does after each attach. Idempotent; analytics' daily recompute would catch up otherwise.
  const withImages = [
    ...new Set(data.rows.media.media_files.flatMap((f) => (f.product_id ? [f.product_id] : []))),
  ]
  if (withImages.length > 0) {
    await sql`UPDATE product_completeness SET has_image = true
      WHERE product_id = ANY (${withImages}::uuid[]) AND NOT has_image`.execute(dbs.catalog)
    await sql`SELECT refresh_product_completeness(${withImages}::uuid[])`.execute(dbs.catalog)
  }
  log(`demo data: ${data.options.products} products seeded in ${Math.round(performance.now() - started)} ms`)
  return { seeded: true, counts: data.counts }
}
