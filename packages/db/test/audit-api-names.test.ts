/**
 * The data migration that gives catalog's old audit entries the API's field names (analytics 007 on
 * audit_logs, catalog 008 on the outbox): run on a migrated database holding rows of both shapes.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createMigratedDatabase, type TestDatabase } from '@pm/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const MIGRATION = fileURLToPath(
  new URL('../../../migrations/analytics/007_audit_api_field_names.sql', import.meta.url),
)
const upPart = (text: string) => text.slice(text.indexOf('-- migrate:up'), text.indexOf('-- migrate:down'))

let database: TestDatabase
let client: pg.Client

beforeAll(async () => {
  database = await createMigratedDatabase('analytics', 'audit_api_names')
  client = new pg.Client({ connectionString: database.url })
  await client.connect()
}, 120_000)
afterAll(async () => {
  await client?.end()
  await database?.drop()
})

async function insert(entityType: string, action: string, changes: unknown) {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO audit_logs (action, entity_type, entity_id, changes) VALUES ($1, $2, 'x', $3) RETURNING id`,
    [action, entityType, JSON.stringify(changes)],
  )
  return rows[0]!.id
}

const changesOf = async (id: string) =>
  (await client.query('SELECT changes FROM audit_logs WHERE id = $1', [id])).rows[0].changes

describe('audit entries in the API names (migration)', () => {
  it("renames catalog's column names in before/after (and supplier details), leaves the rest as written", async () => {
    const product = await insert('product', 'deactivate', {
      before: { is_active: true, status: 'active', technical_specs: { max_rpm: 3 } },
      after: { is_active: false, status: 'inactive' },
    })
    const supplier = await insert('supplier', 'update', {
      before: { contact_email: null, details: { minimum_order_amount: '10.00', lead_time_days: 3 } },
      after: { contact_email: 'a@b.c', details: { minimum_order_amount: '12.00', lead_time_days: 4 } },
    })
    const category = await insert('category', 'update', {
      before: { completeness_required: null },
      after: { completeness_required: ['ean'] },
      reason: 'kept',
    })
    const already = await insert('product', 'update', {
      before: { isActive: true },
      after: { isActive: false },
    })
    const freeForm = await insert('report', 'download', { before: { file_name: 'x' }, some_key: 1 })
    const counts = await insert('import', 'import_products', { created: 3, price_source: 'x' })

    await client.query(upPart(readFileSync(MIGRATION, 'utf8')))

    expect(await changesOf(product)).toEqual({
      // Values are kept as they were: only the names of the recorded fields change.
      before: { isActive: true, status: 'active', technicalSpecs: { max_rpm: 3 } },
      after: { isActive: false, status: 'inactive' },
    })
    expect(await changesOf(supplier)).toEqual({
      before: { contactEmail: null, details: { minimumOrderAmount: '10.00', leadTimeDays: 3 } },
      after: { contactEmail: 'a@b.c', details: { minimumOrderAmount: '12.00', leadTimeDays: 4 } },
    })
    expect(await changesOf(category)).toEqual({
      before: { completenessRules: null },
      after: { completenessRules: ['ean'] },
      reason: 'kept',
    })
    expect(await changesOf(already)).toEqual({ before: { isActive: true }, after: { isActive: false } })
    expect(await changesOf(freeForm)).toEqual({ before: { file_name: 'x' }, some_key: 1 })
    expect(await changesOf(counts)).toEqual({ created: 3, price_source: 'x' })
    // The helper function is gone once the migration ran.
    const fn = await client.query(`SELECT 1 FROM pg_proc WHERE proname = 'audit_api_names'`)
    expect(fn.rowCount).toBe(0)
  })
})
