import { createTestDatabase, type TestDatabase } from '@pm/testing'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDomainDatabase, type DomainDatabase, fixedStatement } from '../src'

let database: TestDatabase
let handle: DomainDatabase<'core'>
// A table of the test's own: the statements below are about Kysely, not core's schema.
type Db = Kysely<{ things: { id: number; name: string; tags: string[] } }>
let db: Db

beforeAll(async () => {
  database = await createTestDatabase('statements')
  handle = createDomainDatabase({
    domain: 'core',
    url: database.url,
    pool: {
      size: 1,
      maxOverflow: 0,
      acquireTimeoutMs: 30_000,
      recycleMs: 3_600_000,
      idleTimeoutMs: 10_000,
      prePingIdleMs: 1_000,
    },
  })
  db = handle.db as unknown as Db
  await sql`CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL, tags text[] NOT NULL)`.execute(db)
  await sql`INSERT INTO things VALUES (1, 'one', '{a}'), (2, 'two', '{a,b}'), (3, 'three', '{b}')`.execute(db)
})
afterAll(async () => {
  await handle?.destroy()
  await database?.drop()
})

describe('fixedStatement', () => {
  const byIds = fixedStatement('things by ids', (db: Db, ids: number[], tag: string) =>
    db
      .selectFrom('things')
      .select(['id', 'name'])
      .where('id', '=', (eb) => eb.fn.any(eb.val(ids)))
      .where(sql<boolean>`${tag} = ANY(tags)`)
      .where('name', '<>', 'zero')
      .orderBy('id', 'desc')
      .limit(10),
  )

  it('answers each call with its own values, as the statement built for them would', async () => {
    expect(await byIds(db, [1, 2, 3], 'a')).toEqual([
      { id: 2, name: 'two' },
      { id: 1, name: 'one' },
    ])
    expect(await byIds(db, [2, 3], 'b')).toEqual([
      { id: 3, name: 'three' },
      { id: 2, name: 'two' },
    ])
    const built = await db
      .selectFrom('things')
      .select(['id', 'name'])
      .where('id', '=', (eb) => eb.fn.any(eb.val([3])))
      .where(sql<boolean>`${'b'} = ANY(tags)`)
      .where('name', '<>', 'zero')
      .orderBy('id', 'desc')
      .limit(10)
      .execute()
    expect(await byIds(db, [3], 'b')).toEqual(built)
  })

  it('sends the same text every call, one counted statement each', async () => {
    const seen: string[] = []
    const counted = handle.pool.stats().queries
    const logged = createDomainDatabase(
      { domain: 'core', url: database.url, pool: handle.pool.settings },
      { onQuery: (q) => seen.push(q.sql) },
    )
    try {
      const logging = logged.db as unknown as Db
      await byIds(logging, [1], 'a')
      await byIds(logging, [2, 3], 'b')
      expect(seen).toHaveLength(2)
      expect(seen[0]).toBe(seen[1])
      expect(seen[0]).toMatch(/= any\(\$1\)/i)
      expect(logged.pool.stats().queries).toBe(2)
    } finally {
      await logged.destroy()
    }
    expect(handle.pool.stats().queries).toBe(counted)
  })

  it('runs inside a transaction it is given', async () => {
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('things').set({ name: 'uno' }).where('id', '=', 1).execute()
      expect(await byIds(trx, [1], 'a')).toEqual([{ id: 1, name: 'uno' }])
      await trx.updateTable('things').set({ name: 'one' }).where('id', '=', 1).execute()
    })
  })

  it('refuses a builder that reads a value instead of handing it to Kysely', async () => {
    const reads = fixedStatement('reads its value', (db: Db, name: string) =>
      db.selectFrom('things').select('id').where('name', '=', `${name}!`),
    )
    await expect(reads(db, 'one')).rejects.toThrow(/value 0 was read while building/)
    const drops = fixedStatement('drops its value', (db: Db, _name: string) =>
      db.selectFrom('things').select('id'),
    )
    await expect(drops(db, 'one')).rejects.toThrow(/value\(s\) 0 never reach the statement/)
  })
})
