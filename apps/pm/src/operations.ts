import { DOMAINS, type Domain, type DomainDatabaseConfig, isDomain } from '@pm/db'
import {
  type DatabaseHealthReport,
  describeVerify,
  findBackup,
  formatHealth,
  gatewayCacheInvalidation,
  type IntegrityReport,
  listBackups,
  MAINTENANCE_ACTIONS,
  type MaintenanceAction,
  type OperationKind,
  type OperationRequest,
  restoreDatabase,
  runOperation,
  safeMigrate,
  type VerifyResult,
} from '@pm/operations'
import { createLogger } from '@pm/service-kit'
import { createStorage, loadStorageConfig, type Storage } from '@pm/storage'
import pg from 'pg'
import { domainsFlag, type ParsedArgs, UsageError } from './args'

type WithDatabases = <T>(fn: (domains: Record<Domain, DomainDatabaseConfig>) => Promise<T>) => Promise<T>

const urlsOf = (configs: Record<Domain, DomainDatabaseConfig>) =>
  Object.fromEntries(DOMAINS.map((d) => [d, configs[d].url])) as Record<Domain, string>

function storage(): Storage {
  return createStorage(loadStorageConfig(process.env))
}

function oneDomain(args: ParsedArgs): Domain | null {
  const value = args.flags.get('domain')
  if (value === undefined) return null
  if (value === true || !isDomain(value))
    throw new UsageError(`--domain must be one of ${DOMAINS.join(', ')}`)
  return value
}

/**
 * The run recorded in core's operation_runs (source cli) when db_core is migrated, so the API shows what the
 * command line did too; a core database without the table just is not told.
 */
async function recorded<T extends Record<string, unknown>>(
  coreUrl: string,
  request: OperationRequest,
  work: () => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: coreUrl, connectionTimeoutMillis: 5_000 })
  client.on('error', () => {})
  let id: string | undefined
  try {
    await client.connect()
    const { rows } = await client.query(
      `INSERT INTO operation_runs (kind, domain, target_table, dry_run, status, source, started_at)
       VALUES ($1, $2, $3, $4, 'running', 'cli', NOW()) RETURNING id`,
      [request.kind, request.domain ?? null, request.table ?? null, Boolean(request.dryRun)],
    )
    id = rows[0].id
  } catch {
    // Not recorded: core unreachable or not migrated to the operations table.
  }
  try {
    const result = await work()
    if (id)
      await client
        .query(
          `UPDATE operation_runs SET status = 'completed', progress = 100, result = $2, finished_at = NOW() WHERE id = $1`,
          [id, JSON.stringify(result)],
        )
        .catch(() => {})
    return result
  } catch (error) {
    if (id)
      await client
        .query(`UPDATE operation_runs SET status = 'failed', error = $2, finished_at = NOW() WHERE id = $1`, [
          id,
          String((error as Error).message).slice(0, 2_000),
        ])
        .catch(() => {})
    throw error
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * The gateway cache told about rows this command changed behind its back (REDIS_URL, GATEWAY_CACHE_NAME as
 * the gateway has them), as a mutation through the gateway would; says so when gateways could not be told.
 */
async function withGatewayCache<T>(
  work: (invalidate: (domains: Domain[]) => Promise<void>) => Promise<T>,
): Promise<T> {
  const cache = gatewayCacheInvalidation(process.env, createLogger({ service: 'pm' }, 'error'), 'pm-cli')
  let told: Domain[] = []
  try {
    return await work(async (domains) => {
      told = [...new Set([...told, ...domains])]
      await cache.invalidate(domains)
    })
  } finally {
    if (told.length && !cache.delivered())
      console.error(
        `warning: the gateway cache could not be told that ${told.join(', ')} changed (Redis unreachable): gateways may serve the earlier answers until their entries expire`,
      )
    else if (told.length && !cache.shared)
      console.error(
        `note: REDIS_URL is not set, so gateways in other processes were not told that ${told.join(', ')} changed: they serve what they cached for at most their L1 lifetime`,
      )
    await cache.close()
  }
}

async function run(
  withDatabases: WithDatabases,
  request: OperationRequest,
  print?: (result: Record<string, unknown>) => void,
) {
  await withDatabases(async (configs) => {
    const urls = urlsOf(configs)
    const writes = request.kind === 'integrity_fix' && !request.dryRun
    const operate = (invalidate?: (domains: Domain[]) => Promise<void>) =>
      recorded(urls.core, request, () =>
        runOperation(request, {
          urls,
          storage: storage(),
          log: (line) => console.log(line),
          ...(invalidate ? { invalidate } : {}),
        }),
      )
    // Not print?.(await …): an optional call with print undefined would not evaluate (run) its argument.
    const result = writes ? await withGatewayCache(operate) : await operate()
    print?.(result)
  })
}

/** pm db report|vacuum|analyze|reindex */
export async function db(args: ParsedArgs, withDatabases: WithDatabases) {
  const action = args.positionals[1]
  const domain = oneDomain(args)
  const table = args.flags.get('table')
  if (table === true) throw new UsageError('--table needs a table name')
  if (action === 'report') {
    await run(withDatabases, { kind: 'report', domain }, (result) => {
      const reports = Object.values(result.domains as Record<string, DatabaseHealthReport>)
      if (args.flags.has('json')) console.log(JSON.stringify(reports, null, 2))
      else for (const r of reports) console.log(formatHealth(r))
    })
    return
  }
  if ((MAINTENANCE_ACTIONS as readonly string[]).includes(action ?? '')) {
    if (table && !domain) throw new UsageError('--table needs --domain')
    await run(withDatabases, { kind: action as MaintenanceAction, domain, table: table ?? null })
    return
  }
  throw new UsageError('pm db create|report|vacuum|analyze|reindex [--domain D] [--table T] [--json]')
}

/** pm backup [--domain D] | pm backup verify [--domain D] | pm backup list [--domain D] */
export async function backup(args: ParsedArgs, withDatabases: WithDatabases) {
  const action = args.positionals[1]
  const domain = oneDomain(args)
  if (action === undefined) {
    await run(withDatabases, { kind: 'backup', domain })
    return
  }
  if (action === 'verify') {
    await run(withDatabases, { kind: 'backup_verify', domain }, (result) => {
      const failed = Object.values(result.domains as Record<string, VerifyResult>).filter((v) => !v.ok)
      console.log(
        failed.length === 0
          ? 'restore drill passed: every backup restored with its row counts and migration version'
          : `restore drill FAILED for ${failed.map((v) => v.domain).join(', ')}`,
      )
      if (failed.length) process.exitCode = 4
    })
    return
  }
  if (action === 'list') {
    for (const m of await listBackups(storage(), domain ?? undefined)) {
      console.log(
        `${m.backup}  ${m.domain.padEnd(10)} ${String(m.size).padStart(12)} bytes  migration ${m.migrationVersion}  sha256 ${m.sha256}`,
      )
    }
    return
  }
  throw new UsageError('pm backup [--domain D] | pm backup verify [--domain D] | pm backup list [--domain D]')
}

/** pm restore --domain D --from BACKUP [--target NAME | --in-place --yes] */
export async function restore(args: ParsedArgs, withDatabases: WithDatabases) {
  const domain = oneDomain(args)
  const from = args.flags.get('from')
  if (!domain || typeof from !== 'string')
    throw new UsageError('pm restore --domain D --from BACKUP|latest [--target NAME | --in-place --yes]')
  const inPlace = args.flags.has('in-place')
  if (inPlace && !args.flags.has('yes')) {
    throw new UsageError(
      `--in-place REPLACES the whole ${domain} database with backup ${from}: add --yes to confirm (or restore into a new database with --target NAME)`,
    )
  }
  const target = args.flags.get('target')
  if (target === true || (typeof target === 'string' && !/^[a-z_][a-z0-9_]{0,62}$/.test(target)))
    throw new UsageError('--target must be a database name (lower-case letters, digits, underscores)')
  await withDatabases(async (configs) => {
    const store = storage()
    const manifest = await findBackup(store, domain, from)
    const restore = () =>
      restoreDatabase(manifest, configs[domain].url, {
        storage: store,
        inPlace,
        ...(typeof target === 'string' ? { target } : {}),
      })
    // In place, every answer the gateways cached of that database may be wrong now.
    const restored = inPlace
      ? await withGatewayCache(async (invalidate) => {
          const done = await restore()
          await invalidate([domain])
          return done
        })
      : await restore()
    console.log(
      `${domain}: backup ${manifest.backup} (migration ${manifest.migrationVersion}) restored into ${restored.database}${inPlace ? ' (in place)' : ''}`,
    )
  })
}

/** pm integrity check|fix [--dry-run] [--reference NAME] [--batch N] */
export async function integrity(args: ParsedArgs, withDatabases: WithDatabases) {
  const action = args.positionals[1]
  if (action !== 'check' && action !== 'fix')
    throw new UsageError('pm integrity check | pm integrity fix [--dry-run]')
  const kind: OperationKind = action === 'check' ? 'integrity_check' : 'integrity_fix'
  await run(withDatabases, { kind, dryRun: args.flags.has('dry-run') }, (result) => {
    const report = result as unknown as IntegrityReport
    console.log(`${report.checked} references checked, ${report.orphans} orphans`)
    const dry = args.flags.has('dry-run')
    for (const r of report.references.filter((r) => r.orphans > 0 || r.cleared > 0)) {
      const applied =
        action !== 'fix'
          ? ''
          : r.policy === 'keep_and_flag'
            ? `, ${r.flagged} ${dry ? 'would be flagged' : 'flagged'}`
            : `, ${r.fixed} ${dry ? `would be ${r.policy === 'delete' ? 'deleted' : 'set null'}` : 'fixed'}`
      const cleared = r.cleared ? `, ${r.cleared} flags cleared (valid again)` : ''
      console.log(
        `  ${r.reference} → ${r.to} (${r.policy}): ${r.orphans} orphans${applied}${cleared}${r.samples.length ? `, e.g. ${r.samples.map((s) => `${s.key}→${s.value}`).join(', ')}` : ''}`,
      )
    }
    if (action === 'check' && report.orphans > 0) process.exitCode = 5
  })
}

/** pm upkeep: import_logs partitions and retention, expired rows. */
export async function upkeep(_args: ParsedArgs, withDatabases: WithDatabases) {
  await run(withDatabases, { kind: 'upkeep' })
}

/** pm migrate up --safe */
export async function migrateSafe(args: ParsedArgs, withDatabases: WithDatabases) {
  const domains = domainsFlag(args)
  await withDatabases(async (configs) => {
    const done = await safeMigrate(urlsOf(configs), domains, {
      storage: storage(),
      log: (line) => console.log(line),
    })
    console.log(
      `${done.length} databases migrated safely (${done.map((d) => `${d.domain}: ${d.applied.length}`).join(', ') || 'nothing pending'})`,
    )
  })
}

export { describeVerify }
