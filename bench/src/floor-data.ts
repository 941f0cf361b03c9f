import type { Domain } from '@pm/db'
import { databaseUrl } from '@pm/db'
import pg from 'pg'
import { type DataSetInfo, dropDatabase, readMarker, withClient, writeMarker } from './data'

/** The tables Q1, Q2 and the mixed workload (Q3 too) read, by the database they are copied from. */
export const FLOOR_TABLES: Readonly<Record<string, Domain>> = {
  suppliers: 'catalog',
  brands: 'catalog',
  categories: 'catalog',
  products: 'catalog',
  product_prices: 'catalog',
  product_stocks: 'catalog',
  stock_history: 'catalog',
  media_files: 'media',
  media_thumbnails: 'media',
  code2asin_results: 'code2asin',
  product_metrics: 'analytics',
  import_jobs: 'imports',
  users: 'core',
}

/** Kept in bench_floor's marker: a floor copied before a table was added to FLOOR_TABLES is copied again. */
const FLOOR_LAYOUT = 2

const CHUNK_ROWS = 10_000

interface Chunk {
  rows: string | null
  last: string | null
  n: number
}

interface Column {
  name: string
  type: string
  notNull: boolean
}

async function columnsOf(client: pg.Client, table: string): Promise<Column[]> {
  const { rows } = await client.query<Column>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull"
       FROM pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [`public.${table}`],
  )
  return rows
}

/**
 * Copies one table in keyset chunks: the source hands each chunk over as one JSON document, the target
 * unpacks it with json_populate_recordset (exact text round trip of every type, no client-side parsing).
 */
async function copyTable(
  source: pg.Client,
  target: pg.Client,
  table: string,
  columns: Column[],
): Promise<number> {
  const idType = columns.find((c) => c.name === 'id')?.type
  if (!idType) throw new Error(`${table} has no id column to page on`)
  const list = columns.map((c) => pg.escapeIdentifier(c.name)).join(', ')
  const read = `SELECT json_agg(x ORDER BY x.id)::text AS rows, (array_agg(x.id ORDER BY x.id DESC))[1]::text AS last,
                       count(*)::int AS n
                  FROM (SELECT * FROM ${pg.escapeIdentifier(table)}
                         WHERE $1::text IS NULL OR id > $1::text::${idType}
                         ORDER BY id LIMIT ${CHUNK_ROWS}) x`
  const write = `INSERT INTO ${pg.escapeIdentifier(table)} (${list})
                 SELECT ${list} FROM json_populate_recordset(NULL::${pg.escapeIdentifier(table)}, $1::json)`
  let last: string | null = null
  let copied = 0
  for (;;) {
    const result: pg.QueryResult<Chunk> = await source.query<Chunk>(read, [last])
    const chunk: Chunk = result.rows[0]!
    if (!chunk.n) return copied
    await target.query(write, [chunk.rows])
    copied += chunk.n
    last = chunk.last
    if (chunk.n < CHUNK_ROWS) return copied
  }
}

/**
 * bench_floor: one database holding copies of the tables Q1 and Q2 need, with the migrations' indexes
 * (read from the source databases), for the floor's single hand-written statements.
 */
export async function prepareFloorDatabase(
  serverUrl: string,
  prefix: string,
  data: DataSetInfo,
  log: (m: string) => void,
): Promise<string> {
  const name = `${prefix}_floor`
  const url = databaseUrl(serverUrl, name)
  const wanted = {
    pmBench: 1,
    products: data.products,
    seed: data.seed,
    generator: data.generator,
    floorLayout: FLOOR_LAYOUT,
  }
  const marker = await readMarker(serverUrl, name)
  if (marker && JSON.stringify(marker) === JSON.stringify(wanted) && data.reused) {
    log(`floor: ${name} already holds copies of this data set, reused`)
    return url
  }
  const started = performance.now()
  await dropDatabase(serverUrl, name)
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`))
  await withClient(url, async (target) => {
    await target.query('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    const indexes: string[] = []
    for (const [table, domain] of Object.entries(FLOOR_TABLES)) {
      const t0 = performance.now()
      const copied = await withClient(data.urls[domain], async (source) => {
        const columns = await columnsOf(source, table)
        // Generated and identity columns become plain ones holding the copied values.
        const ddl = columns
          .map((c) => `${pg.escapeIdentifier(c.name)} ${c.type}${c.notNull ? ' NOT NULL' : ''}`)
          .join(', ')
        await target.query(`CREATE TABLE ${pg.escapeIdentifier(table)} (${ddl})`)
        const { rows } = await source.query<{ indexdef: string }>(
          `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 ORDER BY indexname`,
          [table],
        )
        indexes.push(...rows.map((r) => r.indexdef))
        return copyTable(source, target, table, columns)
      })
      log(`floor: ${table} ${copied} rows copied in ${Math.round(performance.now() - t0)} ms`)
    }
    const t0 = performance.now()
    for (const indexdef of indexes) await target.query(indexdef)
    await target.query('ANALYZE')
    log(`floor: ${indexes.length} indexes built and analysed in ${Math.round(performance.now() - t0)} ms`)
  })
  await writeMarker(serverUrl, name, wanted)
  log(`floor: ${name} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return url
}

/** bench_floor's tables whose rows belong to a product (refreshed by refreshFloorProducts). */
const PRODUCT_ROWS: Readonly<Record<string, string>> = {
  products: 'id',
  product_prices: 'product_id',
  product_stocks: 'product_id',
  stock_history: 'product_id',
}

/** Small catalog tables a bench write may add rows to (Q4's supplier): copied again whole. */
const WHOLE_TABLES = ['suppliers', 'brands', 'categories'] as const

/**
 * Makes bench_floor hold again what catalog holds for `productIds` (the products the bench writes: Q4's
 * supplier's, the mixed workload's write pool) and for the small catalog tables: rows deleted and copied
 * again in one transaction. The benchmark's own writes (through the gateways, and the floor's UPDATEs of its
 * copy) otherwise leave the copy behind, and the answers compared before measuring would differ.
 */
export async function refreshFloorProducts(
  floorUrl: string,
  catalogUrl: string,
  productIds: readonly string[],
): Promise<{ rows: number; ms: number }> {
  const started = performance.now()
  let rows = 0
  await withClient(catalogUrl, (source) =>
    withClient(floorUrl, async (target) => {
      await target.query('BEGIN')
      try {
        for (const table of [...WHOLE_TABLES, ...Object.keys(PRODUCT_ROWS)]) {
          const key = PRODUCT_ROWS[table]
          const columns = (await columnsOf(target, table)).map((c) => pg.escapeIdentifier(c.name)).join(', ')
          const where = key ? `WHERE ${pg.escapeIdentifier(key)} = ANY($1::uuid[])` : ''
          const values = key ? [productIds] : []
          const { rows: read } = await source.query<{ rows: string; n: number }>(
            `SELECT coalesce(json_agg(x), '[]')::text AS rows, count(*)::int AS n
               FROM (SELECT ${columns} FROM ${pg.escapeIdentifier(table)} ${where}) x`,
            values,
          )
          await target.query(`DELETE FROM ${pg.escapeIdentifier(table)} ${where}`, values)
          await target.query(
            `INSERT INTO ${pg.escapeIdentifier(table)} (${columns})
             SELECT ${columns} FROM json_populate_recordset(NULL::${pg.escapeIdentifier(table)}, $1::json)`,
            [read[0]!.rows],
          )
          rows += read[0]!.n
        }
        await target.query('COMMIT')
      } catch (error) {
        await target.query('ROLLBACK').catch(() => {})
        throw error
      }
    }),
  )
  return { rows, ms: performance.now() - started }
}
