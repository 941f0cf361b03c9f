import { seedDemoData } from '@pm/seed'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// An id written in upper case names the same row as in lower case in every subgraph: the UUID scalar
// normalises arguments once, so no resolver lower-cases ids by hand. Through the gateway, over HTTP.

let stack: TestStack

/** Every Query field that finds one entity by its id: subgraph, table holding it, field. */
const BY_ID = [
  ['core', 'users', 'user'],
  ['catalog', 'products', 'product'],
  ['catalog', 'product_variants', 'productVariant'],
  ['catalog', 'suppliers', 'supplier'],
  ['catalog', 'brands', 'brand'],
  ['catalog', 'categories', 'category'],
  ['imports', 'import_jobs', 'importJob'],
  ['imports', 'import_configs', 'importConfig'],
  ['exports', 'export_platforms', 'exportPlatform'],
  ['exports', 'export_jobs', 'exportJob'],
  ['media', 'media_files', 'mediaFile'],
  ['code2asin', 'code2asin_jobs', 'code2asinJob'],
  ['analytics', 'reports', 'report'],
  ['analytics', 'metric_runs', 'metricRun'],
] as const

const ids = new Map<string, string>()

beforeAll(async () => {
  stack = await startTestStack()
  const dbs = Object.fromEntries(Object.entries(stack.subgraphs).map(([d, s]) => [d, (s as any).database.db]))
  await seedDemoData(dbs as any, { products: 30 })
  // Every module on: the seed's module switches would otherwise refuse some of these fields.
  await sql`DELETE FROM app_settings WHERE category = 'modules'`.execute(dbs.core)
  // The seed records no metric run.
  await sql`INSERT INTO metric_runs (kind, date_from, date_to) VALUES ('import_metrics', '2026-01-01', '2026-01-31')`.execute(
    dbs.analytics,
  )
  for (const [domain, table] of BY_ID) {
    const row = await sql<{
      id: string
    }>`SELECT id::text AS id FROM ${sql.table(table)} ORDER BY id LIMIT 1`.execute(dbs[domain])
    if (row.rows[0]) ids.set(table, row.rows[0].id)
  }
}, 300_000)

afterAll(() => stack?.stop())

describe('an upper-case id finds the entity in every subgraph', () => {
  it.each(BY_ID)('%s: %s by %s(id:)', async (_domain, table, field) => {
    const id = ids.get(table)
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    const upper = id!.toUpperCase()
    expect(upper).not.toBe(id)
    const literal = await stack.request(`{ ${field}(id: "${upper}") { id } }`)
    expect(literal.errors).toBeUndefined()
    expect(literal.data[field]).toEqual({ id })
    const variable = await stack.request(`query($id: UUID!) { ${field}(id: $id) { id } }`, { id: upper })
    expect(variable.errors).toBeUndefined()
    expect(variable.data[field]).toEqual({ id })
  })
})
