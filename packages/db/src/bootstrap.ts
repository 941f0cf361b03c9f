import { type EmbeddedServer, startEmbeddedPostgres } from '@pm/embedded-postgres'
import { ensureDatabase } from './admin'
import {
  type DatabaseConfig,
  type DomainDatabaseConfig,
  type Env,
  embeddedDomainConfigs,
  loadDatabaseConfig,
} from './config'
import { DOMAINS, type Domain } from './domains'
import { runMigrations } from './migrator'

/**
 * The one start-up of the databases, used by `pnpm start`, the `pm` commands, a subgraph started alone, the
 * tests' server and the benchmarks: configuration → the embedded server when no URL is configured → missing
 * databases created → migrations applied.
 */
export interface PreparedDatabases {
  domains: Record<Domain, DomainDatabaseConfig>
  /** Present when this process runs (or attached to) the embedded server. */
  embedded?: EmbeddedServer
  /** Stops the embedded server if this process started it. */
  stop(): Promise<void>
}

export interface PrepareOptions {
  /** Where the configuration is read from (default process.env); not read when `config` is given. */
  env?: Env
  /** The configuration itself (e.g. an embedded server of the benchmarks' own). */
  config?: DatabaseConfig
  /**
   * Which databases to create when missing and migrate to head: every domain (true, the default), the
   * domains listed, or none (false: the URLs only, with the embedded server running when it is the source).
   */
  migrate?: boolean | readonly Domain[]
  log?: (message: string) => void
}

/** Creates the database a URL names when missing, then applies its domain's pending migrations. */
export async function migrateDatabase(
  domain: Domain,
  url: string,
  log: (message: string) => void = () => {},
): Promise<{ created: boolean; applied: string[] }> {
  const created = await ensureDatabase(domain, url)
  if (created) log(`${domain}: created database`)
  const { applied } = await runMigrations({ connectionString: url, domain, direction: 'up', log })
  return { created, applied }
}

/**
 * Resolves the seven database URLs (starting the embedded server when none is configured), creates missing
 * databases and migrates them to head (those `migrate` names).
 */
export async function prepareDatabases(options: PrepareOptions = {}): Promise<PreparedDatabases> {
  const log = options.log ?? (() => {})
  const config: DatabaseConfig = options.config ?? loadDatabaseConfig(options.env)
  let embedded: EmbeddedServer | undefined
  let domains: Record<Domain, DomainDatabaseConfig>
  if (config.mode === 'embedded') {
    embedded = await startEmbeddedPostgres({ ...config.embedded, log })
    log(
      `embedded PostgreSQL ${embedded.ownedByThisProcess ? 'started' : 'already running'} on 127.0.0.1:${embedded.port} (data: ${embedded.dataDir})`,
    )
    domains = embeddedDomainConfigs(embedded.url, config.pools)
  } else {
    domains = config.domains
  }
  const migrate = options.migrate ?? true
  const toMigrate = migrate === true ? DOMAINS : migrate === false ? [] : migrate
  try {
    for (const domain of toMigrate) await migrateDatabase(domain, domains[domain].url, log)
  } catch (error) {
    await embedded?.stop()
    throw error
  }
  return { domains, ...(embedded ? { embedded } : {}), stop: async () => embedded?.stop() }
}

export interface WithDatabasesOptions extends PrepareOptions {
  /**
   * Ctrl-C / SIGTERM while `fn` runs stop the embedded server this process started, then exit (130 / 143):
   * for a command line, whose run would otherwise leave the server behind.
   */
  exitOnSignal?: boolean
}

/** prepareDatabases, `fn` on the domains' URLs, then the embedded server (if this process started it) stopped. */
export async function withDatabases<T>(
  fn: (domains: Record<Domain, DomainDatabaseConfig>) => Promise<T>,
  options: WithDatabasesOptions = {},
): Promise<T> {
  const prepared = await prepareDatabases(options)
  const interrupted = (signal: NodeJS.Signals) => {
    prepared.stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  }
  if (options.exitOnSignal) {
    process.once('SIGINT', interrupted)
    process.once('SIGTERM', interrupted)
  }
  try {
    return await fn(prepared.domains)
  } finally {
    process.off('SIGINT', interrupted)
    process.off('SIGTERM', interrupted)
    await prepared.stop()
  }
}
