import { scryptSync } from 'node:crypto'
import { createDomainDatabase, DOMAINS, type Domain, type DomainDatabase, type PoolSettings } from '@pm/db'
import { PERMISSION_NAMES } from '@pm/service-kit'
import { createMigratedDatabase, type TestDatabase } from '@pm/testing'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_PASSWORD, generateDemoData, JSON_COLUMNS, type SeedDatabases, seedDemoData } from '../src'
import { ROLES, roleGrantNames } from '../src/fixtures'

const POOL: PoolSettings = {
  size: 2,
  maxOverflow: 2,
  acquireTimeoutMs: 10_000,
  recycleMs: 3_600_000,
  idleTimeoutMs: 10_000,
  prePingIdleMs: 1_000,
}
const NOW = new Date()

interface DatabaseSet {
  dbs: SeedDatabases
  statements: Record<Domain, number>
  close(): Promise<void>
}

/** Seven fresh migrated databases, one per domain, each behind a small pool. */
async function openDatabaseSet(prefix: string): Promise<DatabaseSet> {
  const tests: TestDatabase[] = await Promise.all(
    DOMAINS.map((d) => createMigratedDatabase(d, `${prefix}_${d}`)),
  )
  const statements = Object.fromEntries(DOMAINS.map((d) => [d, 0])) as Record<Domain, number>
  const databases = DOMAINS.map((domain, i) =>
    createDomainDatabase(
      { domain, url: tests[i]!.url, pool: POOL },
      { onQuery: () => void statements[domain]++ },
    ),
  ) as DomainDatabase[]
  return {
    dbs: Object.fromEntries(databases.map((d) => [d.domain, d.db])) as SeedDatabases,
    statements,
    async close() {
      await Promise.all(databases.map((d) => d.destroy()))
      await Promise.all(tests.map((t) => t.drop()))
    },
  }
}

type AnyDb = Kysely<any>
const db = (set: DatabaseSet, domain: Domain) => set.dbs[domain] as AnyDb

async function count(set: DatabaseSet, domain: Domain, table: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(
    db(set, domain),
  )
  return rows[0]!.n
}

async function countAll(
  set: DatabaseSet,
  data = generateDemoData({ now: NOW }),
): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const domain of DOMAINS) {
    for (const table of Object.keys(data.rows[domain])) out[table] = await count(set, domain, table)
  }
  return out
}

/** EAN-13 check digit, written independently of the seed's own helper. */
function validEan13(code: string): boolean {
  if (!/^\d{13}$/.test(code)) return false
  const digits = [...code].map(Number)
  const sum = digits.slice(0, 12).reduce((n, d, i) => n + d * (i % 2 === 0 ? 1 : 3), 0)
  return (10 - (sum % 10)) % 10 === digits[12]
}

/** Every date of the generated rows is at most `now`, but expiries and schedules. */
function expectNothingAfter(generated: ReturnType<typeof generateDemoData>, now: Date) {
  const future = new Set(['valid_until', 'expires_at', 'next_run'])
  for (const domain of DOMAINS) {
    for (const [table, rows] of Object.entries(
      generated.rows[domain] as Record<string, Record<string, unknown>[]>,
    )) {
      for (const row of rows) {
        for (const [column, value] of Object.entries(row)) {
          if (value instanceof Date && !future.has(column)) {
            expect(value.getTime(), `${table}.${column}`).toBeLessThanOrEqual(now.getTime())
          }
        }
      }
    }
  }
}

describe('seedDemoData on seven fresh databases', () => {
  let set: DatabaseSet
  let result: Awaited<ReturnType<typeof seedDemoData>>
  let elapsedMs: number
  let seedStatements: number
  const data = generateDemoData({ now: NOW })
  const lines: string[] = []

  beforeAll(async () => {
    set = await openDatabaseSet('seed')
    const started = performance.now()
    result = await seedDemoData(set.dbs, { now: NOW, log: (m) => lines.push(m) })
    elapsedMs = performance.now() - started
    seedStatements = Object.values(set.statements).reduce((n, c) => n + c, 0)
    console.info(`seedDemoData: 1000 products in ${Math.round(elapsedMs)} ms\n${lines.join('\n')}`)
  })
  afterAll(() => set?.close())

  it('seeds every table with the counts of the generated data set', async () => {
    expect(result.seeded).toBe(true)
    expect(result.counts).toEqual(data.counts)
    expect(await countAll(set)).toEqual(data.counts)
    expect(result.counts).toMatchObject({
      users: 8,
      products: 1000,
      suppliers: 12,
      brands: 25,
      export_platforms: 3,
    })
    expect(result.counts.categories).toBeGreaterThanOrEqual(40)
    expect(result.counts.product_metrics).toBe(200 * 30)
  })

  it('uses bulk statements: the statement count does not grow with the rows', () => {
    const rows = Object.values(data.counts).reduce((n, c) => n + c, 0)
    expect(rows).toBeGreaterThan(25_000)
    expect(seedStatements).toBeLessThan(120)
  })

  it('returns seeded:false and changes nothing when the catalog already has products', async () => {
    const before = await countAll(set)
    const statementsBefore = { ...set.statements }
    const again = await seedDemoData(set.dbs, { now: NOW })
    expect(again).toEqual({ seeded: false, counts: {} })
    // Only the catalog emptiness check ran: one statement, nothing against the other databases.
    for (const d of DOMAINS) expect(set.statements[d] - statementsBefore[d], d).toBe(d === 'catalog' ? 1 : 0)
    expect(await countAll(set)).toEqual(before)
  })

  it('derives the same ids from the same seed, and other ids from another seed', async () => {
    const again = generateDemoData({ now: new Date(NOW.getTime() + 86_400_000) })
    const other = generateDemoData({ seed: 7, now: NOW })
    for (const domain of DOMAINS) {
      for (const [table, rows] of Object.entries(data.rows[domain] as Record<string, { id?: unknown }[]>)) {
        const ids = rows.map((r) => r.id)
        expect(
          (again.rows[domain] as Record<string, { id?: unknown }[]>)[table]!.map((r) => r.id),
          table,
        ).toEqual(ids)
      }
    }
    expect(other.rows.catalog.products.map((p) => p.id)).not.toEqual(
      data.rows.catalog.products.map((p) => p.id),
    )
    const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    expect(data.rows.catalog.products.every((p) => uuidV4.test(p.id!))).toBe(true)
    const stored = await db(set, 'catalog').selectFrom('products').select('id').orderBy('id').execute()
    expect(stored.map((r) => r.id)).toEqual(data.rows.catalog.products.map((p) => p.id).sort())
  })

  it('points cross-database product references at catalog products, except ~2% intended orphans', async () => {
    const products = new Set(
      (await db(set, 'catalog').selectFrom('products').select('id').execute()).map((r) => r.id),
    )
    const orphans = new Set(data.orphanProductIds)
    for (const orphan of orphans) expect(products.has(orphan)).toBe(false)
    const references = [
      ['media', 'media_files'],
      ['code2asin', 'code2asin_results'],
      ['exports', 'export_job_items'],
    ] as const
    for (const [domain, table] of references) {
      const rows = await db(set, domain).selectFrom(table).select('product_id').execute()
      const missing = rows.filter((r) => !products.has(r.product_id))
      expect(
        missing.every((r) => orphans.has(r.product_id)),
        table,
      ).toBe(true)
      const share = missing.length / rows.length
      expect(share, table).toBeGreaterThan(0.01)
      expect(share, table).toBeLessThan(0.04)
    }
    const metrics = await db(set, 'analytics')
      .selectFrom('product_metrics')
      .select('product_id')
      .distinct()
      .execute()
    expect(metrics).toHaveLength(200)
    expect(metrics.every((r) => products.has(r.product_id))).toBe(true)
    const suppliers = await db(set, 'catalog').selectFrom('suppliers').select(['id', 'code']).execute()
    const supplierIds = new Set(suppliers.map((s) => s.id))
    const codes = new Set(suppliers.map((s) => s.code))
    const supplierMetrics = await db(set, 'analytics')
      .selectFrom('supplier_metrics')
      .select('supplier_id')
      .execute()
    expect(supplierMetrics.every((r) => supplierIds.has(r.supplier_id))).toBe(true)
    const configs = await db(set, 'imports').selectFrom('import_configs').select('supplier_code').execute()
    expect(configs.every((r) => codes.has(r.supplier_code))).toBe(true)
  })

  it('sets import_jobs.created_by to existing users or NULL', async () => {
    const users = new Set((await db(set, 'core').selectFrom('users').select('id').execute()).map((r) => r.id))
    const jobs = await db(set, 'imports').selectFrom('import_jobs').select(['created_by', 'status']).execute()
    const withUser = jobs.filter((j) => j.created_by !== null)
    expect(withUser.every((j) => users.has(j.created_by))).toBe(true)
    expect(withUser.length).toBeGreaterThan(0)
    expect(withUser.length).toBeLessThan(jobs.length)
    expect(new Set(jobs.map((j) => j.status))).toEqual(
      new Set(['completed', 'failed', 'cancelled', 'running', 'pending']),
    )
  })

  it('gives every product and variant a valid EAN-13, and every product at least one price', async () => {
    const products = await db(set, 'catalog').selectFrom('products').select('ean').execute()
    const variants = await db(set, 'catalog').selectFrom('product_variants').select('ean').execute()
    expect(products.every((p) => validEan13(p.ean))).toBe(true)
    expect(variants.every((v) => validEan13(v.ean))).toBe(true)
    expect(new Set([...products, ...variants].map((r) => r.ean)).size).toBe(products.length + variants.length)
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM products p
      WHERE NOT EXISTS (SELECT 1 FROM product_prices pp WHERE pp.product_id = p.id)`.execute(
      db(set, 'catalog'),
    )
    expect(rows[0]!.n).toBe(0)
    const active = await count(set, 'catalog', 'products').then(async (total) => {
      const { rows } = await sql<{
        n: number
      }>`SELECT count(*)::int AS n FROM products WHERE is_active`.execute(db(set, 'catalog'))
      return rows[0]!.n / total
    })
    expect(active).toBeGreaterThan(0.85)
    expect(active).toBeLessThan(0.97)
  })

  it('stores NUMERIC values exactly as generated', async () => {
    const checks = [
      ['catalog', 'product_prices', ['price', 'cost', 'margin']],
      ['catalog', 'products', ['weight', 'width', 'height', 'depth']],
      ['catalog', 'product_variants', ['price']],
      ['catalog', 'supplier_details', ['minimum_order_amount']],
      ['code2asin', 'code2asin_results', ['match_confidence', 'amazon_price', 'amazon_rating']],
      ['analytics', 'product_metrics', ['conversion_rate', 'revenue']],
      ['analytics', 'supplier_metrics', ['success_rate']],
      ['import', 'import_statistics', ['rows_per_second']],
    ] as const
    for (const [domainName, table, columns] of checks) {
      const domain = (domainName === 'import' ? 'imports' : domainName) as Domain
      const key = table === 'supplier_details' ? 'supplier_id' : 'id'
      const generated = (data.rows[domain] as Record<string, Record<string, unknown>[]>)[table]!
      const stored = new Map(
        (
          await db(set, domain)
            .selectFrom(table)
            .select([key, ...columns])
            .execute()
        ).map((r) => [r[key], r]),
      )
      for (const row of generated) {
        const back = stored.get(row[key])
        for (const column of columns) expect(back![column], `${table}.${column}`).toBe(row[column] ?? null)
      }
    }
    const ai = await db(set, 'analytics').selectFrom('ai_usage_logs').select('cost').orderBy('id').execute()
    expect(ai.map((r) => r.cost)).toEqual(data.rows.analytics.ai_usage_logs.map((r) => r.cost))
  })

  it('puts import logs in monthly partitions, this month and last month included', async () => {
    expect(await count(set, 'imports', 'import_logs_default')).toBe(0)
    const month = (offset: number) => {
      const d = new Date(Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth() + offset, 1))
      return `import_logs_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`
    }
    const { rows } = await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'import_logs'::regclass`.execute(db(set, 'imports'))
    const partitions = rows.map((r) => r.name)
    expect(partitions).toEqual(expect.arrayContaining([month(-1), month(0), month(1)]))
    const jobs = await count(set, 'imports', 'import_jobs')
    const { rows: withLogs } = await sql<{
      n: number
    }>`SELECT count(DISTINCT job_id)::int AS n FROM import_logs`.execute(db(set, 'imports'))
    expect(withLogs[0]!.n).toBe(jobs)
  })

  it('gives most products with media exactly one primary image and some none', async () => {
    const { rows } = await sql<{ primaries: number; n: number }>`
      SELECT primaries, count(*)::int AS n FROM (
        SELECT product_id, count(*) FILTER (WHERE is_primary)::int AS primaries FROM media_files GROUP BY product_id
      ) t GROUP BY primaries ORDER BY primaries`.execute(db(set, 'media'))
    const byCount = Object.fromEntries(rows.map((r) => [r.primaries, r.n]))
    expect(byCount[1]).toBeGreaterThan(700)
    expect(byCount[0]).toBeGreaterThan(20)
    expect(byCount[2]).toBeUndefined()
    expect(await count(set, 'media', 'media_thumbnails')).toBe(3 * (await count(set, 'media', 'media_files')))
  })

  it('stores a real scrypt hash of the demo password and one module setting per module', async () => {
    const users = await db(set, 'core').selectFrom('users').select(['role', 'hashed_password']).execute()
    expect(new Set(users.map((u) => u.role)).size).toBe(8)
    for (const { hashed_password } of users) {
      const [scheme, N, r, p, salt, hash] = hashed_password.split('$')
      expect(scheme).toBe('scrypt')
      const derived = scryptSync(DEMO_PASSWORD, Buffer.from(salt, 'hex'), hash.length / 2, {
        N: Number(N),
        r: Number(r),
        p: Number(p),
      })
      expect(derived.toString('hex')).toBe(hash)
    }
    const modules = await db(set, 'core')
      .selectFrom('app_settings')
      .select(['key', 'value'])
      .where('category', '=', 'modules')
      .execute()
    expect(modules).toHaveLength(17)
    expect(modules.every((m) => (m.value as { enabled: boolean }).enabled === true)).toBe(true)
  })

  it('uses the roles, permissions and grants the migrations made: exactly those of fixtures.ts', async () => {
    const core = db(set, 'core')
    // Every demo user's role exists.
    const { rows: orphans } = await sql<{ role: string }>`
      SELECT DISTINCT u.role FROM users u LEFT JOIN roles r ON r.name = u.role WHERE r.id IS NULL`.execute(
      core,
    )
    expect(orphans).toEqual([])
    const permissions = await core.selectFrom('permissions').select(['name', 'resource', 'action']).execute()
    expect(permissions.map((p) => p.name).sort()).toEqual([...PERMISSION_NAMES].sort())
    for (const p of permissions) expect(p.name).toBe(`${p.resource}:${p.action}`)
    const roles = await core.selectFrom('roles').select(['name', 'description', 'is_active']).execute()
    expect(roles.sort((x, y) => x.name.localeCompare(y.name))).toEqual(
      ROLES.map((r) => ({ name: r.name, description: r.description, is_active: true })).sort((x, y) =>
        x.name.localeCompare(y.name),
      ),
    )
    const { rows } = await sql<{ role: string; grants: string[] }>`
      SELECT r.name AS role, array_agg(p.name ORDER BY p.name) AS grants
      FROM roles r JOIN role_permissions rp ON rp.role_id = r.id JOIN permissions p ON p.id = rp.permission_id
      GROUP BY r.name`.execute(core)
    const grants = Object.fromEntries(rows.map((r) => [r.role, [...r.grants].sort()]))
    expect(grants).toEqual(roleGrantNames())
    // The private readers of costs and contacts, as the vocabulary's newest resources are granted.
    expect(
      Object.keys(grants)
        .filter((r) => grants[r]!.includes('cost:read'))
        .sort(),
    ).toEqual(['admin', 'analyst', 'importer', 'manager'])
    expect(
      Object.keys(grants)
        .filter((r) => grants[r]!.includes('supplier_contact:read'))
        .sort(),
    ).toEqual(['admin', 'importer', 'manager'])
  })

  it('dates nothing after now except expiries and schedules, and spreads products over 18 months', () => {
    expectNothingAfter(data, NOW)
    const ages = data.rows.catalog.products.map(
      (p) => (NOW.getTime() - (p.created_at as Date).getTime()) / 86_400_000,
    )
    expect(Math.max(...ages)).toBeGreaterThan(500)
    expect(Math.max(...ages)).toBeLessThanOrEqual(549)
    expect(Math.min(...ages)).toBeLessThan(30)
  })

  it('dates nothing after now at any hour: just after midnight UTC, yesterday is not yet aggregated', () => {
    for (const time of ['00:00:01', '00:30:00', '01:59:59', '02:00:01']) {
      const now = new Date(`${NOW.toISOString().slice(0, 10)}T${time}Z`)
      expectNothingAfter(generateDemoData({ now }), now)
    }
  })
  it('lists every jsonb column of the schema in JSON_COLUMNS', async () => {
    for (const domain of DOMAINS) {
      const { rows } = await sql<{ table_name: string; column_name: string }>`
        SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND data_type = 'jsonb'`.execute(db(set, domain))
      for (const { table_name, column_name } of rows) {
        // Partitions share import_logs' columns; the audit outbox is written by the services, not seeded.
        if (table_name.startsWith('import_logs_') || table_name === 'audit_outbox') continue
        expect(JSON_COLUMNS[table_name] ?? [], `${table_name}.${column_name}`).toContain(column_name)
      }
    }
  })
})

describe('seedDemoData after a failed run', () => {
  let set: DatabaseSet
  const options = { products: 60, now: NOW }
  const data = generateDemoData(options)
  const breakTable = (domain: Domain, table: string) =>
    sql`
      CREATE OR REPLACE FUNCTION seed_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'simulated failure'; END $$;
      CREATE TRIGGER seed_test_fail BEFORE INSERT ON ${sql.table(table)}
      FOR EACH STATEMENT EXECUTE FUNCTION seed_test_fail()`.execute(db(set, domain))
  const repair = (domain: Domain, table: string) =>
    sql`DROP TRIGGER seed_test_fail ON ${sql.table(table)}`.execute(db(set, domain))

  beforeAll(async () => {
    set = await openDatabaseSet('seedfail')
  })
  afterAll(() => set?.close())

  it('rolls the failed database back, leaves the catalog empty, and completes on the next run', async () => {
    // Run 1: media fails. Its transaction rolls back; the catalog is never attempted.
    await breakTable('media', 'media_thumbnails')
    await expect(seedDemoData(set.dbs, options)).rejects.toThrow(
      /db_media.*simulated failure.*next run retries/,
    )
    expect(await count(set, 'media', 'media_files')).toBe(0)
    expect(await count(set, 'catalog', 'suppliers')).toBe(0)
    expect(await count(set, 'core', 'users')).toBe(8)
    await repair('media', 'media_thumbnails')

    // Run 2: the catalog fails on its last table. Everything it wrote is rolled back.
    await breakTable('catalog', 'ean_resolutions')
    const lines: string[] = []
    await expect(seedDemoData(set.dbs, { ...options, log: (m) => lines.push(m) })).rejects.toThrow(
      /simulated failure/,
    )
    expect(lines.filter((l) => l.includes('already holds this data set'))).toHaveLength(5)
    expect(await count(set, 'catalog', 'products')).toBe(0)
    expect(await count(set, 'media', 'media_files')).toBe(data.counts.media_files)
    expect(await count(set, 'core', 'users')).toBe(8)
    await repair('catalog', 'ean_resolutions')

    // Another seed while databases hold this one's rows: refused before writing anything.
    const before = await countAll(set, data)
    await expect(seedDemoData(set.dbs, { ...options, seed: 1 })).rejects.toThrow(
      /another seed or product count/,
    )
    expect(await countAll(set, data)).toEqual(before)

    // Run 3: completes; the databases committed earlier are kept, nothing is duplicated.
    const result = await seedDemoData(set.dbs, options)
    expect(result.seeded).toBe(true)
    expect(await countAll(set, data)).toEqual(data.counts)
  })
})
