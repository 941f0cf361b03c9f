import { randomUUID } from 'node:crypto'
import type { Domain } from '@pm/db'
import { CROSS_DATABASE_REFERENCES, type CrossDatabaseReference, type ReferencePolicy } from '@pm/service-kit'
import pg from 'pg'
import { connectionLost, mapLimit, OperationError } from './connect'

export interface ReferenceResult {
  reference: string
  from: string
  to: string
  policy: ReferencePolicy
  /** Rows whose reference was checked (non-null values). */
  checked: number
  /** Rows whose referenced row does not exist. */
  orphans: number
  /** A few of them: the row's key and the missing value. */
  samples: { key: string; value: string }[]
  /** With fix: rows deleted or set null (or that would be, in a dry run); 0 for keep-and-flag. */
  fixed: number
  /**
   * Keep-and-flag references, with fix: orphans flagged (listed in core's flagged_references), or that a dry
   * run would flag; 0 otherwise.
   */
  flagged: number
  /** Keep-and-flag references: flags removed because their row is valid again or gone (not in a dry run). */
  cleared: number
  durationMs: number
}

export interface IntegrityReport {
  startedAt: string
  finishedAt: string
  /** True when it applied the policies (not a dry run). */
  fixed: boolean
  dryRun: boolean
  checked: number
  orphans: number
  references: ReferenceResult[]
}

export interface IntegrityOptions {
  /** Rows per batch streamed from the referencing table (default 10,000). */
  batchSize?: number
  /** References checked at once (default 4; each holds two or three connections). */
  concurrency?: number
  /** Apply each reference's policy to its orphans. */
  fix?: boolean
  /** With fix: count what would change, change nothing. */
  dryRun?: boolean
  /** Only these references (names as CROSS_DATABASE_REFERENCES). */
  only?: readonly string[]
  samples?: number
  signal?: AbortSignal
  log?: (line: string) => void
  /** After each reference: resumable runs keep what is done. */
  onReference?: (result: ReferenceResult) => Promise<void> | void
  /** References already done by an earlier run of the same check (skipped). */
  done?: readonly ReferenceResult[]
}

const FLAGS_MISSING =
  'core has no flagged_references table (migration core 009): run `pm migrate up --domain core` first'

/**
 * The flags of one keep-and-flag reference (core's flagged_references) as one pass over it sees them: a fix
 * flags the orphans it finds, a check only marks the flags still orphaned; at the end of a complete pass the
 * flags it did not see (their row is valid again, or gone) are cleared. Dry runs write nothing.
 */
class ReferenceFlags {
  private readonly pass = randomUUID()
  constructor(
    private readonly core: pg.Client,
    private readonly reference: string,
    private readonly create: boolean,
  ) {}

  /** This batch's orphans: flagged (fix) or confirmed (check); returns the rows newly or again flagged. */
  async seen(orphans: { key: string; value: string }[]): Promise<number> {
    if (orphans.length === 0) return 0
    const keys = orphans.map((o) => o.key)
    if (!this.create) {
      await this.core.query(
        `UPDATE flagged_references SET seen_by = $3, last_seen_at = NOW()
          WHERE reference = $1 AND row_key = ANY($2::text[])`,
        [this.reference, keys, this.pass],
      )
      return 0
    }
    const done = await this.core.query(
      `INSERT INTO flagged_references (reference, row_key, missing_value, seen_by)
       SELECT $1, k, v, $4 FROM unnest($2::text[], $3::text[]) AS o(k, v)
       ON CONFLICT (reference, row_key) DO UPDATE
         SET missing_value = EXCLUDED.missing_value, seen_by = EXCLUDED.seen_by, last_seen_at = NOW()`,
      [this.reference, keys, orphans.map((o) => o.value), this.pass],
    )
    return done.rowCount ?? 0
  }

  /** After the whole reference was read: the flags this pass did not see are cleared. */
  async finish(): Promise<number> {
    const cleared = await this.core.query(
      'DELETE FROM flagged_references WHERE reference = $1 AND seen_by <> $2',
      [this.reference, this.pass],
    )
    return cleared.rowCount ?? 0
  }
}

async function open(domain: Domain, url: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: 'pm-integrity',
  })
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    await client.end().catch(() => {})
    const { DatabaseUnavailableError } = await import('@pm/db')
    throw new DatabaseUnavailableError(domain, url, error)
  }
  return client
}

async function columnType(client: pg.Client, table: string, column: string): Promise<string> {
  const { rows } = await client.query<{ t: string }>(
    `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped`,
    [pg.escapeIdentifier(table), column],
  )
  if (!rows[0]) throw new OperationError(`no column ${table}.${column}`)
  // varchar(50)[] and the like: compare as the base type.
  return rows[0].t.replace(/\(.*\)/, '')
}

/** The primary key's columns as one text expression (the row a sample names), else ctid. */
async function rowKey(client: pg.Client, table: string): Promise<string> {
  const { rows } = await client.query<{ col: string }>(
    `SELECT a.attname AS col FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
    [pg.escapeIdentifier(table)],
  )
  if (rows.length === 0) return 'ctid'
  return rows.length === 1
    ? pg.escapeIdentifier(rows[0]!.col)
    : `concat_ws(',', ${rows.map((r) => pg.escapeIdentifier(r.col)).join(', ')})`
}

/**
 * Checks one reference by streaming the referencing rows through a cursor (batchSize at a time: the table
 * is never loaded whole) and asking the referenced database which of each batch's distinct values exist
 * (one indexed ANY() lookup per batch). With fix, each batch's orphans get the policy at once, on a
 * second connection, in their own transaction.
 */
async function checkReference(
  r: CrossDatabaseReference,
  urls: Record<Domain, string>,
  options: IntegrityOptions,
): Promise<ReferenceResult> {
  const started = performance.now()
  const batchSize = options.batchSize ?? 10_000
  const sampleCount = options.samples ?? 5
  const source = await open(r.from.domain, urls[r.from.domain])
  const target = await open(r.to.domain, urls[r.to.domain])
  const writer =
    options.fix && !options.dryRun && r.policy !== 'keep_and_flag'
      ? await open(r.from.domain, urls[r.from.domain])
      : undefined
  // Keep-and-flag references keep their flags in core (not in a dry run).
  const flagging = r.policy === 'keep_and_flag' && !options.dryRun
  const core = flagging ? await open('core', urls.core) : undefined
  const result: ReferenceResult = {
    reference: r.name,
    from: `${r.from.domain}.${r.from.table}.${r.from.column}`,
    to: `${r.to.domain}.${r.to.table}.${r.to.column}`,
    policy: r.policy,
    checked: 0,
    orphans: 0,
    samples: [],
    fixed: 0,
    flagged: 0,
    cleared: 0,
    durationMs: 0,
  }
  let domain = r.from.domain
  try {
    let flags: ReferenceFlags | undefined
    if (core) {
      domain = 'core'
      const { rows } = await core.query(`SELECT to_regclass('flagged_references') IS NOT NULL AS ok`)
      if (!rows[0]?.ok) throw new OperationError(FLAGS_MISSING)
      flags = new ReferenceFlags(core, r.name, Boolean(options.fix))
      domain = r.from.domain
    }
    const sourceType = await columnType(source, r.from.table, r.from.column)
    domain = r.to.domain
    const targetType = await columnType(target, r.to.table, r.to.column)
    domain = r.from.domain
    const table = pg.escapeIdentifier(r.from.table)
    const column = pg.escapeIdentifier(r.from.column)
    const key = await rowKey(source, r.from.table)
    const targetTable = pg.escapeIdentifier(r.to.table)
    const targetColumn = pg.escapeIdentifier(r.to.column)
    await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    await source.query(
      `DECLARE refs NO SCROLL CURSOR FOR SELECT ${key}::text AS k, ${column}::text AS v FROM ${table} WHERE ${column} IS NOT NULL`,
    )
    const fetchBatch = () => {
      const next = source.query<{ k: string; v: string }>(`FETCH ${batchSize} FROM refs`)
      next.catch(() => {})
      return next
    }
    // The next batch is read from the source while this one is looked up in the target.
    let pending = fetchBatch()
    for (;;) {
      options.signal?.throwIfAborted()
      domain = r.from.domain
      const { rows } = await pending
      if (rows.length === 0) break
      pending = fetchBatch()
      result.checked += rows.length
      const values = [...new Set(rows.map((row) => row.v))]
      domain = r.to.domain
      const found = await target.query<{ v: string }>(
        `SELECT ${targetColumn}::text AS v FROM ${targetTable} WHERE ${targetColumn} = ANY($1::${targetType}[])`,
        [values],
      )
      if (found.rows.length === values.length) continue
      const present = new Set(found.rows.map((row) => row.v))
      const missing = values.filter((v) => !present.has(v))
      const missingSet = new Set(missing)
      const orphans: { key: string; value: string }[] = []
      for (const row of rows) {
        if (!missingSet.has(row.v)) continue
        result.orphans++
        if (result.samples.length < sampleCount) result.samples.push({ key: row.k, value: row.v })
        if (options.fix && options.dryRun) {
          if (r.policy === 'keep_and_flag') result.flagged++
          else result.fixed++
        }
        if (flags) orphans.push({ key: row.k, value: row.v })
      }
      if (flags) {
        domain = 'core'
        result.flagged += await flags.seen(orphans)
        domain = r.from.domain
      }
      if (writer) {
        domain = r.from.domain
        const sql =
          r.policy === 'delete'
            ? `DELETE FROM ${table} WHERE ${column} = ANY($1::${sourceType}[])`
            : `UPDATE ${table} SET ${column} = NULL WHERE ${column} = ANY($1::${sourceType}[])`
        const changed = await writer.query(sql, [missing])
        result.fixed += changed.rowCount ?? 0
        options.log?.(`${r.name}: ${r.policy} ${changed.rowCount} rows`)
      }
    }
    await source.query('COMMIT')
    if (flags) {
      domain = 'core'
      result.cleared = await flags.finish()
      if (result.flagged || result.cleared)
        options.log?.(`${r.name}: ${result.flagged} rows flagged, ${result.cleared} flags cleared`)
    }
  } catch (error) {
    if (error instanceof OperationError) throw error
    throw connectionLost(domain, error)
  } finally {
    await Promise.all([source.end(), target.end(), writer?.end(), core?.end()].map((p) => p?.catch(() => {})))
  }
  result.durationMs = Math.round(performance.now() - started)
  return result
}

/**
 * Every cross-database reference checked (`pm integrity check`), or its policy applied to the orphans
 * found (`pm integrity fix`, optionally a dry run). A few references run at once; each one's result is
 * handed to onReference as it ends, so an interrupted run resumes without the ones done.
 */
export async function checkIntegrity(
  urls: Record<Domain, string>,
  options: IntegrityOptions = {},
): Promise<IntegrityReport> {
  const startedAt = new Date().toISOString()
  const unknown = options.only?.filter((n) => !CROSS_DATABASE_REFERENCES.some((r) => r.name === n)) ?? []
  if (unknown.length) {
    throw new OperationError(
      `unknown references ${unknown.join(', ')} (known: ${CROSS_DATABASE_REFERENCES.map((r) => r.name).join(', ')})`,
    )
  }
  const references = CROSS_DATABASE_REFERENCES.filter((r) => !options.only || options.only.includes(r.name))
  const results = await mapLimit(references, options.concurrency ?? 4, async (r) => {
    const done = options.done?.find((d) => d.reference === r.name)
    if (done) return done
    const result = await checkReference(r, urls, options)
    const flag = r.policy === 'keep_and_flag'
    const applied = flag
      ? `${result.flagged} ${options.dryRun ? 'to flag' : 'flagged'}`
      : `${result.fixed} ${options.dryRun ? 'to fix' : 'fixed'}`
    options.log?.(
      `${r.name} → ${result.to}: ${result.checked} checked, ${result.orphans} orphans${options.fix ? `, ${applied} (${r.policy})` : ''} in ${result.durationMs} ms`,
    )
    await options.onReference?.(result)
    return result
  })
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    fixed: Boolean(options.fix && !options.dryRun),
    dryRun: Boolean(options.fix && options.dryRun),
    checked: results.reduce((n, r) => n + r.checked, 0),
    orphans: results.reduce((n, r) => n + r.orphans, 0),
    references: results,
  }
}
