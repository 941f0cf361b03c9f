/**
 * The real migrations in migrations/<domain>/: each domain migrates up on a fresh database to exactly the
 * schema of expected-schema.ts (written from the seeds), migrates down to an empty `public` schema, and
 * migrates up again.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DOMAINS, type Domain, getMigrationStatus, runMigrations } from '@pm/db'
import { createTestDatabase, type TestDatabase } from '@pm/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ColumnSpec, EXPECTED_SCHEMA } from './expected-schema'

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations', import.meta.url))
const ON_DELETE: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
}

function migrationFiles(domain: Domain): string[] {
  return readdirSync(join(MIGRATIONS_DIR, domain))
    .filter((name) => name.endsWith('.sql'))
    .sort()
}

const sortKey = (value: unknown) => JSON.stringify(value)
const sorted = <T>(values: T[]) => [...values].sort((a, b) => sortKey(a).localeCompare(sortKey(b)))

/** Normalises a spec column the way the catalog query below reports a column. */
function expectedColumn(spec: ColumnSpec) {
  return {
    type: spec.type,
    notNull: spec.notNull ?? false,
    default: spec.default ?? null,
    identity: spec.identity ?? false,
    generated: spec.generated ?? null,
  }
}

describe.each(DOMAINS)('migrations of %s', (domain) => {
  const spec = EXPECTED_SCHEMA[domain]
  const files = migrationFiles(domain)
  let database: TestDatabase
  let client: pg.Client

  async function rows<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
    return (await client.query(text, values)).rows as T[]
  }

  /** Ordinary and partitioned tables of public, partitions excluded. */
  async function publicTables(): Promise<string[]> {
    const result = await rows<{ relname: string }>(
      `SELECT c.relname FROM pg_class c
       WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       ORDER BY 1`,
    )
    return result.map((r) => r.relname)
  }

  beforeAll(async () => {
    database = await createTestDatabase(`migrations_${domain}`)
    client = new pg.Client({ connectionString: database.url })
    await client.connect()
  })

  afterAll(async () => {
    await client?.end().catch(() => {})
    await database?.drop()
  })

  it('migrates up from an empty database, applying every file in order', async () => {
    expect(files.length).toBeGreaterThan(0)
    const before = await getMigrationStatus({ connectionString: database.url, domain })
    expect(before.map((s) => s.state)).toEqual(files.map(() => 'pending'))

    const result = await runMigrations({ connectionString: database.url, domain, direction: 'up' })
    expect(result.applied).toEqual(files)

    const after = await getMigrationStatus({ connectionString: database.url, domain })
    expect(after.map((s) => [s.name, s.state])).toEqual(files.map((f) => [f, 'applied']))
    for (const status of after) expect(status.appliedAt).toBeInstanceOf(Date)
  })

  it('creates exactly the expected tables', async () => {
    expect(await publicTables()).toEqual(Object.keys(spec.tables).sort())
  })

  it('gives every column its type, nullability, default and generation', async () => {
    const columns = await rows<{
      table: string
      column: string
      type: string
      not_null: boolean
      default: string | null
      identity: string
      generated: string
    }>(
      `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
              a.attnotnull AS not_null, a.attidentity AS identity, a.attgenerated AS generated,
              pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
         AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY c.relname, a.attnum`,
    )
    for (const [table, tableSpec] of Object.entries(spec.tables)) {
      const actual = Object.fromEntries(
        columns
          .filter((c) => c.table === table)
          .map((c) => [
            c.column,
            {
              type: c.type,
              notNull: c.not_null,
              // A stored generated column keeps its expression in pg_attrdef: report it as such.
              default: c.generated === 's' ? null : c.default,
              identity: c.identity === 'a',
              generated: c.generated === 's' ? c.default : null,
            },
          ]),
      )
      const expected = Object.fromEntries(
        Object.entries(tableSpec.columns).map(([name, column]) => [name, expectedColumn(column)]),
      )
      expect({ table, columns: actual }).toEqual({ table, columns: expected })
      // Same order as written in the seeds / migrations.
      expect(Object.keys(actual)).toEqual(Object.keys(expected))
    }
  })

  it('reports generated columns as GENERATED ALWAYS in information_schema', async () => {
    const generated = await rows<{ table_name: string; column_name: string; generation_expression: string }>(
      `SELECT table_name, column_name, generation_expression FROM information_schema.columns
       WHERE table_schema = 'public' AND is_generated = 'ALWAYS' ORDER BY 1, 2`,
    )
    const expected = Object.entries(spec.tables).flatMap(([table, t]) =>
      Object.entries(t.columns)
        .filter(([, c]) => c.generated)
        .map(([column, c]) => ({
          table_name: table,
          column_name: column,
          generation_expression: c.generated,
        })),
    )
    expect(sorted(generated)).toEqual(sorted(expected))
    if (domain === 'catalog') {
      expect(generated).toContainEqual({
        table_name: 'product_stocks',
        column_name: 'available_quantity',
        generation_expression: '(quantity - reserved_quantity)',
      })
    }
  })

  it('has the expected primary keys', async () => {
    const keys = await rows<{ table: string; columns: string[] }>(
      `SELECT c.relname AS table,
              array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(attnum, i)
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.i)::text[] AS columns
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
       WHERE k.contype = 'p' AND c.relnamespace = 'public'::regnamespace AND NOT c.relispartition
       ORDER BY 1`,
    )
    expect(Object.fromEntries(keys.map((k) => [k.table, k.columns]))).toEqual(
      Object.fromEntries(Object.entries(spec.tables).map(([table, t]) => [table, t.primaryKey])),
    )
  })

  it('has every named index with its definition (partial ones with their predicate), and no other', async () => {
    const indexes = await rows<{ indexname: string; indexdef: string }>(
      `SELECT i.indexname, i.indexdef
       FROM pg_indexes i
       JOIN pg_class t ON t.relname = i.tablename AND t.relnamespace = 'public'::regnamespace
       JOIN pg_class x ON x.relname = i.indexname AND x.relnamespace = 'public'::regnamespace
       WHERE i.schemaname = 'public' AND NOT t.relispartition
         AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                         WHERE k.contype IN ('p', 'u', 'x') AND k.conindid = x.oid AND k.conrelid = t.oid)
       ORDER BY 1`,
    )
    const actual = Object.fromEntries(
      indexes.map((i) => [
        i.indexname,
        i.indexdef.replace(/^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?public\./, ''),
      ]),
    )
    expect(actual).toEqual(spec.indexes)
  })

  it('has the expected UNIQUE constraints', async () => {
    const uniques = await rows<{ table: string; columns: string[] }>(
      `SELECT c.relname AS table,
              array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(attnum, i)
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.i)::text[] AS columns
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
       WHERE k.contype = 'u' AND c.relnamespace = 'public'::regnamespace AND NOT c.relispartition`,
    )
    expect(sorted(uniques)).toEqual(sorted(spec.uniques))
  })

  it('has exactly the expected foreign keys, all inside this database', async () => {
    const foreignKeys = await rows<{
      table: string
      columns: string[]
      references: string
      ref_columns: string[]
      on_delete: string
      ref_schema: string
    }>(
      `SELECT c.relname AS table, r.relname AS references, r.relnamespace::regnamespace::text AS ref_schema,
              k.confdeltype AS on_delete,
              array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(attnum, i)
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.i)::text[] AS columns,
              array(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(attnum, i)
                    JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.i)::text[] AS ref_columns
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_class r ON r.oid = k.confrelid
       -- conparentid = 0: the FK of a partitioned table, not its per-partition clones.
       WHERE k.contype = 'f' AND c.relnamespace = 'public'::regnamespace AND k.conparentid = 0`,
    )
    const tables = new Set(Object.keys(spec.tables))
    for (const fk of foreignKeys) {
      expect(fk.ref_schema).toBe('public')
      expect(tables.has(fk.references), `${fk.table} references ${fk.references}`).toBe(true)
    }
    expect(
      sorted(
        foreignKeys.map((fk) => ({
          table: fk.table,
          columns: fk.columns,
          references: fk.references,
          refColumns: fk.ref_columns,
          onDelete: ON_DELETE[fk.on_delete],
        })),
      ),
    ).toEqual(sorted(spec.foreignKeys))
  })

  it('gives cross-database reference columns an index and a comment, never a foreign key', async () => {
    for (const { table, column, references } of spec.crossDatabase) {
      const [info] = await rows<{ has_fk: boolean; leading_index: string | null; comment: string | null }>(
        `SELECT
           EXISTS (SELECT 1 FROM pg_constraint k
                   WHERE k.contype = 'f' AND k.conrelid = a.attrelid AND a.attnum = ANY (k.conkey)) AS has_fk,
           (SELECT min(x.relname) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
            WHERE i.indrelid = a.attrelid AND i.indkey[0] = a.attnum) AS leading_index,
           col_description(a.attrelid, a.attnum) AS comment
         FROM pg_attribute a
         WHERE a.attrelid = to_regclass('public.' || $1) AND a.attname = $2 AND NOT a.attisdropped`,
        [table, column],
      )
      expect(info, `${table}.${column} exists`).toBeDefined()
      expect(info!.has_fk, `${table}.${column} has no foreign key`).toBe(false)
      expect(info!.leading_index, `${table}.${column} leads an index`).not.toBeNull()
      expect(info!.comment).toBe(`cross-database reference to ${references}; no FK`)
    }
  })

  it('has CHECK constraints on the constrained columns', async () => {
    const checks = await rows<{ table: string; column: string }>(
      `SELECT DISTINCT c.relname AS table, a.attname AS column
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
       WHERE k.contype = 'c' AND c.relnamespace = 'public'::regnamespace AND NOT c.relispartition`,
    )
    expect(sorted(checks)).toEqual(sorted(spec.checks))
  })

  it('maintains updated_at with a BEFORE UPDATE trigger wherever a table has one', async () => {
    const triggers = await rows<{ table: string; function: string; before_update_row: boolean }>(
      `SELECT c.relname AS table, p.proname AS function,
              (t.tgtype & 1 = 1) AND (t.tgtype & 2 = 2) AND (t.tgtype & 16 = 16) AS before_update_row
       FROM pg_trigger t
       JOIN pg_class c ON c.oid = t.tgrelid
       JOIN pg_proc p ON p.oid = t.tgfoid
       WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace`,
    )
    const otherTriggers = triggers.filter((t) => t.function !== 'set_updated_at')
    expect(otherTriggers.map((t) => `${t.table}:${t.function}`).sort()).toEqual(
      [...(spec.otherTriggers ?? [])].sort(),
    )
    expect(sorted(triggers.filter((t) => t.function === 'set_updated_at'))).toEqual(
      sorted(
        spec.updatedAtTriggers.map((table) => ({
          table,
          function: 'set_updated_at',
          before_update_row: true,
        })),
      ),
    )
    const withUpdatedAt = Object.entries(spec.tables)
      .filter(([, t]) => 'updated_at' in t.columns)
      .map(([table]) => table)
    expect([...spec.updatedAtTriggers].sort()).toEqual(withUpdatedAt.sort())
  })

  it('creates only the expected functions and extensions', async () => {
    const functions = await rows<{ proname: string }>(
      `SELECT p.proname FROM pg_proc p
       WHERE p.pronamespace = 'public'::regnamespace
         AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
       ORDER BY 1`,
    )
    expect(functions.map((f) => f.proname)).toEqual([...spec.functions].sort())
    const extensions = await rows<{ extname: string }>(
      `SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`,
    )
    expect(extensions.map((e) => e.extname)).toEqual([...spec.extensions].sort())
  })

  it.runIf(domain === 'imports')(
    'partitions import_logs by month, with a default partition that a new monthly partition drains',
    async () => {
      const [partitioned] = await rows<{
        relkind: string
        strategy: string
        key: string
        default_partition: string
      }>(
        `SELECT c.relkind, p.partstrat AS strategy, pg_get_partkeydef(c.oid) AS key,
                NULLIF(p.partdefid, 0)::regclass::text AS default_partition
         FROM pg_class c JOIN pg_partitioned_table p ON p.partrelid = c.oid
         WHERE c.oid = 'public.import_logs'::regclass`,
      )
      expect(partitioned).toEqual({
        relkind: 'p',
        strategy: 'r',
        key: 'RANGE (created_at)',
        default_partition: 'import_logs_default',
      })

      const partitionNames = async () =>
        (
          await rows<{ name: string }>(
            `SELECT inhrelid::regclass::text AS name FROM pg_inherits
             WHERE inhparent = 'public.import_logs'::regclass ORDER BY 1`,
          )
        ).map((r) => r.name)
      // The migration created the current and the next month.
      const [months] = await rows<{ current: string; next: string }>(
        `SELECT to_char(CURRENT_DATE, '"import_logs_y"YYYY"m"MM') AS current,
                to_char(CURRENT_DATE + interval '1 month', '"import_logs_y"YYYY"m"MM') AS next`,
      )
      expect(await partitionNames()).toEqual(
        expect.arrayContaining(['import_logs_default', months!.current, months!.next]),
      )

      const [job] = await rows<{ id: string }>(
        `INSERT INTO import_jobs (supplier_code, import_type) VALUES ('SUP-TEST', 'csv') RETURNING id`,
      )
      const [now] = await rows<{ partition: string }>(
        `INSERT INTO import_logs (job_id, message) VALUES ($1, 'started') RETURNING tableoid::regclass::text AS partition`,
        [job!.id],
      )
      expect(now!.partition).toBe(months!.current)

      // Two years ahead no monthly partition exists: the row lands in the default partition.
      const [future] = await rows<{ id: string; partition: string; day: string; name: string }>(
        `INSERT INTO import_logs (job_id, log_level, message, created_at)
         VALUES ($1, 'warning', 'far future', date_trunc('month', now() + interval '2 years') + interval '9 days')
         RETURNING id::text, tableoid::regclass::text AS partition, created_at::date::text AS day,
                   to_char(created_at, '"import_logs_y"YYYY"m"MM') AS name`,
        [job!.id],
      )
      expect(future!.partition).toBe('import_logs_default')

      const [created] = await rows<{ n: number }>(`SELECT ensure_import_logs_partitions(0, $1::date) AS n`, [
        future!.day,
      ])
      expect(created!.n).toBe(1)
      expect(await partitionNames()).toContain(future!.name)

      // The row moved out of the default partition into the new one, keeping its id.
      const moved = await rows<{ partition: string; id: string }>(
        `SELECT tableoid::regclass::text AS partition, id::text FROM import_logs WHERE message = 'far future'`,
      )
      expect(moved).toEqual([{ partition: future!.name, id: future!.id }])
      expect(await rows(`SELECT 1 FROM import_logs_default`)).toEqual([])

      // Idempotent, and inserts into that month keep working, now into the new partition.
      const [again] = await rows<{ n: number }>(`SELECT ensure_import_logs_partitions(0, $1::date) AS n`, [
        future!.day,
      ])
      expect(again!.n).toBe(0)
      const [later] = await rows<{ partition: string }>(
        `INSERT INTO import_logs (job_id, message, created_at) VALUES ($1, 'later', $2::date + interval '1 hour')
         RETURNING tableoid::regclass::text AS partition`,
        [job!.id, future!.day],
      )
      expect(later!.partition).toBe(future!.name)

      await expect(
        client.query(`INSERT INTO import_logs (job_id, log_level, message) VALUES ($1, 'verbose', 'x')`, [
          job!.id,
        ]),
      ).rejects.toThrow(/check constraint/)

      // Deleting the job cascades to its logs in every partition.
      await client.query(`DELETE FROM import_jobs WHERE id = $1`, [job!.id])
      expect(await rows(`SELECT 1 FROM import_logs`)).toEqual([])
    },
  )

  it('migrates down to zero, leaving no table, function or type in public', async () => {
    const result = await runMigrations({
      connectionString: database.url,
      domain,
      direction: 'down',
      steps: 1000,
    })
    expect(result.applied).toEqual([...files].reverse())

    const leftovers = await rows<{ kind: string; name: string }>(
      `SELECT 'relation ' || c.relkind::text AS kind, c.relname AS name FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace
       UNION ALL
       SELECT 'function', p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
       UNION ALL
       SELECT 'type', t.typname FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace
       UNION ALL
       SELECT 'extension', e.extname FROM pg_extension e WHERE e.extname <> 'plpgsql'`,
    )
    expect(leftovers).toEqual([])

    const status = await getMigrationStatus({ connectionString: database.url, domain })
    expect(status.map((s) => s.state)).toEqual(files.map(() => 'pending'))
  })

  it('migrates up again after a full downgrade', async () => {
    const result = await runMigrations({ connectionString: database.url, domain, direction: 'up' })
    expect(result.applied).toEqual(files)
    expect(await publicTables()).toEqual(Object.keys(spec.tables).sort())
  })
})
