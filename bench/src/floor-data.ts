import type { Domain } from '@pm/db'
import { databaseUrl } from '@pm/db'
import pg from 'pg'
import { type DataSetInfo, dropDatabase, readMarker, withClient, writeMarker } from './data'

/** The tables Q1 and Q2 read, by the database they are copied from. */
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
}

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
  const wanted = { pmBench: 1, products: data.products, seed: data.seed, generator: data.generator }
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
