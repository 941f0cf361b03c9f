import { DOMAINS, type Domain, databaseName } from '@pm/db'
import { type Kysely, sql, type Transaction } from 'kysely'
import { resolveOptions } from '../generate'
import { MIGRATION_TABLES } from '../generate/core'
import { copyFrom } from '../load/copy'
import { TableSink } from '../load/sink'
import { JSON_COLUMNS, type SeedDatabases, TABLE_ORDER } from '../seed'
import { type DomainSinks, planDataSet, type ScaleOptions, type ScalePlan } from './generate'

export interface LoadOptions extends ScaleOptions {
  log?: (message: string) => void
}

export interface LoadResult {
  /** Rows per table (table names are unique across the seven databases). */
  counts: Record<string, number>
  /** Wall time of the whole load, ANALYZE included. */
  ms: number
}

export class DataSetNotEmptyError extends Error {
  override name = 'DataSetNotEmptyError'
}

// Table names vary at run time here; the rows were type-checked against each domain's DB when generated.
type LooseDb = Kysely<Record<string, Record<string, unknown>>>
const loose = (db: unknown) => db as LooseDb

const fmt = (n: number) => n.toLocaleString('en-US')

/** Tables of the load that already hold rows, as db_x.table. */
async function nonEmptyTables(dbs: SeedDatabases): Promise<string[]> {
  const found = await Promise.all(
    DOMAINS.map(async (domain) => {
      const tables = TABLE_ORDER[domain] as string[]
      const probes = sql.join(
        tables.map((t) => sql`SELECT ${t}::text AS t WHERE EXISTS (SELECT 1 FROM ${sql.table(t)})`),
        sql` UNION ALL `,
      )
      const { rows } = await sql<{ t: string }>`${probes}`.execute(loose(dbs[domain]))
      return rows.map((r) => `${databaseName(domain)}.${r.t}`)
    }),
  )
  return found.flat()
}

/**
 * Whether foreign keys can be checked after the COPYs rather than row by row: this role may turn
 * triggers off for its session (superuser, or SET granted on session_replication_role), and no
 * trigger of the schema's own fires on INSERT (those would be skipped too).
 */
async function keysCheckableAfter(db: unknown): Promise<boolean> {
  const { rows } = await sql<{ superuser: boolean; insertTriggers: number }>`
    SELECT current_setting('is_superuser') = 'on' AS superuser,
           (SELECT count(*)::int FROM pg_trigger WHERE NOT tgisinternal AND tgtype & 4 <> 0) AS "insertTriggers"`.execute(
    loose(db),
  )
  if (rows[0]!.insertTriggers > 0) return false
  if (rows[0]!.superuser) return true
  // has_parameter_privilege exists from PostgreSQL 15 on.
  const granted = await sql<{
    ok: boolean
  }>`SELECT has_parameter_privilege('session_replication_role', 'SET') AS ok`
    .execute(loose(db))
    .then((r) => r.rows[0]?.ok === true)
    .catch(() => false)
  return granted
}

/**
 * Checks every foreign key of the database with one anti-join per constraint (instead of one
 * trigger call per row); throws naming the constraints that have rows without a parent.
 */
async function verifyForeignKeys(db: LooseDb, name: string): Promise<number> {
  const { rows: keys } = await sql<{
    conname: string
    child: string
    parent: string
    on: string
    notnull: string
  }>`
    SELECT c.conname,
           c.conrelid::regclass::text AS child,
           c.confrelid::regclass::text AS parent,
           string_agg(format('p.%I = c.%I', pa.attname, ca.attname), ' AND ' ORDER BY k.n) AS on,
           string_agg(format('c.%I IS NOT NULL', ca.attname), ' AND ' ORDER BY k.n) AS notnull
    FROM pg_constraint c
    CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(child_att, parent_att, n)
    JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = k.child_att
    JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.parent_att
    WHERE c.contype = 'f' AND c.conparentid = 0
    GROUP BY c.oid, c.conname, c.conrelid, c.confrelid
    ORDER BY 1`.execute(db)
  const broken: string[] = []
  for (const key of keys) {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${sql.raw(key.child)} c
      WHERE ${sql.raw(key.notnull)} AND NOT EXISTS (SELECT 1 FROM ${sql.raw(key.parent)} p WHERE ${sql.raw(key.on)})`.execute(
      db,
    )
    if (rows[0]!.n > 0) broken.push(`${key.conname} (${rows[0]!.n} rows)`)
  }
  if (broken.length > 0) throw new Error(`${name}: rows without their parent: ${broken.join(', ')}`)
  return keys.length
}

async function catalogProducts(db: Kysely<unknown> | Transaction<unknown>): Promise<number> {
  const { rows } = await sql<{
    n: number
  }>`SELECT count(*)::int AS n FROM (SELECT 1 FROM products LIMIT 1000000) p`.execute(loose(db))
  return rows[0]!.n
}

/** Every domain commits only once all seven loaded: one failing rolls all of them back. */
class Barrier {
  private remaining: number
  failure: { domain: Domain; error: unknown } | undefined
  private done!: { resolve: () => void; reject: (error: unknown) => void }
  readonly promise = new Promise<void>((resolve, reject) => {
    this.done = { resolve, reject }
  })
  private locked!: { resolve: () => void; reject: (error: unknown) => void }
  /** Resolves once the catalog's transaction holds the products lock. */
  readonly catalogLocked = new Promise<void>((resolve, reject) => {
    this.locked = { resolve, reject }
  })

  constructor(parties: number) {
    this.remaining = parties
    this.promise.catch(() => {})
    this.catalogLocked.catch(() => {})
  }

  lockedCatalog(): void {
    this.locked.resolve()
  }

  arrive(): void {
    if (--this.remaining === 0) this.done.resolve()
  }

  /** The first failure wins; the others are its consequences (aborted loads). */
  fail(domain: Domain, error: unknown): void {
    if (this.failure !== undefined) return
    this.failure = { domain, error }
    this.done.reject(new Aborted(`${databaseName(domain)} failed`))
    this.locked.reject(new Aborted(`${databaseName(domain)} failed`))
  }
}

class Aborted extends Error {
  override name = 'Aborted'
}

/** Produces one database's rows and COPYs them table by table (parents first) on `trx`. */
async function loadDomain<D extends Domain>(
  trx: Transaction<unknown>,
  domain: D,
  plan: ScalePlan,
  setBased: boolean,
  barrier: Barrier,
  counts: Record<string, number>,
  log: (message: string) => void,
): Promise<void> {
  // The others start once the catalog is locked: a second loader stops there, before writing anything.
  if (domain !== 'catalog') await barrier.catalogLocked
  const db = loose(trx)
  const name = databaseName(domain)
  // Foreign keys are then checked once per constraint below, not once per row by their triggers.
  if (setBased) await sql`SET LOCAL session_replication_role = replica`.execute(db)
  if (domain === 'catalog') {
    // One loader at a time (the demo seed takes the same lock): the later one stops at once.
    await sql`LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE NOWAIT`
      .execute(db)
      .catch((error: { code?: string }) => {
        if (error.code !== '55P03') throw error
        throw new DataSetNotEmptyError(
          `${name}.products is locked by another load (pm seed or the demo seed)`,
        )
      })
    if ((await catalogProducts(trx)) > 0)
      throw new DataSetNotEmptyError(`${name} got products from another load meanwhile`)
    barrier.lockedCatalog()
  }
  if (domain === 'imports') {
    // import_logs is partitioned by month: a partition for every month the logs fall in (none in the default).
    for (const month of plan.logMonths) {
      await sql`SELECT ensure_import_logs_partitions(0, ${month}::date)`.execute(db)
    }
  }
  const tables = TABLE_ORDER[domain] as string[]
  const sinks = Object.fromEntries(tables.map((t) => [t, new TableSink(t, JSON_COLUMNS[t])])) as Record<
    string,
    TableSink
  >
  const tick = () =>
    new Promise<void>((resolve, reject) =>
      setImmediate(() => (barrier.failure ? reject(new Aborted('another database failed')) : resolve())),
    )
  const producing = plan.producers[domain](sinks as unknown as DomainSinks<D>, tick).then(
    () => {
      for (const sink of Object.values(sinks)) sink.close()
    },
    (error: unknown) => {
      for (const sink of Object.values(sinks)) sink.fail(error)
      throw error
    },
  )
  producing.catch(() => {})
  for (const table of tables) {
    const sink = sinks[table]!
    const started = performance.now()
    if (!(await sink.hasRows())) {
      counts[table] = 0
      continue
    }
    const copied = await copyFrom(trx, table, sink.columns!, sink)
    if (copied !== sink.rows) throw new Error(`${name}.${table}: COPY wrote ${copied} rows of ${sink.rows}`)
    counts[table] = copied
    const ms = performance.now() - started
    log(
      `  ${`${name}.${table}`.padEnd(34)} ${fmt(copied).padStart(10)} rows ${fmt(Math.round(ms)).padStart(7)} ms` +
        (copied >= 10_000 ? `  ${fmt(Math.round(copied / (ms / 1000)))} rows/s` : ''),
    )
  }
  await producing
  if (setBased) {
    const started = performance.now()
    const keys = await verifyForeignKeys(db, name)
    log(`  ${`${name}: ${keys} foreign keys verified`.padEnd(51)} ${ms(started)}`)
  }
  // In the transaction (it sees its own rows), while the other databases may still be loading. The
  // tables by name: a database-wide ANALYZE would also take cluster-wide locks on the shared catalogs
  // and hold them until the commit, which waits for the other six. Every table of the schema, not only
  // those loaded: triggers fill some (catalog's product_completeness), and a table never analysed is
  // planned as if any filter kept a third of it.
  const started = performance.now()
  const { rows: all } = await sql<{ name: string }>`
    SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`.execute(
    db,
  )
  const analysed = [...new Set([...tables, ...all.map((t) => t.name)])]
  await sql`ANALYZE ${sql.join(analysed.map((t) => sql.table(t)))}`.execute(db)
  log(`  ${`${name}: ANALYZE`.padEnd(51)} ${ms(started)}`)
}

const ms = (since: number) => `${fmt(Math.round(performance.now() - since)).padStart(7)} ms`

/**
 * Loads the large data set (`planDataSet`) into the seven databases, which must hold none of its
 * rows (refused when the catalog has products). Each database is written in one transaction on one
 * connection, all seven in parallel, by COPY FROM STDIN of rows produced while loading; all commit
 * once all seven succeeded, or all roll back. Every index stays in place; each database is ANALYZEd
 * at the end of its load.
 */
export async function loadDataSet(dbs: SeedDatabases, options: LoadOptions): Promise<LoadResult> {
  const started = performance.now()
  const log = options.log ?? (() => {})
  resolveOptions(options)
  const products = await catalogProducts(dbs.catalog as Kysely<unknown>)
  if (products > 0) {
    throw new DataSetNotEmptyError(
      `${databaseName('catalog')} already has ${fmt(products)}${products === 1_000_000 ? '+' : ''} products: ` +
        'the data set loads into empty databases only (pm seed --reset empties all seven first)',
    )
  }
  const filled = await nonEmptyTables(dbs)
  if (filled.length > 0) {
    throw new DataSetNotEmptyError(
      `${filled.join(', ')} already hold rows: the data set loads into empty databases only ` +
        '(pm seed --reset empties all seven first)',
    )
  }

  // Like pg_restore --disable-triggers, when allowed: the rows are valid by construction and verified after.
  const setBased = (await Promise.all(DOMAINS.map((d) => keysCheckableAfter(dbs[d])))).every(Boolean)
  const plan = planDataSet(options)
  log(
    `data set: ${fmt(plan.options.products)} products (seed ${plan.options.seed}) planned in ` +
      `${fmt(Math.round(performance.now() - started))} ms; loading the seven databases in parallel` +
      (setBased
        ? ''
        : ' (foreign keys checked row by row: session_replication_role not settable, or INSERT triggers)'),
  )

  const counts: Record<string, number> = {}
  const barrier = new Barrier(DOMAINS.length)
  const outcomes = await Promise.allSettled(
    DOMAINS.map((domain) =>
      (dbs[domain] as Kysely<unknown>).transaction().execute(async (trx) => {
        try {
          await loadDomain(trx, domain, plan, setBased, barrier, counts, log)
        } catch (error) {
          barrier.fail(domain, error)
          throw error
        }
        barrier.arrive()
        await barrier.promise
      }),
    ),
  )
  if (barrier.failure) {
    const { domain, error } = barrier.failure
    // Refused before writing: said as is (the CLI prints it without a stack).
    if (error instanceof DataSetNotEmptyError) throw error
    throw new Error(
      `data set: loading ${databaseName(domain)} failed (${error instanceof Error ? error.message : String(error)}); ` +
        'all seven databases were rolled back',
      { cause: error },
    )
  }
  const rejected = outcomes.find((o) => o.status === 'rejected')
  if (rejected) {
    // All loaded, a COMMIT failed: the databases that committed before it keep their rows.
    throw new Error(`data set: a commit failed (${String(rejected.reason)}); pm seed --reset, then retry`, {
      cause: rejected.reason,
    })
  }
  const total = performance.now() - started
  const rows = Object.values(counts).reduce((n, c) => n + c, 0)
  log(
    `data set: ${fmt(rows)} rows in ${Object.keys(counts).length} tables, analyzed and committed: total ` +
      `${fmt(Math.round(total))} ms (${fmt(Math.round(rows / (total / 1000)))} rows/s)`,
  )
  return { counts, ms: total }
}

/**
 * Empties every table of the seven databases except the migration history (pm.schema_migrations) and
 * what the migrations made (core's roles, permissions and grants): TRUNCATE … RESTART IDENTITY CASCADE. Returns the tables emptied, as db_x.schema.table.
 */
export async function resetDatabases(dbs: SeedDatabases): Promise<string[]> {
  const emptied = await Promise.all(
    DOMAINS.map(async (domain) => {
      const db = loose(dbs[domain])
      const { rows } = await sql<{ name: string }>`
        SELECT format('%I.%I', n.nspname, c.relname) AS name
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
          AND NOT (n.nspname = 'pm' AND c.relname = 'schema_migrations')
          AND NOT (${domain === 'core'} AND n.nspname = 'public' AND c.relname = ANY(${[...MIGRATION_TABLES]}::text[]))
        ORDER BY 1`.execute(db)
      if (rows.length === 0) return []
      await sql`TRUNCATE ${sql.raw(rows.map((r) => r.name).join(', '))} RESTART IDENTITY CASCADE`.execute(db)
      return rows.map((r) => `${databaseName(domain)}.${r.name}`)
    }),
  )
  return emptied.flat()
}
