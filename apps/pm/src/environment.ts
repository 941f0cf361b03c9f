import { randomBytes } from 'node:crypto'
import { ConfigError, type DatabaseConfig, type Domain, type DomainDatabaseConfig, type Env } from '@pm/db'
import { GatewayConfigError, loadGatewayEnvironment } from '@pm/gateway'
import {
  adminEnvShape,
  adminListenerOf,
  databaseConfigOf,
  databaseEnvShape,
  EnvironmentError,
  envSchemas,
  type LogLevel,
  parseEnvironment,
  portsOf,
  requireSecret,
  SecretConfigError,
  SIGNING_SECRET_ENV,
  subgraphUrlsEnvShape,
  subgraphUrlsOf,
  TOKEN_SECRET_ENV,
} from '@pm/service-kit'
import { loadStorageConfig, type StorageConfig, StorageConfigError } from '@pm/storage'
import { z } from 'zod'

/** The variables `pm` itself reads (the services it runs read theirs with their own schemas). */
const schema = z.object({
  LOG_LEVEL: envSchemas.logLevel,
  HOST: envSchemas.host,
  NODE_ENV: envSchemas.nodeEnv,
  [SIGNING_SECRET_ENV]: envSchemas.secret,
  [TOKEN_SECRET_ENV]: envSchemas.secret,
  ...databaseEnvShape,
})

type SecretName = typeof SIGNING_SECRET_ENV | typeof TOKEN_SECRET_ENV

export interface StartEnvironment {
  logLevel: LogLevel
  /** HOST: where the subgraphs listen (default 127.0.0.1). */
  host: string
  production: boolean
  /** GATEWAY_SIGNING_SECRET, else (development) one generated for this run. */
  signingSecret: string
  /** AUTH_TOKEN_SECRET, else (development) one generated for this run. */
  tokenSecret: string
  /** The secrets generated because they were not set. */
  generatedSecrets: SecretName[]
  /** DB_<DOMAIN>_URL / DATABASE_URL, else the embedded server (EMBEDDED_PG_*), with the DB_POOL_* settings. */
  database: DatabaseConfig
}

function parse(env: Env) {
  try {
    return parseEnvironment('pm', schema, env)
  } catch (error) {
    if (error instanceof EnvironmentError) throw new ConfigError(error.message)
    throw error
  }
}

/** pm's own settings, for `pnpm start`: NODE_ENV=production needs both secrets, named when missing. */
export function loadStartEnvironment(env: Env): StartEnvironment {
  const parsed = parse(env)
  const production = parsed.NODE_ENV === 'production'
  const generatedSecrets: SecretName[] = []
  const secret = (name: SecretName): string => {
    const given = parsed[name]
    if (given) return given
    if (production) {
      try {
        return requireSecret(name, env)
      } catch (error) {
        if (error instanceof SecretConfigError) throw new ConfigError(error.message)
        throw error
      }
    }
    generatedSecrets.push(name)
    return randomBytes(48).toString('base64url')
  }
  return {
    logLevel: parsed.LOG_LEVEL,
    host: parsed.HOST,
    production,
    signingSecret: secret(SIGNING_SECRET_ENV),
    tokenSecret: secret(TOKEN_SECRET_ENV),
    generatedSecrets,
    database: databaseConfigOf(parsed),
  }
}

/**
 * The gateway's settings as the gateway started alone reads them (loadGatewayEnvironment: limits, rate
 * limit, production mode, cache, Redis), the secrets included. GATEWAY_WORKERS is not read: everything
 * runs in this one process.
 */
export function gatewaySettings(env: Env) {
  const { GATEWAY_WORKERS: _workers, ...rest } = env
  try {
    return loadGatewayEnvironment(rest)
  } catch (error) {
    if (error instanceof GatewayConfigError) throw new ConfigError(error.message)
    throw error
  }
}

const NICE_MESSAGE = 'must be an integer from 0 to 19 (0 is normal priority, 19 the lowest)'

/** The variables `pm worker --domain D` reads (README "Configuration"); the defaults of WORKER_* are D's own. */
export function workerEnvironmentSchema(defaults: { nice: number; concurrency: number }) {
  return z.object({
    LOG_LEVEL: envSchemas.logLevel,
    NODE_ENV: envSchemas.nodeEnv,
    [SIGNING_SECRET_ENV]: z.string().optional(),
    ...databaseEnvShape,
    ...subgraphUrlsEnvShape,
    ...adminEnvShape,
    GATEWAY_URL: z.string().optional(),
    WORKER_NICE: z.coerce
      .number({ error: NICE_MESSAGE })
      .int({ error: NICE_MESSAGE })
      .min(0, { error: NICE_MESSAGE })
      .max(19, { error: NICE_MESSAGE })
      .default(defaults.nice),
    WORKER_CONCURRENCY: envSchemas.integer(1, 64).default(defaults.concurrency),
  })
}

/** A domain worker's settings (`pm worker`), read once at its start. */
export interface WorkerEnvironment {
  logLevel: LogLevel
  /** DB_<DOMAIN>_URL or DATABASE_URL (the embedded database is pnpm start's), with DB_POOL_*. */
  database: DomainDatabaseConfig
  /** GATEWAY_SIGNING_SECRET (required): the worker signs its requests to the subgraphs and the gateway. */
  signingSecret: string
  /** STORAGE_*: where the jobs read and write files. */
  storageConfig: StorageConfig
  /** SUBGRAPH_<DOMAIN>_URL, else loopback on SUBGRAPH_<DOMAIN>_PORT. */
  subgraphUrls: Record<Domain, string>
  /** GATEWAY_URL, else 127.0.0.1 on GATEWAY_PORT. */
  gatewayUrl: string
  /** ADMIN_HOST and WORKER_ADMIN_PORT (default 9010): /metrics and /ready. */
  admin: { host: string; port: number }
  /** WORKER_NICE (0–19; default the domain's). */
  nice: number
  /** WORKER_CONCURRENCY (1–64; default the domain's, else 1). */
  concurrency: number
}

/**
 * `pm worker --domain D`'s settings from `env`; a missing or bad value is a ConfigError naming the variable
 * (pm prints it, no stack trace).
 */
export function loadWorkerEnvironment(
  domain: Domain,
  env: Env,
  defaults: { nice: number; concurrency: number },
): WorkerEnvironment {
  try {
    const v = parseEnvironment(`pm worker --domain ${domain}`, workerEnvironmentSchema(defaults), env)
    const database = databaseConfigOf(v)
    if (database.mode !== 'external')
      throw new ConfigError(
        `pm worker needs DB_${domain.toUpperCase()}_URL or DATABASE_URL; with the embedded database, pnpm start runs the workers itself`,
      )
    return {
      logLevel: v.LOG_LEVEL,
      database: database.domains[domain],
      signingSecret: requireSecret(SIGNING_SECRET_ENV, env),
      storageConfig: loadStorageConfig(env),
      subgraphUrls: subgraphUrlsOf(v),
      gatewayUrl: v.GATEWAY_URL?.replace(/\/+$/, '') || `http://127.0.0.1:${portsOf(v).gateway}`,
      admin: adminListenerOf(v, 'worker'),
      nice: v.WORKER_NICE,
      concurrency: v.WORKER_CONCURRENCY,
    }
  } catch (error) {
    if (
      error instanceof EnvironmentError ||
      error instanceof SecretConfigError ||
      error instanceof StorageConfigError
    )
      throw new ConfigError(error.message)
    throw error
  }
}
