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

/**
 * Reads DB_<DOMAIN>_URL for each domain, else DATABASE_URL (a server holding db_core … db_analytics);
 * with neither set anywhere, the embedded default.
 */
export function loadDatabaseConfig(env: Env = process.env): DatabaseConfig {
  const pools = Object.fromEntries(DOMAINS.map((d) => [d, poolSettingsFromEnv(d, env)])) as Record<
    Domain,
    PoolSettings
  >
  const server = env.DATABASE_URL?.trim() ? parseUrl('DATABASE_URL', env.DATABASE_URL.trim()) : undefined
  const perDomain = DOMAINS.filter((d) => env[`DB_${d.toUpperCase()}_URL`]?.trim())
  if (!server && perDomain.length === 0) {
    return {
      mode: 'embedded',
      pools,
      embedded: {
        port: positiveInt(env, 'EMBEDDED_PG_PORT', 54329),
        dataDir: env.EMBEDDED_PG_DATA_DIR?.trim() || defaultEmbeddedDataDir(),
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
      const name = `DB_${d.toUpperCase()}_URL`
      const own = env[name]?.trim()
      const url = own ? parseUrl(name, own).toString() : databaseUrl(server!.toString(), databaseName(d))
      return [d, { domain: d, url, pool: pools[d] }]
    }),
  ) as Record<Domain, DomainDatabaseConfig>
  return { mode: 'external', domains }
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
