import { DEFAULT_POOL_SIZES, DOMAINS, type Domain, databaseName } from './domains'

export type Env = Readonly<Record<string, string | undefined>>

export interface PoolSettings {
  /** Connections kept open once created (the documented pool size, docs/requirements.md#connection-pools). */
  size: number
  /** Extra connections opened under load and closed again when idle (max overflow: 10 per database). */
  maxOverflow: number
  /** How long a query may wait for a connection before failing (30 s). */
  acquireTimeoutMs: number
  /** Connections are closed and replaced after this age (1 h). */
  recycleMs: number
  /** Overflow connections idle this long are closed. */
  idleTimeoutMs: number
  /** A connection idle at least this long is pinged before it is handed out (pre-ping). */
  prePingIdleMs: number
}

export interface DomainDatabaseConfig {
  domain: Domain
  url: string
  pool: PoolSettings
}

export type DatabaseConfig =
  /** Every domain has a URL from the environment. */
  | { mode: 'external'; domains: Record<Domain, DomainDatabaseConfig> }
  /** No URL configured: the embedded PostgreSQL server provides them (see embedded.ts). */
  | { mode: 'embedded'; pools: Record<Domain, PoolSettings>; embedded: { port: number; dataDir: string } }

export class ConfigError extends Error {
  override name = 'ConfigError'
}

function positiveInt(env: Env, name: string, fallback: number, { allowZero = false } = {}): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ConfigError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got "${raw}"`,
    )
  }
  return value
}

export function poolSettingsFromEnv(domain: Domain, env: Env): PoolSettings {
  const upper = domain.toUpperCase()
  return {
    size: positiveInt(env, `DB_${upper}_POOL_SIZE`, DEFAULT_POOL_SIZES[domain]),
    maxOverflow: positiveInt(env, 'DB_POOL_MAX_OVERFLOW', 10, { allowZero: true }),
    acquireTimeoutMs: positiveInt(env, 'DB_POOL_TIMEOUT_MS', 30_000),
    recycleMs: positiveInt(env, 'DB_POOL_RECYCLE_MS', 3_600_000),
    idleTimeoutMs: positiveInt(env, 'DB_POOL_IDLE_TIMEOUT_MS', 10_000),
    prePingIdleMs: positiveInt(env, 'DB_POOL_PRE_PING_IDLE_MS', 1_000, { allowZero: true }),
  }
}

function parseUrl(name: string, raw: string): URL {
  try {
    const url = new URL(raw)
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error('protocol')
    return url
  } catch {
    throw new ConfigError(`${name} is not a postgres:// URL`)
  }
}

/** The URL of `database` on the server that `serverUrl` points at. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${encodeURIComponent(database)}`
  return url.toString()
}

/** The database settings once read (each URL a valid postgres:// URL): what loadDatabaseConfig resolves. */
export interface DatabaseSettings {
  /** DATABASE_URL: a server holding db_core … db_analytics. */
  server?: string
  /** DB_<DOMAIN>_URL, for the domains that have one. */
  urls: Partial<Record<Domain, string>>
  pools: Record<Domain, PoolSettings>
  /** EMBEDDED_PG_PORT, EMBEDDED_PG_DATA_DIR (default defaultEmbeddedDataDir()). */
  embedded: { port: number; dataDir?: string }
}

/**
 * The configuration of read settings: the per-domain URLs, else DATABASE_URL's server; with neither set
 * anywhere, the embedded default. Some but not all DB_<DOMAIN>_URL without DATABASE_URL is a ConfigError.
 */
export function resolveDatabaseConfig(settings: DatabaseSettings): DatabaseConfig {
  const { server, urls, pools } = settings
  const perDomain = DOMAINS.filter((d) => urls[d])
  if (!server && perDomain.length === 0) {
    return {
      mode: 'embedded',
      pools,
      embedded: {
        port: settings.embedded.port,
        dataDir: settings.embedded.dataDir || defaultEmbeddedDataDir(),
      },
    }
  }
  const missing = DOMAINS.filter((d) => !perDomain.includes(d))
  if (!server && missing.length > 0) {
    throw new ConfigError(
      `${missing.map((d) => `DB_${d.toUpperCase()}_URL`).join(', ')} not set: set every DB_<DOMAIN>_URL, or DATABASE_URL for a server holding all seven databases`,
    )
  }
  const domains = Object.fromEntries(
    DOMAINS.map((d) => {
      const url = urls[d] ?? databaseUrl(server!, databaseName(d))
      return [d, { domain: d, url, pool: pools[d] }]
    }),
  ) as Record<Domain, DomainDatabaseConfig>
  return { mode: 'external', domains }
}

/**
 * Reads DB_<DOMAIN>_URL for each domain, else DATABASE_URL (a server holding db_core … db_analytics);
 * with neither set anywhere, the embedded default. (A service started alone reads the same variables with
 * its zod schema: service-kit's databaseEnvShape.)
 */
export function loadDatabaseConfig(env: Env = process.env): DatabaseConfig {
  const pools = Object.fromEntries(DOMAINS.map((d) => [d, poolSettingsFromEnv(d, env)])) as Record<
    Domain,
    PoolSettings
  >
  const server = env.DATABASE_URL?.trim() ? parseUrl('DATABASE_URL', env.DATABASE_URL.trim()) : undefined
  const urls: Partial<Record<Domain, string>> = {}
  for (const d of DOMAINS) {
    const name = `DB_${d.toUpperCase()}_URL`
    const own = env[name]?.trim()
    if (own) urls[d] = parseUrl(name, own).toString()
  }
  // Without any URL the embedded server's settings count; a bad port is refused only then, as before.
  const embedded =
    !server && Object.keys(urls).length === 0
      ? {
          port: positiveInt(env, 'EMBEDDED_PG_PORT', 54329),
          ...(env.EMBEDDED_PG_DATA_DIR?.trim() ? { dataDir: env.EMBEDDED_PG_DATA_DIR.trim() } : {}),
        }
      : { port: 54329 }
  return resolveDatabaseConfig({ ...(server ? { server: server.toString() } : {}), urls, pools, embedded })
}

/** Resolves the embedded mode's URLs once its server runs. */
export function embeddedDomainConfigs(
  serverUrl: string,
  pools: Record<Domain, PoolSettings>,
): Record<Domain, DomainDatabaseConfig> {
  return Object.fromEntries(
    DOMAINS.map((d) => [d, { domain: d, url: databaseUrl(serverUrl, databaseName(d)), pool: pools[d] }]),
  ) as Record<Domain, DomainDatabaseConfig>
}

/** `<repo>/.data/postgres`: git-ignored, kept across runs. */
export function defaultEmbeddedDataDir(): string {
  return new URL('../../../.data/postgres', import.meta.url).pathname
}

/** host:port/database of a URL, never its password: safe for messages and logs. */
export function describeUrl(raw: string): string {
  try {
    const url = new URL(raw)
    return `${url.hostname}:${url.port || '5432'}${url.pathname}`
  } catch {
    return '(unparseable URL)'
  }
}
