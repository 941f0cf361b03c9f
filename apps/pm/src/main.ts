#!/usr/bin/env -S npx tsx
import {
  ConfigError,
  createDomainDatabases,
  DatabaseUnavailableError,
  DOMAINS,
  type Domain,
  type DomainDatabaseConfig,
  describeUrl,
  destroyDomainDatabases,
  domainKyselys,
  ensureDatabase,
  getMigrationStatus,
  isDomain,
  MigrationError,
  migrateDatabase,
  runMigrations,
  type WithDatabasesOptions,
  withDatabases as withPreparedDatabases,
} from '@pm/db'
import { domainsFlag, intFlag, type ParsedArgs, parseArgs, UsageError } from './args'

const USAGE = `pm: the products-manager command line

  pm start          [--no-seed]                databases, demo data, the seven subgraphs and the gateway
  pm migrate up     [--domain D] [--steps N]   apply pending migrations (default: all)
  pm migrate down   [--domain D] [--steps N]   revert applied migrations (default: 1)
  pm migrate status [--domain D]               show each migration's state
  pm db create      [--domain D]               create missing databases
  pm partitions     [--months N]               create import_logs partitions ahead (default: 1 month)
  pm migrate up --safe [--domain D]            back up each database with pending migrations, migrate,
                                               check, and restore the backup when a step fails
  pm db report      [--domain D] [--json]      slowest statements, tables, unused and duplicate indexes,
                                               cache hit ratio, index suggestions with their EXPLAIN
  pm db vacuum|analyze|reindex [--domain D] [--table T]   maintenance (REINDEX CONCURRENTLY)
  pm backup         [--domain D]               pg_dump -Fc of each database into storage, with a manifest;
                                               backups older than BACKUP_RETENTION_DAYS (30) are deleted
  pm backup verify  [--domain D]               restore drill: latest backup into a scratch database,
                                               row counts and migration version compared
  pm backup list    [--domain D]               backups in storage
  pm restore --domain D --from BACKUP|latest   into a new database (--target NAME), or over the
          [--target NAME | --in-place --yes]   domain's own database in one transaction
  pm integrity check                           every cross-database reference: checked, orphans, samples
  pm integrity fix  [--dry-run]                each reference's policy applied to its orphans (delete, set null, flag)
  pm upkeep                                    import_logs partitions ahead and retention, expired rows
  pm user create-superuser --email ADDRESS     the first administrator of a deployment (migrates core
                    [--password-file FILE]     first); the password comes from the file, else from
                                               standard input (asked unechoed on a terminal), never
                                               from the command line
  pm worker         --domain D                 run domain D's background jobs (queue in its database);
                                               needs DB_<DOMAIN>_URL or DATABASE_URL
  pm seed           [--products N] [--seed S]  load the large data set into all seven databases
                    [--reset]                  (default 133149 products, seed 42); --reset first
                                               EMPTIES EVERY TABLE of the seven databases
  pm seed --supplier-file PATH [--rows N]      write a supplier file to import (default 133149 rows):
          [--format csv|xlsx|json|jsonl|xml]   streamed, any size; --bad-share of bad rows (default 0.01:
          [--bad-share F] [--locale fr|en]     bad EAN, no title, negative or text price), numbers as the
          [--encoding utf-8|windows-1252]      locale writes them (fr: 1 234,50), csv/xml in Windows-1252
          [--seed S]                           on demand; no database needed

Databases: DB_<DOMAIN>_URL, or DATABASE_URL (a server holding db_core … db_analytics);
with neither, the embedded PostgreSQL under .data/postgres. Domains: ${DOMAINS.join(', ')}.`

/**
 * The domains' URLs (the one database start-up, prepareDatabases: with the embedded default, its server runs
 * for the command's duration, Ctrl-C included); nothing created or migrated unless `options.migrate` says so.
 */
function withDatabases<T>(
  fn: (domains: Record<Domain, DomainDatabaseConfig>) => Promise<T>,
  options: WithDatabasesOptions = {},
): Promise<T> {
  return withPreparedDatabases(fn, {
    migrate: false,
    exitOnSignal: true,
    // Said only by the commands that migrate first: the others' output stays theirs (`--json` included).
    ...(options.migrate ? { log: (line: string) => console.log(line) } : {}),
    ...options,
  })
}

async function migrate(args: ParsedArgs) {
  const action = args.positionals[1]
  const domains = domainsFlag(args)
  const steps = intFlag(args, 'steps')
  if (action === 'up' && args.flags.has('safe'))
    return (await import('./operations')).migrateSafe(args, withDatabases)
  if (action === 'up' || action === 'down') {
    await withDatabases(async (configs) => {
      for (const domain of domains) {
        const { url } = configs[domain]
        const log = (line: string) => console.log(line)
        const { applied } =
          action === 'up' && steps === undefined
            ? await migrateDatabase(domain, url, log)
            : await runMigrations({
                connectionString: url,
                domain,
                direction: action,
                ...(steps !== undefined ? { steps } : {}),
                log,
              })
        if (applied.length === 0) console.log(`${domain}: nothing to ${action === 'up' ? 'apply' : 'revert'}`)
      }
    })
    return
  }
  if (action === 'status') {
    await withDatabases(async (configs) => {
      let behind = 0
      for (const domain of domains) {
        const rows = await getMigrationStatus({ connectionString: configs[domain].url, domain })
        const pending = rows.filter((r) => r.state !== 'applied').length
        behind += pending
        console.log(`${domain} (${pending === 0 ? 'at head' : `${pending} not applied`})`)
        for (const r of rows) {
          console.log(`  ${r.state.padEnd(8)} ${r.name.padEnd(40)} ${r.appliedAt?.toISOString() ?? ''}`)
        }
      }
      console.log(
        behind === 0 ? `all ${domains.length} databases at head` : `${behind} migrations not applied`,
      )
      if (behind > 0) process.exitCode = 3
    })
    return
  }
  throw new UsageError('pm migrate up|down|status [--domain D] [--steps N]')
}

async function dbCreate(args: ParsedArgs) {
  if (args.positionals[1] !== 'create') return (await import('./operations')).db(args, withDatabases)
  await withDatabases(async (configs) => {
    for (const domain of domainsFlag(args)) {
      const created = await ensureDatabase(domain, configs[domain].url)
      console.log(`${domain}: ${created ? 'created' : 'exists'}`)
    }
  })
}

async function partitions(args: ParsedArgs) {
  const months = intFlag(args, 'months') ?? 1
  await withDatabases(async (configs) => {
    const pg = (await import('pg')).default
    const client = new pg.Client({ connectionString: configs.imports.url })
    await client.connect().catch((error: unknown) => {
      throw new DatabaseUnavailableError('imports', configs.imports.url, error)
    })
    try {
      const { rows } = await client.query('SELECT ensure_import_logs_partitions($1) AS created', [months])
      console.log(`imports: ${rows[0].created} import_logs partitions created`)
    } finally {
      await client.end()
    }
  })
}

const SEED_PRODUCTS = 133_149

async function supplierFile(args: ParsedArgs) {
  const path = args.flags.get('supplier-file')
  if (typeof path !== 'string') throw new UsageError('--supplier-file needs a path')
  const { SUPPLIER_FILE_FORMATS, writeSupplierFile } = await import('@pm/seed')
  const format = args.flags.get('format') ?? path.split('.').pop()
  if (typeof format !== 'string' || !(SUPPLIER_FILE_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${SUPPLIER_FILE_FORMATS.join(', ')}`)
  }
  const choice = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const value = args.flags.get(name) ?? fallback
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value.toLowerCase())) {
      throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`)
    }
    return value.toLowerCase() as T
  }
  const badShareFlag = args.flags.get('bad-share')
  const badShare = badShareFlag === undefined ? 0.01 : Number(badShareFlag)
  if (badShareFlag === true || !(badShare >= 0 && badShare <= 1)) {
    throw new UsageError('--bad-share must be a number between 0 and 1')
  }
  const encoding = choice('encoding', ['utf-8', 'windows-1252'] as const, 'utf-8')
  if (encoding !== 'utf-8' && format !== 'csv' && format !== 'xml') {
    throw new UsageError('--encoding windows-1252 applies to csv and xml only')
  }
  const rows = intFlag(args, 'rows') ?? SEED_PRODUCTS
  const started = Date.now()
  const result = await writeSupplierFile(path, {
    rows,
    format: format as (typeof SUPPLIER_FILE_FORMATS)[number],
    badShare,
    encoding,
    locale: choice('locale', ['fr', 'en'] as const, 'fr'),
    ...(intFlag(args, 'seed') !== undefined ? { seed: intFlag(args, 'seed') } : {}),
  })
  console.log(
    `wrote ${path}: ${result.rows} rows (${result.badRows.length} bad), ${format}, ${result.bytes} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )
}

async function seed(args: ParsedArgs) {
  if (args.flags.has('supplier-file')) return supplierFile(args)
  const products = intFlag(args, 'products') ?? SEED_PRODUCTS
  if (products < 1) throw new UsageError('--products must be a positive integer')
  const seedValue = intFlag(args, 'seed')
  const reset = args.flags.has('reset')
  // Loaded on demand, like start: the other commands do not need the generator.
  const { loadDataSet, resetDatabases } = await import('@pm/seed')
  await withDatabases(
    async (configs) => {
      // One connection per database does the load; a second one serves the checks around it.
      const databases = createDomainDatabases(
        Object.fromEntries(
          DOMAINS.map((d) => [d, { ...configs[d], pool: { ...configs[d].pool, size: 1, maxOverflow: 1 } }]),
        ) as Record<Domain, DomainDatabaseConfig>,
      )
      try {
        const dbs = domainKyselys(databases)
        if (reset) {
          console.log(
            '\n!!! --reset: EMPTYING EVERY TABLE of the seven databases (TRUNCATE … RESTART IDENTITY CASCADE;\n' +
              '!!! only pm.schema_migrations is kept):',
          )
          for (const domain of DOMAINS)
            console.log(`!!!   ${domain.padEnd(10)} ${describeUrl(configs[domain].url)}`)
          const emptied = await resetDatabases(dbs)
          console.log(`!!! ${emptied.length} tables emptied\n`)
        }
        const { counts, ms } = await loadDataSet(dbs, {
          products,
          ...(seedValue !== undefined ? { seed: seedValue } : {}),
          log: (line) => console.log(line),
        })
        const rows = Object.values(counts).reduce((n, c) => n + c, 0)
        console.log(
          `seeded ${products} products, ${rows} rows in ${Object.keys(counts).length} tables of ${DOMAINS.length} databases in ${(ms / 1000).toFixed(1)} s`,
        )
      } finally {
        await destroyDomainDatabases(databases)
      }
    },
    { migrate: true },
  )
}

async function worker(args: ParsedArgs) {
  const domain = args.flags.get('domain')
  if (typeof domain !== 'string' || !isDomain(domain))
    throw new UsageError(`pm worker --domain D, where D is one of ${DOMAINS.join(', ')}`)
  // Loaded on demand: it pulls in the subgraph packages that declare jobs.
  await (await import('./workers')).runWorker(domain, process.env)
}

const COMMANDS: Record<string, (args: ParsedArgs) => Promise<void>> = {
  // Loaded on demand: it pulls in every subgraph and the gateway.
  start: async (args) => {
    await (await import('./start')).start({ seed: !args.flags.has('no-seed') })
  },
  migrate,
  db: dbCreate,
  partitions,
  seed,
  // Loaded on demand: it pulls in core's rules.
  user: async (args) => (await import('./users')).user(args, withDatabases),
  worker,
  // Loaded on demand: the operations package (pg_dump, statistics, integrity).
  backup: async (args) => (await import('./operations')).backup(args, withDatabases),
  restore: async (args) => (await import('./operations')).restore(args, withDatabases),
  integrity: async (args) => (await import('./operations')).integrity(args, withDatabases),
  upkeep: async (args) => (await import('./operations')).upkeep(args, withDatabases),
}

async function main(argv: string[]) {
  const args = parseArgs(argv)
  const command = args.positionals[0]
  if (!command || command === 'help' || args.flags.has('help')) {
    console.log(USAGE)
    return
  }
  const run = COMMANDS[command]
  if (!run) throw new UsageError(`unknown command "${command}"\n\n${USAGE}`)
  await run(args)
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const known = [UsageError, ConfigError, MigrationError, DatabaseUnavailableError].some(
    (t) => error instanceof t,
  )
  const name = error instanceof Error ? error.name : ''
  const plain =
    known ||
    [
      'EmbeddedPostgresError',
      'DataSetNotEmptyError',
      'SuperuserError',
      'OperationError',
      'MissingToolError',
      'StorageConfigError',
      'EnvironmentError',
    ].includes(name)
  console.error(`pm: ${plain ? (error as Error).message : String(error)}`)
  process.exitCode = error instanceof UsageError ? 2 : 1
})
