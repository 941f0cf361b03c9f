import { createDomainDatabase, type DomainDatabase } from '@pm/db'
import type { DB } from '@pm/db/types/catalog'
import { createMigratedDatabase, type TestDatabase } from '@pm/testing'
import { TEST_POOL } from '@pm/testing/subgraph'
import { type Kysely, type Selectable, sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { diffValues, lockRow, notFound, sameValue, updateAudited } from '../src'

let testDatabase: TestDatabase
let database: DomainDatabase<'catalog'>
let db: Kysely<DB>

type ProductRow = Selectable<DB['products']>

/** What a subgraph's mapper does: API names, and a field the audit must never hold. */
const view = (row: ProductRow) => ({
  id: row.id,
  title: row.title,
  weight: row.weight,
  technicalSpecs: row.technical_specs,
  isActive: row.is_active,
  updatedAt: row.updated_at,
})

const missing = () => notFound('id: no product has this id', { field: 'id' })

async function outbox() {
  return db
    .selectFrom('audit_outbox')
    .select(['action', 'entity_type', 'entity_id', 'user_id', 'changes'])
    .orderBy('created_at')
    .orderBy('id')
    .execute()
}

let productId: string
const USER = '00000000-0000-4000-8000-00000000000a'

beforeAll(async () => {
  testDatabase = await createMigratedDatabase('catalog', 'audited_update')
  database = createDomainDatabase({ domain: 'catalog', url: testDatabase.url, pool: TEST_POOL })
  db = database.db
}, 120_000)
afterAll(async () => {
  await database?.destroy()
  await testDatabase?.drop()
})
beforeEach(async () => {
  await db.deleteFrom('audit_outbox').execute()
  await db.deleteFrom('products').execute()
  productId = (
    await db
      .insertInto('products')
      .values({
        title: 'Kettle',
        weight: '1.500',
        technical_specs: JSON.stringify({ volts: 230, plug: 'EU' }),
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id
})

describe('diffValues', () => {
  it('reports only defined keys whose value differs, both sides, and never updatedAt', () => {
    const before = { a: 1, b: 'x', c: null, updatedAt: new Date(0), d: '1.50', e: { k: [1, 2] } }
    const diff = diffValues(
      before,
      { a: 1, b: 'y', c: undefined, updatedAt: new Date(1), d: '1.5', e: '{"k":[1,2]}' },
      { numeric: new Set(['d']) },
    )
    expect(diff).toEqual({ before: { b: 'x' }, after: { b: 'y' } })
    expect(diffValues({ a: null }, { a: 0 })).toEqual({ before: { a: null }, after: { a: 0 } })
    expect(diffValues({}, { a: 'new' })).toEqual({ before: { a: null }, after: { a: 'new' } })
  })

  it('compares timestamps by instant, JSON by content, and treats a SQL expression as a change', () => {
    expect(sameValue(new Date('2026-01-01T00:00:00Z'), '2026-01-01T00:00:00.000Z')).toBe(true)
    expect(sameValue({ b: 1, a: [1] }, { a: [1], b: 1 })).toBe(true)
    expect(sameValue({ a: 1 }, { a: 2 })).toBe(false)
    expect(sameValue('1.0', '1', true)).toBe(true)
    expect(sameValue('1.0', '1')).toBe(false)
    expect(sameValue(null, sql`now()`)).toBe(false)
  })
})

describe('updateAudited (real PostgreSQL)', () => {
  it('writes only what differs and audits it as the API names it', async () => {
    const result = await db.transaction().execute((trx) =>
      updateAudited(trx, {
        table: 'products',
        id: productId,
        notFound: missing,
        numeric: new Set(['weight']),
        // weight 1.5 equals the stored 1.500; specs in another key order are the same JSON.
        values: () => ({
          title: 'Kettle 2',
          weight: '1.5',
          technical_specs: JSON.stringify({ plug: 'EU', volts: 230 }),
          is_active: undefined,
        }),
        view,
        audit: { entityType: 'product', userId: USER },
      }),
    )
    expect(result.updated).toBe(true)
    expect(result.before.title).toBe('Kettle')
    expect(result.row.title).toBe('Kettle 2')
    expect(result.row.weight).toBe('1.500')
    const entries = await outbox()
    expect(entries).toEqual([
      {
        action: 'update',
        entity_type: 'product',
        entity_id: productId,
        user_id: USER,
        changes: { before: { title: 'Kettle' }, after: { title: 'Kettle 2' } },
      },
    ])
  })

  it('writes and audits nothing when nothing differs (updated_at stays)', async () => {
    const stamp = (await db.selectFrom('products').select('updated_at').executeTakeFirstOrThrow()).updated_at
    const result = await db.transaction().execute((trx) =>
      updateAudited(trx, {
        table: 'products',
        id: productId,
        notFound: missing,
        numeric: new Set(['weight']),
        values: () => ({ title: 'Kettle', weight: '1.50' }),
        view,
        audit: { entityType: 'product', userId: USER },
      }),
    )
    expect(result.updated).toBe(false)
    expect(result.row).toBe(result.before)
    expect(await outbox()).toEqual([])
    const after = await db.selectFrom('products').select('updated_at').executeTakeFirstOrThrow()
    expect(after.updated_at?.getTime()).toBe(stamp?.getTime())
  })

  it('throws the caller’s NOT_FOUND for a missing row and writes nothing', async () => {
    await expect(
      db.transaction().execute((trx) =>
        updateAudited(trx, {
          table: 'products',
          id: '00000000-0000-4000-8000-000000000999',
          notFound: missing,
          values: () => ({ title: 'x' }),
          view,
          audit: { entityType: 'product', userId: USER },
        }),
      ),
    ).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND', field: 'id' } })
    expect(await outbox()).toEqual([])
  })

  it('runs check on the changes alone, then/extra add to the entry, action and entity id as given', async () => {
    const seen: unknown[] = []
    await db.transaction().execute((trx) =>
      updateAudited(trx, {
        table: 'products',
        id: productId,
        notFound: missing,
        values: (before) => ({ title: before.title, is_active: false }),
        check: (changes) => {
          seen.push(changes)
        },
        view,
        afterUpdate: async (row) => ({ deactivatedTitle: row.title }),
        audit: {
          entityType: 'product',
          action: 'deactivate',
          entityId: `product:${productId}`,
          userId: null,
          extra: (before, row) => ({ wasActive: before.is_active, isActive: row.is_active }),
        },
      }),
    )
    expect(seen).toEqual([{ is_active: false }])
    const [entry] = await outbox()
    expect(entry).toMatchObject({ action: 'deactivate', entity_id: `product:${productId}`, user_id: null })
    expect(entry!.changes).toEqual({
      before: { isActive: true },
      after: { isActive: false },
      deactivatedTitle: 'Kettle',
      wasActive: true,
      isActive: false,
    })
  })

  it('a check that throws rolls the whole update back', async () => {
    await expect(
      db.transaction().execute((trx) =>
        updateAudited(trx, {
          table: 'products',
          id: productId,
          notFound: missing,
          values: () => ({ title: 'Refused' }),
          check: () => {
            throw new Error('refused')
          },
          view,
          audit: { entityType: 'product', userId: USER },
        }),
      ),
    ).rejects.toThrow('refused')
    expect((await db.selectFrom('products').select('title').executeTakeFirstOrThrow()).title).toBe('Kettle')
    expect(await outbox()).toEqual([])
  })

  it('locks the row: a second writer waits for the first to commit and sees its write', async () => {
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let locked!: () => void
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve
    })
    const first = db.transaction().execute(async (trx) => {
      await updateAudited(trx, {
        table: 'products',
        id: productId,
        notFound: missing,
        values: () => ({ title: 'First' }),
        view,
        audit: { entityType: 'product', userId: USER },
      })
      locked()
      await held
    })
    await isLocked
    const second = db.transaction().execute((trx) =>
      updateAudited(trx, {
        table: 'products',
        id: productId,
        notFound: missing,
        values: (before) => ({ title: `${before.title} then second` }),
        view,
        audit: { entityType: 'product', userId: USER },
      }),
    )
    // The second writer is blocked on the row lock: wait until PostgreSQL says so, then let the first commit.
    for (;;) {
      const waiting = await sql<{ n: string }>`
        SELECT count(*) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(db)
      if (Number(waiting.rows[0]!.n) > 0) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    release()
    await first
    const result = await second
    expect(result.before.title).toBe('First')
    expect(result.row.title).toBe('First then second')
    expect((await outbox()).map((e) => (e.changes as { after: { title: string } }).after.title)).toEqual([
      'First',
      'First then second',
    ])
  })

  it('lockRow reads the chosen columns by the chosen key', async () => {
    const row = await db
      .transaction()
      .execute((trx) => lockRow(trx, 'products', 'Kettle', { key: 'title', columns: ['id', 'title'] }))
    expect(row).toEqual({ id: productId, title: 'Kettle' })
  })
})
