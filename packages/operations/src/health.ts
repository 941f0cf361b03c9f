import type { Domain } from '@pm/db'
import { CROSS_DATABASE_REFERENCES } from '@pm/service-kit'
import pg from 'pg'
import { withClient } from './connect'

export interface SlowStatement {
  query: string
  calls: number
  totalMs: number
  meanMs: number
  rows: number
}

export interface TableHealth {
  table: string
  totalBytes: number
  rowEstimate: number
  deadTuples: number
  lastVacuum: string | null
  lastAnalyze: string | null
  seqScans: number
  seqRowsRead: number
  indexScans: number
}

export interface IndexInfo {
  table: string
  index: string
  bytes: number
  scans: number
  definition: string
}

export interface DuplicateIndexes {
  table: string
  indexes: string[]
  definition: string
}

export interface IndexSuggestion {
  table: string
  column: string
  statement: string
  reason: string
  explain: string
}

export interface DatabaseHealthReport {
  domain: Domain
  generatedAt: string
  statementsAvailable: boolean
  /** Why slow statements are missing and how to enable them, when they are. */
  statementsNote: string | null
  slowStatements: SlowStatement[]
  tables: TableHealth[]
  unusedIndexes: IndexInfo[]
  duplicateIndexes: DuplicateIndexes[]
  /** Share of table and index block reads served from shared buffers (null before any read). */
  cacheHitRatio: number | null
  indexSuggestions: IndexSuggestion[]
}

export const STATEMENTS_HOWTO =
  "pg_stat_statements is not enabled on this database: set shared_preload_libraries = 'pg_stat_statements' in postgresql.conf (docker: command: postgres -c shared_preload_libraries=pg_stat_statements), restart PostgreSQL, then run CREATE EXTENSION pg_stat_statements in this database"

/** A table read by sequential scans is worth an index suggestion from this many live rows. */
const SUGGEST_MIN_ROWS = 1_000

async function slowStatements(client: pg.Client, limit: number) {
  const installed = await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'`)
  if (installed.rowCount === 0) return { available: false, note: STATEMENTS_HOWTO, rows: [] }
  try {
    const { rows } = await client.query(
      `SELECT query, calls, total_exec_time AS total, mean_exec_time AS mean, rows
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY mean_exec_time DESC LIMIT $1`,
      [limit],
    )
    return {
      available: true,
      note: null,
      rows: rows.map((r) => ({
        query: String(r.query).slice(0, 2_000),
        calls: Number(r.calls),
        totalMs: Number(r.total),
        meanMs: Number(r.mean),
        rows: Number(r.rows),
      })),
    }
  } catch (error) {
    // Installed but not preloaded: "pg_stat_statements must be loaded via shared_preload_libraries".
    return { available: false, note: `${(error as Error).message}. ${STATEMENTS_HOWTO}`, rows: [] }
  }
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null)
const latest = (a: Date | null, b: Date | null) => (a && b ? (a > b ? a : b) : (a ?? b))

async function tableHealth(client: pg.Client): Promise<TableHealth[]> {
  const { rows } = await client.query(
    `SELECT s.relname, pg_total_relation_size(s.relid) AS bytes, GREATEST(c.reltuples, 0) AS estimate,
            s.n_dead_tup, s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
            s.seq_scan, s.seq_tup_read, COALESCE(s.idx_scan, 0) AS idx_scan
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.schemaname = 'public' ORDER BY bytes DESC, s.relname`,
  )
  return rows.map((r) => ({
    table: r.relname,
    totalBytes: Number(r.bytes),
    rowEstimate: Math.round(Number(r.estimate)),
    deadTuples: Number(r.n_dead_tup),
    lastVacuum: iso(latest(r.last_vacuum, r.last_autovacuum)),
    lastAnalyze: iso(latest(r.last_analyze, r.last_autoanalyze)),
    seqScans: Number(r.seq_scan),
    seqRowsRead: Number(r.seq_tup_read),
    indexScans: Number(r.idx_scan),
  }))
}

async function unusedIndexes(client: pg.Client): Promise<IndexInfo[]> {
  const { rows } = await client.query(
    `SELECT s.relname, s.indexrelname, pg_relation_size(s.indexrelid) AS bytes, s.idx_scan,
            pg_get_indexdef(s.indexrelid) AS def
       FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
      WHERE s.schemaname = 'public' AND s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = s.indexrelid)
      ORDER BY bytes DESC, s.indexrelname`,
  )
  return rows.map((r) => ({
    table: r.relname,
    index: r.indexrelname,
    bytes: Number(r.bytes),
    scans: Number(r.idx_scan),
    definition: r.def,
  }))
}

async function duplicateIndexes(client: pg.Client): Promise<DuplicateIndexes[]> {
  const { rows } = await client.query(
    `SELECT t.relname AS tbl, array_agg(ic.relname::text ORDER BY ic.relname::text) AS names,
            min(pg_get_indexdef(i.indexrelid)) AS def
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public'
      GROUP BY t.relname, i.indkey::text, i.indclass::text, COALESCE(pg_get_expr(i.indexprs, i.indrelid), ''),
               COALESCE(pg_get_expr(i.indpred, i.indrelid), '')
     HAVING count(*) > 1 ORDER BY 1`,
  )
  return rows.map((r) => ({ table: r.tbl, indexes: r.names, definition: r.def }))
}

async function cacheHitRatio(client: pg.Client): Promise<number | null> {
  const { rows } = await client.query(
    `SELECT sum(heap_blks_hit) + sum(COALESCE(idx_blks_hit, 0)) AS hit,
            sum(heap_blks_read) + sum(COALESCE(idx_blks_read, 0)) AS read
       FROM pg_statio_user_tables WHERE schemaname = 'public'`,
  )
  const hit = Number(rows[0]?.hit ?? 0)
  const read = Number(rows[0]?.read ?? 0)
  return hit + read === 0 ? null : Math.round((hit / (hit + read)) * 10_000) / 10_000
}

/**
 * Columns worth an index on tables read mostly by sequential scans: foreign keys and cross-database
 * reference columns that no index starts with. Each comes with the EXPLAIN of a lookup by that column,
 * kept only when the plan is a sequential scan.
 */
async function indexSuggestions(client: pg.Client, domain: Domain, tables: TableHealth[]) {
  const suggestions: IndexSuggestion[] = []
  const scanned = tables.filter((t) => t.seqScans > t.indexScans && t.rowEstimate >= SUGGEST_MIN_ROWS)
  for (const t of scanned) {
    const { rows } = await client.query<{ col: string }>(
      `SELECT a.attname AS col FROM pg_constraint k
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
        WHERE k.conrelid = $1::regclass AND k.contype = 'f'`,
      [pg.escapeIdentifier(t.table)],
    )
    const candidates = new Set(rows.map((r) => r.col))
    for (const r of CROSS_DATABASE_REFERENCES) {
      if (r.from.domain === domain && r.from.table === t.table) candidates.add(r.from.column)
    }
    for (const column of candidates) {
      const leading = await client.query(
        `SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
          WHERE i.indrelid = $1::regclass AND a.attname = $2`,
        [pg.escapeIdentifier(t.table), column],
      )
      if (leading.rowCount) continue
      const table = pg.escapeIdentifier(t.table)
      const col = pg.escapeIdentifier(column)
      const sample = await client.query(
        `SELECT ${col}::text AS v FROM ${table} WHERE ${col} IS NOT NULL LIMIT 1`,
      )
      if (sample.rowCount === 0) continue
      const lookup = `SELECT * FROM ${table} WHERE ${col} = ${client.escapeLiteral(sample.rows[0].v)}`
      const plan = await client.query(`EXPLAIN ${lookup}`)
      const explain = plan.rows.map((p) => p['QUERY PLAN']).join('\n')
      if (!/Seq Scan/.test(explain)) continue
      suggestions.push({
        table: t.table,
        column,
        statement: `CREATE INDEX CONCURRENTLY idx_${t.table}_${column} ON ${table} (${col})`,
        reason: `${t.seqScans} sequential scans read ${t.seqRowsRead} rows (${t.indexScans} index scans); a lookup by ${column} reads the whole table`,
        explain,
      })
    }
  }
  return suggestions
}

/** The health of one domain's database, read from PostgreSQL's statistics views. */
export async function databaseHealth(
  domain: Domain,
  url: string,
  options: { slowest?: number } = {},
): Promise<DatabaseHealthReport> {
  return withClient(domain, url, async (client) => {
    const statements = await slowStatements(client, options.slowest ?? 10)
    const tables = await tableHealth(client)
    return {
      domain,
      generatedAt: new Date().toISOString(),
      statementsAvailable: statements.available,
      statementsNote: statements.note,
      slowStatements: statements.rows,
      tables,
      unusedIndexes: await unusedIndexes(client),
      duplicateIndexes: await duplicateIndexes(client),
      cacheHitRatio: await cacheHitRatio(client),
      indexSuggestions: await indexSuggestions(client, domain, tables),
    }
  })
}

/** The report as text, for `pm db report`. */
export function formatHealth(r: DatabaseHealthReport): string {
  const mb = (n: number) => `${(n / 1_048_576).toFixed(1)} MB`
  const lines = [`== ${r.domain} (${r.generatedAt})`]
  lines.push(
    `cache hit ratio: ${r.cacheHitRatio === null ? 'no reads yet' : `${(r.cacheHitRatio * 100).toFixed(2)} %`}`,
  )
  if (!r.statementsAvailable) lines.push(`slowest statements: unavailable. ${r.statementsNote}`)
  else {
    lines.push('slowest statements (mean ms, calls):')
    for (const s of r.slowStatements)
      lines.push(
        `  ${s.meanMs.toFixed(2).padStart(10)} ${String(s.calls).padStart(8)}  ${s.query.replace(/\s+/g, ' ').slice(0, 120)}`,
      )
  }
  lines.push('tables (size, rows ≈, dead, seq/idx scans, last vacuum, last analyze):')
  for (const t of r.tables) {
    lines.push(
      `  ${t.table.padEnd(32)} ${mb(t.totalBytes).padStart(10)} ${String(t.rowEstimate).padStart(9)} ${String(t.deadTuples).padStart(7)} ${`${t.seqScans}/${t.indexScans}`.padStart(14)}  ${t.lastVacuum ?? 'never'}  ${t.lastAnalyze ?? 'never'}`,
    )
  }
  lines.push(`unused indexes: ${r.unusedIndexes.length === 0 ? 'none' : ''}`)
  for (const i of r.unusedIndexes) lines.push(`  ${i.index} on ${i.table} (${mb(i.bytes)})`)
  lines.push(`duplicate indexes: ${r.duplicateIndexes.length === 0 ? 'none' : ''}`)
  for (const d of r.duplicateIndexes) lines.push(`  ${d.indexes.join(' = ')} on ${d.table}`)
  lines.push(`index suggestions: ${r.indexSuggestions.length === 0 ? 'none' : ''}`)
  for (const s of r.indexSuggestions) {
    lines.push(`  ${s.statement}\n    why: ${s.reason}\n    ${s.explain.split('\n').join('\n    ')}`)
  }
  return lines.join('\n')
}
