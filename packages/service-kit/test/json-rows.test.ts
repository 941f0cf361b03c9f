import { createDomainDatabase, type DomainDatabase } from '@pm/db'
import { createTestDatabase, type TestDatabase } from '@pm/testing'
import { TEST_POOL } from '@pm/testing/subgraph'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type JsonColumns,
  type JsonColumnType,
  jsonPage,
  jsonRowCodec,
  type Order,
  parseTimestamptz,
} from '../src'

let testDatabase: TestDatabase
let database: DomainDatabase<'catalog'>
let db: Kysely<any>

interface Row {
  id: string
  parent_id: string | null
  position: number
  label: string | null
  price: string | null
  fine: string | null
  wide: string | null
  small: number | null
  big: string | null
  ratio: number | null
  ratio4: number | null
  flag: boolean | null
  stamp: Date | null
  stamp_tz: Date | null
  day: string | null
  doc: unknown
  raw: unknown
}

const COLUMNS: JsonColumns<Row> = {
  id: 'uuid',
  parent_id: 'uuid',
  position: 'int4',
  label: 'text',
  price: 'numeric',
  fine: 'numeric',
  wide: 'numeric',
  small: 'int2',
  big: 'int8',
  ratio: 'float8',
  ratio4: 'float4',
  flag: 'bool',
  stamp: 'timestamp',
  stamp_tz: 'timestamptz',
  day: 'date',
  doc: 'jsonb',
  raw: 'json',
}
const codec = jsonRowCodec<Row>(COLUMNS)

const PARENT = '00000000-0000-4000-8000-000000000001'

// Values where a trip through a JS number, a default Date parse or JSON's own encoding would differ.
const VALUES = [
  `(1, '${PARENT}', 'plain', 12.50, 0.0001, 12345678901234567890.123456789, 7, 9223372036854775807, 0.1, 0.1,
    true, '2024-02-29 23:59:59.123', '2024-02-29 23:59:59.123+00', '2024-02-29',
    '{"a": 1.50, "b": [1, "x", null], "c": {"d": true}, "e": 12345678901234567890}', '{"k": 1, "k": 2}')`,
  `(2, '${PARENT}', 'quotes " \\ and é€😀 and
new line', 99999999.99, 12345678.1234, -0.000000000000000001, -32768, -1, 'NaN', 'Infinity',
    false, '2024-01-01 00:00:00.123456', '2024-06-30 23:59:59.999999+02:30', '1999-12-31',
    '[]', '"text"')`,
  `(3, '${PARENT}', '', 0.00, 0.0000, 'NaN', 0, 0, '-Infinity', -1.5e-30, NULL,
    '1970-01-01 00:00:00', '0099-03-04 05:06:07.5-08', '0044-03-15 BC',
    'null', 'null')`,
  `(4, '${PARENT}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
  `(5, '${PARENT}', 'infinite', 1, 1, 1, 1, 1, 1e300, 3.4e38, true, '2038-01-19 03:14:07.999', 'infinity', 'infinity', '{}', '{}')`,
  `(6, '${PARENT}', 'minus infinite', 1, 1, 1, 1, 1, 5e-324, 1e-45, true, '2262-04-11 23:47:16.854775', '-infinity', '-infinity', '0', '0')`,
]

beforeAll(async () => {
  testDatabase = await createTestDatabase('json_rows')
  database = createDomainDatabase({ domain: 'catalog', url: testDatabase.url, pool: TEST_POOL })
  db = database.db as unknown as Kysely<any>
  await sql`CREATE TABLE children (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    parent_id uuid,
    position int4 NOT NULL,
    label text,
    price numeric(10, 2),
    fine numeric(12, 4),
    wide numeric,
    small int2,
    big int8,
    ratio float8,
    ratio4 float4,
    flag boolean,
    stamp timestamp,
    stamp_tz timestamptz,
    day date,
    doc jsonb,
    raw json
  )`.execute(db)
  await sql
    .raw(
      `INSERT INTO children (position, parent_id, label, price, fine, wide, small, big, ratio, ratio4, flag,
        stamp, stamp_tz, day, doc, raw) VALUES ${VALUES.join(',\n')}`,
    )
    .execute(db)
}, 60_000)
afterAll(async () => {
  await database?.destroy()
  await testDatabase?.drop()
})

/** The rows as the pg driver gives them with @pm/db's type parsers: the reference. */
async function direct(): Promise<Row[]> {
  return (await db.selectFrom('children').selectAll().orderBy('position').execute()) as Row[]
}

describe('jsonRowCodec', () => {
  it('revives aggregated rows to exactly what the pg driver returns', async () => {
    const reference = await direct()
    expect(reference).toHaveLength(VALUES.length)
    // The driver's own shapes, so that the comparison below means something.
    expect(reference[0]).toMatchObject({
      price: '12.50',
      fine: '0.0001',
      big: '9223372036854775807',
      day: '2024-02-29',
    })
    expect(reference[0]!.stamp).toEqual(new Date('2024-02-29T23:59:59.123Z'))
    expect(reference[1]!.stamp_tz).toEqual(new Date('2024-06-30T21:29:59.999Z'))
    expect(reference[4]!.stamp_tz).toBe(Number.POSITIVE_INFINITY)

    const { rows } = await sql<{ children: unknown }>`
      SELECT (SELECT ${codec.agg('c', sql`c.position`)} FROM children AS c WHERE c.parent_id = p.id) AS children
      FROM (VALUES (${PARENT}::uuid)) AS p(id)`.execute(db)
    const revived = codec.reviveAll(rows[0]!.children)
    expect(revived).toHaveLength(reference.length)
    revived.forEach((row, i) => {
      const expected = reference[i]!
      for (const key of Object.keys(COLUMNS) as (keyof Row)[]) {
        const [a, b] = [row[key], expected[key]]
        // Invalid Dates (a TIMESTAMP 'infinity' read as UTC) are unequal to themselves; compare their text.
        if (a instanceof Date && b instanceof Date && Number.isNaN(b.getTime())) {
          expect(Number.isNaN(a.getTime()), `${key} of row ${i + 1}`).toBe(true)
        } else {
          expect(a, `${key} of row ${i + 1}`).toStrictEqual(b)
        }
      }
    })
  })

  it('gives an empty list for no rows and null for a missing single row', async () => {
    const { rows } = await sql<{ none: unknown; one: unknown; missing: unknown }>`
      SELECT
        (SELECT ${codec.agg('c')} FROM children AS c WHERE c.parent_id IS NULL) AS none,
        (SELECT ${codec.object('c')} FROM children AS c WHERE c.position = 1) AS one,
        (SELECT ${codec.object('c')} FROM children AS c WHERE c.position = 0) AS missing`.execute(db)
    expect(codec.reviveAll(rows[0]!.none)).toEqual([])
    expect(codec.revive(rows[0]!.missing)).toBeNull()
    expect(codec.revive(rows[0]!.one)).toStrictEqual((await direct())[0])
  })

  it('refuses more columns than json_build_object takes', () => {
    const wide: Record<string, JsonColumnType> = Object.fromEntries(
      Array.from({ length: 51 }, (_, i) => [`c${i}`, 'text' as const]),
    )
    expect(() => jsonRowCodec(wide)).toThrow(/1 to 50 columns/)
  })

  it('parses TIMESTAMPTZ text as pg does, offsets and BC years included', () => {
    expect(parseTimestamptz('2024-01-02 03:04:05.123456+00')).toEqual(new Date('2024-01-02T03:04:05.123Z'))
    expect(parseTimestamptz('2024-01-02 03:04:05-05:30')).toEqual(new Date('2024-01-02T08:34:05Z'))
    expect(parseTimestamptz('-infinity')).toBe(Number.NEGATIVE_INFINITY)
    expect((parseTimestamptz('0001-01-01 00:00:00+00 BC') as Date).getUTCFullYear()).toBe(0)
  })
})

describe('jsonPage', () => {
  const ORDER: Order = { key: 'STAMP:DESC', column: 'children.stamp', id: 'children.id', direction: 'desc' }

  it('answers a nested page as the connection loader would, cursors and next page included', async () => {
    const query = db
      .selectFrom('children')
      .selectAll('children')
      .where(sql<boolean>`children.parent_id = p.id`)
    const page = jsonPage<Row>({ query, order: ORDER, args: { first: 2 }, codec, totalCount: true })!
    const { rows } = await sql<{ page: unknown }>`
      SELECT ${page.sql} AS page FROM (VALUES (${PARENT}::uuid)) AS p(id)`.execute(db)
    const connection = page.read(rows[0]!.page, () => Promise.reject(new Error('counted in the statement')))
    const reference = (await db
      .selectFrom('children')
      .selectAll()
      .select([sql<string>`stamp::text`.as('s'), sql<string>`id::text`.as('i')])
      .orderBy('stamp', 'desc')
      .orderBy('id', 'desc')
      .execute()) as (Row & { s: string; i: string })[]
    // NULLs first when descending, as PostgreSQL sorts them.
    expect(connection.edges.map((e) => e.node.position)).toEqual(reference.slice(0, 2).map((r) => r.position))
    expect(connection.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false })
    expect(await connection.totalCount()).toBe(VALUES.length)

    const next = jsonPage<Row>({
      query,
      order: ORDER,
      args: { first: 10, after: connection.pageInfo.endCursor },
      codec,
      totalCount: false,
    })!
    const more = await sql<{ page: unknown }>`
      SELECT ${next.sql} AS page FROM (VALUES (${PARENT}::uuid)) AS p(id)`.execute(db)
    const rest = next.read(more.rows[0]!.page, () => Promise.resolve(-1))
    expect(rest.edges.map((e) => e.node.position)).toEqual(reference.slice(2).map((r) => r.position))
    expect(rest.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true })
    expect(await rest.totalCount()).toBe(-1)
  })

  it('leaves bad arguments to the connection loader', () => {
    const query = db.selectFrom('children').selectAll('children')
    expect(jsonPage({ query, order: ORDER, args: { first: 1000 }, codec, totalCount: false })).toBeNull()
    expect(jsonPage({ query, order: ORDER, args: { after: 'garbage' }, codec, totalCount: false })).toBeNull()
    const forged = Buffer.from(JSON.stringify(['STAMP:DESC', 'not a time', 'x'])).toString('base64url')
    expect(
      jsonPage({
        query,
        order: ORDER,
        args: { after: forged },
        codec,
        totalCount: false,
        validCursor: () => false,
      }),
    ).toBeNull()
  })
})
