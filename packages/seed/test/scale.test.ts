import { createDomainDatabase, DOMAINS, type Domain, type DomainDatabase, type PoolSettings } from '@pm/db'
import { createMigratedDatabase, type TestDatabase } from '@pm/testing'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DataSetNotEmptyError,
  type LoadResult,
  loadDataSet,
  planDataSet,
  resetDatabases,
  type SeedDatabases,
} from '../src'
import { TableSink } from '../src/load/sink'
import type { DomainSinks } from '../src/scale/generate'
import { TABLE_ORDER } from '../src/seed'

const POOL: PoolSettings = {
  size: 1,
  maxOverflow: 1,
  acquireTimeoutMs: 30_000,
  recycleMs: 3_600_000,
  idleTimeoutMs: 10_000,
  prePingIdleMs: 1_000,
}
const NOW = new Date()
const DAY = 86_400_000
const PRODUCTS = 3000

type AnyDb = Kysely<any>

interface DatabaseSet {
  dbs: SeedDatabases
  db(domain: Domain): AnyDb
  close(): Promise<void>
}

async function openDatabaseSet(prefix: string): Promise<DatabaseSet> {
  const tests: TestDatabase[] = await Promise.all(
    DOMAINS.map((d) => createMigratedDatabase(d, `${prefix}_${d}`)),
  )
  const databases = DOMAINS.map((domain, i) =>
    createDomainDatabase({ domain, url: tests[i]!.url, pool: POOL }),
  ) as DomainDatabase[]
  const dbs = Object.fromEntries(databases.map((d) => [d.domain, d.db])) as SeedDatabases
  return {
    dbs,
    db: (domain) => dbs[domain] as AnyDb,
    async close() {
      await Promise.all(databases.map((d) => d.destroy()))
      await Promise.all(tests.map((t) => t.drop()))
    },
  }
}

async function rows<T>(db: AnyDb, query: RawBuilder<T>): Promise<T[]> {
  return (await query.execute(db)).rows
}

async function one(db: AnyDb, query: RawBuilder<{ n: number }>): Promise<number> {
  return (await rows(db, query))[0]!.n
}

async function countAll(set: DatabaseSet): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const domain of DOMAINS) {
    for (const table of TABLE_ORDER[domain] as string[]) {
      out[table] = await one(set.db(domain), sql`SELECT count(*)::int AS n FROM ${sql.table(table)}`)
    }
  }
  return out
}

/** Rows per product of a child table: [min, max, average over all products]. */
async function perProduct(set: DatabaseSet, domain: Domain, table: string, column = 'product_id') {
  const counts = (
    await rows<{ n: number }>(
      set.db(domain),
      sql`SELECT count(*)::int AS n FROM ${sql.table(table)} GROUP BY ${sql.ref(column)}`,
    )
  ).map((r) => r.n)
  const total = counts.reduce((a, b) => a + b, 0)
  return {
    min: Math.min(...counts),
    max: Math.max(...counts),
    avg: total / PRODUCTS,
    products: counts.length,
  }
}

/** Counts every table the plan fills, without a database. */
async function plannedCounts(
  seed?: number,
): Promise<{ counts: Record<string, number>; firstProductId: string }> {
  const plan = planDataSet({ products: PRODUCTS, now: NOW, ...(seed !== undefined ? { seed } : {}) })
  const sinks = Object.fromEntries(
    DOMAINS.map((d) => [
      d,
      Object.fromEntries((TABLE_ORDER[d] as string[]).map((t) => [t, new TableSink(t)])),
    ]),
  ) as Record<Domain, Record<string, TableSink>>
  // Each domain's sinks are TableSinks of its own tables: what its producer writes to.
  const produce = <D extends Domain>(d: D) =>
    plan.producers[d](sinks[d] as unknown as DomainSinks<D>, () => new Promise((r) => setImmediate(r)))
  await Promise.all(DOMAINS.map(produce))
  const counts: Record<string, number> = {}
  for (const d of DOMAINS) for (const [t, s] of Object.entries(sinks[d])) counts[t] = s.rows
  const firstLine = (await sinks.catalog.products![Symbol.asyncIterator]().next()).value as Buffer
  return { counts, firstProductId: firstLine.subarray(5).toString('utf8').split('\t')[0]! }
}

describe('loadDataSet: the large data set, 3,000 products', () => {
  let set: DatabaseSet
  let result: LoadResult
  const lines: string[] = []

  beforeAll(async () => {
    set = await openDatabaseSet('scale')
    result = await loadDataSet(set.dbs, { products: PRODUCTS, now: NOW, log: (m) => lines.push(m) })
    console.info(`loadDataSet: ${PRODUCTS} products in ${Math.round(result.ms)} ms\n${lines.join('\n')}`)
  })
  afterAll(() => set?.close())

  it('stores what it reports, table by table, and reports progress per table', async () => {
    expect(await countAll(set)).toEqual(result.counts)
    expect(lines.some((l) => /db_catalog\.products\s+3,000 rows/.test(l))).toBe(true)
    expect(lines.some((l) => /db_media\.media_thumbnails/.test(l))).toBe(true)
    expect(lines.at(-1)).toMatch(/[\d,]+ rows in \d+ tables, analyzed and committed: total [\d,]+ ms/)
    // ANALYZE ran inside each load's transaction and its statistics were committed with the rows.
    for (const [domain, table] of [
      ['catalog', 'products'],
      ['media', 'media_thumbnails'],
      ['imports', 'import_jobs'],
    ] as const) {
      const stats = await one(
        set.db(domain),
        sql`SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = 'public' AND tablename = ${table}`,
      )
      expect(stats, table).toBeGreaterThan(0)
    }
  })

  it('has the proportions of the issue', async () => {
    const c = result.counts
    expect(c.products).toBe(PRODUCTS)
    expect(c.suppliers).toBe(50)
    expect(c.supplier_details).toBe(50)
    expect(c.brands).toBe(2000)
    expect(c.categories).toBeGreaterThanOrEqual(450)
    expect(c.categories).toBeLessThanOrEqual(550)

    const prices = await perProduct(set, 'catalog', 'product_prices')
    expect([prices.min, prices.max, prices.products]).toEqual([1, 3, PRODUCTS])
    expect(prices.avg).toBeGreaterThan(1.5)
    expect(prices.avg).toBeLessThan(2)
    const stocks = await perProduct(set, 'catalog', 'product_stocks')
    expect([stocks.min, stocks.max, stocks.products]).toEqual([1, 1, PRODUCTS])
    const variants = await perProduct(set, 'catalog', 'product_variants')
    expect(variants.max).toBe(3)
    expect(variants.avg).toBeGreaterThan(0.7)
    expect(variants.avg).toBeLessThan(1.2)
    const media = await perProduct(set, 'media', 'media_files')
    expect(media.max).toBe(5)
    expect(media.products).toBeLessThan(PRODUCTS) // some have none
    expect(media.avg).toBeGreaterThan(2)
    expect(media.avg).toBeLessThan(3)
    expect(c.media_thumbnails).toBe(3 * c.media_files!)
    const thumbnails = await perProduct(set, 'media', 'media_thumbnails', 'media_file_id')
    expect([thumbnails.min, thumbnails.max]).toEqual([3, 3])
    const asin = await perProduct(set, 'code2asin', 'code2asin_results')
    expect(asin.max).toBe(2)
    expect(asin.avg).toBeGreaterThan(0.6)
    expect(asin.avg).toBeLessThan(0.9)

    // 30 days of metrics for one product in ten.
    const metrics = await rows<{ n: number; days: number; first: string; last: string }>(
      set.db('analytics'),
      sql`SELECT count(DISTINCT product_id)::int AS n, max(d)::int AS days, min(f)::text AS first, max(l)::text AS last
          FROM (SELECT product_id, count(*) AS d, min(date) AS f, max(date) AS l FROM product_metrics GROUP BY 1) t`,
    )
    expect(metrics[0]!.n / PRODUCTS).toBeGreaterThan(0.08)
    expect(metrics[0]!.n / PRODUCTS).toBeLessThan(0.12)
    expect(metrics[0]!.days).toBe(30)
    expect(metrics[0]!.last).toBe(NOW.toISOString().slice(0, 10))
    expect(c.supplier_metrics).toBe(50 * 30)

    // A year of import jobs (one per ten products, at least 240) with logs; export jobs with items.
    expect(c.import_jobs).toBe(300)
    expect(c.import_logs! / c.import_jobs!).toBeGreaterThan(5)
    const span = await rows<{ oldest: Date; newest: Date; months: number }>(
      set.db('imports'),
      sql`SELECT min(created_at) AS oldest, max(created_at) AS newest,
                 count(DISTINCT date_trunc('month', created_at))::int AS months FROM import_jobs`,
    )
    expect(NOW.getTime() - span[0]!.oldest.getTime()).toBeGreaterThan(330 * DAY)
    expect(NOW.getTime() - span[0]!.oldest.getTime()).toBeLessThanOrEqual(365 * DAY)
    expect(span[0]!.months).toBeGreaterThanOrEqual(12)
    expect(c.export_jobs).toBe(20)
    expect(c.export_job_items! / PRODUCTS).toBeGreaterThan(0.25)
    expect(c.export_job_items! / PRODUCTS).toBeLessThan(0.55)

    // Users and module settings as in the demo set; the roles and permissions are the migrations'.
    expect(c.users).toBe(8)
    expect([c.roles, c.permissions, c.role_permissions]).toEqual([undefined, undefined, undefined])
    const modules = await one(
      set.db('core'),
      sql`SELECT count(*)::int AS n FROM app_settings WHERE category = 'modules'`,
    )
    expect(modules).toBe(17)
  })

  it('creates a monthly import_logs partition for each month of logs, and nothing lands in the default', async () => {
    expect(await one(set.db('imports'), sql`SELECT count(*)::int AS n FROM import_logs_default`)).toBe(0)
    const partitions = await rows<{ name: string; n: number }>(
      set.db('imports'),
      sql`SELECT tableoid::regclass::text AS name, count(*)::int AS n FROM import_logs GROUP BY 1`,
    )
    const month = (offset: number) => {
      const d = new Date(Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth() + offset, 1))
      return `import_logs_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`
    }
    const expected = Array.from({ length: 12 }, (_, i) => month(-i))
    expect(partitions.map((p) => p.name)).toEqual(expect.arrayContaining(expected))
    expect(partitions.reduce((n, p) => n + p.n, 0)).toBe(result.counts.import_logs)
  })

  it('keeps every foreign key of every database', async () => {
    for (const domain of DOMAINS) {
      const keys = await rows<{ conname: string; child: string; parent: string; ccol: string; pcol: string }>(
        set.db(domain),
        sql`SELECT c.conname, c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent,
                   ca.attname AS ccol, pa.attname AS pcol
            FROM pg_constraint c
            JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = c.conkey[1]
            JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
            WHERE c.contype = 'f' AND c.conparentid = 0 AND cardinality(c.conkey) = 1`,
      )
      for (const k of keys) {
        const orphans = await one(
          set.db(domain),
          sql`SELECT count(*)::int AS n FROM ${sql.table(k.child)} c WHERE c.${sql.ref(k.ccol)} IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM ${sql.table(k.parent)} p WHERE p.${sql.ref(k.pcol)} = c.${sql.ref(k.ccol)})`,
        )
        expect(orphans, `${domain}.${k.conname}`).toBe(0)
      }
    }
    // The triggers were only off for the loading session: a bad row is still refused.
    await expect(
      sql`INSERT INTO product_prices (product_id, price) VALUES (gen_random_uuid(), 1)`.execute(
        set.db('catalog'),
      ),
    ).rejects.toThrow(/foreign key/)
  })

  it('points every cross-database reference at a row that exists (the set has no orphans)', async () => {
    const ids = async (domain: Domain, query: RawBuilder<unknown>) =>
      new Set((await rows(set.db(domain), query as RawBuilder<{ id: string | null }>)).map((r) => r.id))
    const products = await ids('catalog', sql`SELECT id::text AS id FROM products`)
    const suppliers = await ids('catalog', sql`SELECT id::text AS id FROM suppliers`)
    const codes = await ids('catalog', sql`SELECT code AS id FROM suppliers`)
    const users = await ids('core', sql`SELECT id::text AS id FROM users`)
    const references: [Domain, string, Set<string | null>, boolean][] = [
      ['media', 'SELECT DISTINCT product_id::text AS id FROM media_files', products, false],
      ['code2asin', 'SELECT DISTINCT product_id::text AS id FROM code2asin_results', products, false],
      ['exports', 'SELECT DISTINCT product_id::text AS id FROM export_job_items', products, false],
      ['analytics', 'SELECT DISTINCT product_id::text AS id FROM product_metrics', products, false],
      ['analytics', 'SELECT DISTINCT supplier_id::text AS id FROM supplier_metrics', suppliers, false],
      ['imports', 'SELECT DISTINCT supplier_code AS id FROM import_configs', codes, false],
      ['imports', 'SELECT DISTINCT supplier_code AS id FROM import_jobs', codes, false],
      ['imports', 'SELECT DISTINCT created_by::text AS id FROM import_jobs', users, true],
      ['code2asin', 'SELECT DISTINCT supplier_code AS id FROM code2asin_jobs', codes, true],
      ['catalog', 'SELECT DISTINCT changed_by::text AS id FROM price_history', users, true],
      ['catalog', 'SELECT DISTINCT changed_by::text AS id FROM stock_history', users, true],
      ['analytics', 'SELECT DISTINCT created_by::text AS id FROM reports', users, true],
      ['analytics', 'SELECT DISTINCT user_id::text AS id FROM audit_logs', users, true],
    ]
    for (const [domain, query, targets, nullable] of references) {
      const found = await ids(domain, sql.raw(query))
      expect(found.size, query).toBeGreaterThan(0)
      const missing = [...found].filter((id) => !(id === null ? nullable : targets.has(id)))
      expect(missing, query).toEqual([])
    }
    // A verified ASIN match is the one recorded on the product.
    const verified = await rows<{ product_id: string; asin: string }>(
      set.db('code2asin'),
      sql`SELECT product_id::text, asin FROM code2asin_results WHERE is_verified`,
    )
    const onProducts = new Map(
      (
        await rows<{ id: string; asin: string }>(
          set.db('catalog'),
          sql`SELECT id::text, asin FROM products WHERE asin IS NOT NULL`,
        )
      ).map((p) => [p.id, p.asin]),
    )
    expect(verified.length).toBe(onProducts.size)
    for (const v of verified) expect(onProducts.get(v.product_id)).toBe(v.asin)
  })

  it('is deterministic: the same seed gives the same first product id and counts, another seed other ids', async () => {
    const again = await plannedCounts()
    expect(again.counts).toEqual(result.counts)
    const first = await rows<{ id: string }>(
      set.db('catalog'),
      sql`SELECT id::text AS id FROM products ORDER BY created_at, id LIMIT 1`,
    )
    expect(again.firstProductId).toBe(first[0]!.id)
    const other = await plannedCounts(7)
    expect(other.firstProductId).not.toBe(again.firstProductId)
    expect(other.counts.products).toBe(PRODUCTS)
  })

  it('refuses to load into a catalog that has products, writing nothing', async () => {
    const before = await countAll(set)
    const attempt = loadDataSet(set.dbs, { products: 10, now: NOW })
    await expect(attempt).rejects.toBeInstanceOf(DataSetNotEmptyError)
    await expect(attempt).rejects.toThrow(/db_catalog already has 3,000 products.*--reset/)
    expect(await countAll(set)).toEqual(before)
  })

  it('resetDatabases empties every table but the migration history and the roles the migrations made', async () => {
    const emptied = await resetDatabases(set.dbs)
    expect(emptied).toEqual(
      expect.arrayContaining(['db_catalog.public.products', 'db_imports.public.import_logs']),
    )
    expect(emptied.some((t) => t.includes('schema_migrations'))).toBe(false)
    expect(emptied.filter((t) => /\.(roles|permissions|role_permissions)$/.test(t))).toEqual([])
    expect(await one(set.db('core'), sql`SELECT count(*)::int AS n FROM roles`)).toBe(8)
    expect(Object.values(await countAll(set)).every((n) => n === 0)).toBe(true)
    expect(
      await one(set.db('catalog'), sql`SELECT count(*)::int AS n FROM pm.schema_migrations`),
    ).toBeGreaterThan(0)
  })
})

describe('loadDataSet when one database fails', () => {
  let set: DatabaseSet
  beforeAll(async () => {
    set = await openDatabaseSet('scalefail')
  })
  afterAll(() => set?.close())

  it('rolls all seven databases back and names the one that failed', async () => {
    await sql`ALTER TABLE media_thumbnails ADD CONSTRAINT seed_test_fail CHECK (width < 0) NOT VALID`.execute(
      set.db('media'),
    )
    await expect(loadDataSet(set.dbs, { products: 200, now: NOW })).rejects.toThrow(
      /loading db_media failed.*seed_test_fail.*rolled back/,
    )
    expect(Object.values(await countAll(set)).every((n) => n === 0)).toBe(true)
    await sql`ALTER TABLE media_thumbnails DROP CONSTRAINT seed_test_fail`.execute(set.db('media'))
    const result = await loadDataSet(set.dbs, { products: 200, now: NOW })
    expect(result.counts.products).toBe(200)
    expect(await countAll(set)).toEqual(result.counts)
  })

  it('checks foreign keys row by row, by their triggers, when a schema trigger fires on INSERT', async () => {
    await resetDatabases(set.dbs)
    await sql`
      CREATE FUNCTION seed_test_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
      CREATE TRIGGER seed_test_noop AFTER INSERT ON ean_resolutions FOR EACH STATEMENT EXECUTE FUNCTION seed_test_noop()`.execute(
      set.db('catalog'),
    )
    const lines: string[] = []
    const result = await loadDataSet(set.dbs, { products: 100, now: NOW, log: (m) => lines.push(m) })
    expect(lines[0]).toContain('foreign keys checked row by row')
    expect(lines.some((l) => l.includes('foreign keys verified'))).toBe(false)
    expect(await countAll(set)).toEqual(result.counts)
    await sql`DROP TRIGGER seed_test_noop ON ean_resolutions`.execute(set.db('catalog'))
  })

  it('lets one of two concurrent loads through; the other stops without writing', async () => {
    await resetDatabases(set.dbs)
    const outcomes = await Promise.allSettled([
      loadDataSet(set.dbs, { products: 150, now: NOW }),
      loadDataSet(set.dbs, { products: 150, now: NOW }),
    ])
    const loaded = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []))
    expect(loaded).toHaveLength(1)
    expect(refused).toHaveLength(1)
    expect(refused[0]).toBeInstanceOf(DataSetNotEmptyError)
    expect(await countAll(set)).toEqual(loaded[0]!.counts)
  })
})
