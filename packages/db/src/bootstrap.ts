import { ensureDatabase } from './admin'
import {
  type DatabaseConfig,
  type DomainDatabaseConfig,
  type Env,
  embeddedDomainConfigs,
  loadDatabaseConfig,
} from './config'
import { DOMAINS, type Domain } from './domains'
import { type EmbeddedServer, startEmbeddedPostgres } from './embedded'
import { runMigrations } from './migrator'

export interface PreparedDatabases {
  domains: Record<Domain, DomainDatabaseConfig>
  /** Present when this process runs (or attached to) the embedded server. */
  embedded?: EmbeddedServer
  /** Stops the embedded server if this process started it. */
  stop(): Promise<void>
}

export interface PrepareOptions {
  env?: Env
  /** Create missing databases and migrate them to head (default true). */
  migrate?: boolean
  log?: (message: string) => void
}

/**
 * Resolves the seven database URLs (starting the embedded server when none is configured),
 * creates missing databases and migrates them to head.
 */
export async function prepareDatabases(options: PrepareOptions = {}): Promise<PreparedDatabases> {
  const log = options.log ?? (() => {})
  const config: DatabaseConfig = loadDatabaseConfig(options.env)
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
  try {
    if (options.migrate !== false) {
      for (const domain of DOMAINS) {
        const { url } = domains[domain]
        if (await ensureDatabase(domain, url)) log(`${domain}: created database`)
        await runMigrations({ connectionString: url, domain, direction: 'up', log })
      }
    }
  } catch (error) {
    await embedded?.stop()
    throw error
  }
  return { domains, ...(embedded ? { embedded } : {}), stop: async () => embedded?.stop() }
}
