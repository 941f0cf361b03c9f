import { randomUUID } from 'node:crypto'
import type { DB } from '@pm/db/types/catalog'
import { startTestSubgraph, type TestSubgraph } from '@pm/testing/subgraph'
import { type CompiledQuery, Kysely, PostgresDialect } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveProductKeys } from '../src/db/writes'
import { subgraph } from '../src/module'

let sg: TestSubgraph<'catalog'>
const supplierId = randomUUID()
const otherSupplier = randomUUID()

beforeAll(async () => {
  sg = await startTestSubgraph(subgraph)
  await sg.database.db
    .insertInto('suppliers')
    .values([
      { id: supplierId, code: 'BIG', name: 'Big' },
      { id: otherSupplier, code: 'OTHER', name: 'Other' },
    ])
    .execute()
})
afterAll(() => sg?.stop())

describe('resolveProductKeys', () => {
  it('finds each key with the productBySku / productByEan rule', async () => {
    const db = sg.database.db
    const ids = { oldActive: randomUUID(), newInactive: randomUUID(), other: randomUUID(), ean: randomUUID() }
    await db
      .insertInto('products')
      .values([
        {
          id: ids.oldActive,
          supplier_id: supplierId,
          sku: 'K-1',
          title: 'old',
          created_at: '2026-01-01 00:00:00',
        },
        {
          id: ids.newInactive,
          supplier_id: supplierId,
          sku: 'K-1',
          title: 'new',
          is_active: false,
          created_at: '2026-02-01 00:00:00',
        },
        { id: ids.other, supplier_id: otherSupplier, sku: 'K-1', title: 'other supplier' },
        { id: ids.ean, ean: '4006381333931', title: 'by ean' },
      ])
      .execute()
    const found = await resolveProductKeys(
      db,
      [
        { i: 0, supplier_id: supplierId, sku: 'K-1' },
        { i: 1, supplier_id: otherSupplier, sku: 'K-1' },
        { i: 2, supplier_id: supplierId, sku: 'missing' },
      ],
      [
        { i: 3, ean: '4006381333931' },
        { i: 4, ean: '0000000000000' },
      ],
    )
    expect(found).toEqual(
      new Map([
        [0, ids.oldActive],
        [1, ids.other],
        [3, ids.ean],
      ]),
    )
  })

  it('probes the SKU index per key even on a fresh table without statistics', async () => {
    const db = sg.database.db
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      supplier_id: supplierId,
      sku: `BIG-${i}`,
      title: `Big ${i}`,
    }))
    for (let start = 0; start < rows.length; start += 1000) {
      await db
        .insertInto('products')
        .values(rows.slice(start, start + 1000))
        .execute()
    }
    let captured: CompiledQuery | undefined
    const capturing = new Kysely<DB>({
      dialect: new PostgresDialect({
        pool: { connect: () => sg.database.pool.connect(), end: async () => {} },
      }),
      log: (event) => {
        captured = event.query
      },
    })
    const keys = rows.map((r, i) => ({ i, supplier_id: supplierId, sku: r.sku }))
    expect((await resolveProductKeys(capturing, keys, [])).size).toBe(3000)
    const plan = await db.connection().execute(async (conn) => {
      const explained = await conn.executeQuery<{ 'QUERY PLAN': string }>({
        ...captured!,
        sql: `EXPLAIN ${captured!.sql}`,
      })
      return explained.rows.map((r) => r['QUERY PLAN']).join('\n')
    })
    // Every product of the supplier would be read once per key through the supplier's index.
    expect(plan).toContain('Index Scan using idx_products_sku')
    expect(plan).not.toMatch(/idx_products_supplier|Seq Scan on products/)
  })
})
