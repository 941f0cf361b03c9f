import {
  type DatabaseConfig,
  DEFAULT_POOL_SIZES,
  DOMAINS,
  type Domain,
  type Env,
  type PoolSettings,
  resolveDatabaseConfig,
} from '@pm/db'
import { z } from 'zod'
import { MIN_SECRET_LENGTH } from './identity'
import type { LogLevel } from './logger'

/**
 * Each service reads its environment once, at start, into a typed settings object: a zod schema keyed by the
 * variable names, parsed here. A value set to blank counts as unset (its default applies).
 */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError'
}

/** The variables of `env` that hold something, trimmed. */
function presentValues(env: Env): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    const trimmed = value?.trim()
    if (trimmed) out[name] = trimmed
  }
  return out
}

/** Parses `env` with `schema`; every bad value is named, with what was given, in one EnvironmentError. */
export function parseEnvironment<S extends z.ZodType>(service: string, schema: S, env: Env): z.output<S> {
  const values = presentValues(env)
  const result = schema.safeParse(values)
  if (result.success) return result.data
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.')
    const given = typeof issue.path[0] === 'string' ? values[issue.path[0]] : undefined
    return `${name}: ${issue.message}${given === undefined ? '' : ` (got "${given}")`}`
  })
  throw new EnvironmentError(`${service}: ${problems.join('; ')}`)
}

/** A whole number within [min, max], refused with `must be …` otherwise. */
function wholeNumber(min: number, max: number, what: string) {
  const message = `must be ${what}`
  return z.coerce
    .number({ error: message })
    .int({ error: message })
    .min(min, { error: message })
    .max(max, { error: message })
}

/** true/false (also 1/0, any case). */
const flag = z
  .string()
  .transform((raw) => raw.toLowerCase())
  .pipe(z.enum(['true', '1', 'false', '0'], { error: 'must be true or false' }))
  .transform((raw) => raw === 'true' || raw === '1')

/** A URL with one of `protocols`, normalised as the URL class writes it. */
function url(protocols: readonly string[], message: string) {
  return z.string().transform((raw, ctx) => {
    try {
      const parsed = new URL(raw)
      if (protocols.includes(parsed.protocol)) return parsed.toString()
    } catch {}
    ctx.addIssue({ code: 'custom', message })
    return z.NEVER
  })
}

/** The variables' shapes every service shares. */
export const envSchemas = {
  logLevel: z.enum(['debug', 'info', 'warn', 'error'] satisfies LogLevel[]).default('info'),
  host: z.string().default('127.0.0.1'),
  nodeEnv: z.string().optional(),
  /** GATEWAY_SIGNING_SECRET / AUTH_TOKEN_SECRET when set: at least MIN_SECRET_LENGTH characters. */
  secret: z
    .string()
    .min(MIN_SECRET_LENGTH, `too short: use a random string of at least ${MIN_SECRET_LENGTH} characters`)
    .optional(),
  /** A whole number within [min, max]. */
  integer: (min: number, max = Number.MAX_SAFE_INTEGER) =>
    wholeNumber(
      min,
      max,
      max === Number.MAX_SAFE_INTEGER
        ? min === 0
          ? 'a non-negative integer'
          : min === 1
            ? 'a positive integer'
            : `an integer of at least ${min}`
        : `an integer from ${min} to ${max}`,
    ),
  /** A TCP port (0: any free one). */
  port: wholeNumber(0, 65_535, 'a port number'),
  /** true/false, 1/0. */
  flag,
  /** An http(s) URL. */
  httpUrl: url(['http:', 'https:'], 'must be an http(s) URL such as http://127.0.0.1:4001/graphql'),
  /** A postgres:// (or postgresql://) URL. */
  postgresUrl: url(['postgres:', 'postgresql:'], 'is not a postgres:// URL'),
  /** REDIS_URL: shared caches and counters when set (taken as given: the client parses it). */
  redisUrl: z.string().optional(),
} as const

export const upper = (domain: Domain) => domain.toUpperCase()

/** A zod shape of computed variable names. */
export function shapeOf<K extends string, T extends z.ZodType>(entries: [K, T][]): Record<K, T> {
  return Object.fromEntries(entries) as Record<K, T>
}

/**
 * The database variables (README "Configuration"): DB_<DOMAIN>_URL, DATABASE_URL, DB_<DOMAIN>_POOL_SIZE,
 * DB_POOL_*, EMBEDDED_PG_PORT and EMBEDDED_PG_DATA_DIR, with @pm/db's defaults. databaseConfigOf turns the
 * parsed values into the configuration.
 */
export const databaseEnvShape = {
  DATABASE_URL: envSchemas.postgresUrl.optional(),
  ...shapeOf(DOMAINS.map((d) => [`DB_${upper(d)}_URL`, envSchemas.postgresUrl.optional()])),
  ...shapeOf(
    DOMAINS.map((d) => [`DB_${upper(d)}_POOL_SIZE`, envSchemas.integer(1).default(DEFAULT_POOL_SIZES[d])]),
  ),
  DB_POOL_MAX_OVERFLOW: envSchemas.integer(0).default(10),
  DB_POOL_TIMEOUT_MS: envSchemas.integer(1).default(30_000),
  DB_POOL_RECYCLE_MS: envSchemas.integer(1).default(3_600_000),
  DB_POOL_IDLE_TIMEOUT_MS: envSchemas.integer(1).default(10_000),
  DB_POOL_PRE_PING_IDLE_MS: envSchemas.integer(0).default(1_000),
  EMBEDDED_PG_PORT: envSchemas.integer(1).default(54_329),
  EMBEDDED_PG_DATA_DIR: z.string().optional(),
}

/** What a shape's object schema parses to. */
export type Parsed<S extends z.ZodRawShape> = z.output<z.ZodObject<S>>
/** Parsed values looked up by a computed name. */
export type Values = Readonly<Record<string, unknown>>

/**
 * The database configuration of parsed databaseEnvShape values: the per-domain URLs, else DATABASE_URL's
 * server, else the embedded default; some but not all DB_<DOMAIN>_URL without DATABASE_URL throws a
 * ConfigError naming the missing ones.
 */
export function databaseConfigOf(parsed: Parsed<typeof databaseEnvShape>): DatabaseConfig {
  const values = parsed as Values
  const urls: Partial<Record<Domain, string>> = {}
  const pools = {} as Record<Domain, PoolSettings>
  for (const d of DOMAINS) {
    const own = values[`DB_${upper(d)}_URL`]
    if (typeof own === 'string') urls[d] = own
    pools[d] = {
      size: values[`DB_${upper(d)}_POOL_SIZE`] as number,
      maxOverflow: parsed.DB_POOL_MAX_OVERFLOW,
      acquireTimeoutMs: parsed.DB_POOL_TIMEOUT_MS,
      recycleMs: parsed.DB_POOL_RECYCLE_MS,
      idleTimeoutMs: parsed.DB_POOL_IDLE_TIMEOUT_MS,
      prePingIdleMs: parsed.DB_POOL_PRE_PING_IDLE_MS,
    }
  }
  return resolveDatabaseConfig({
    ...(parsed.DATABASE_URL ? { server: parsed.DATABASE_URL } : {}),
    urls,
    pools,
    embedded: {
      port: parsed.EMBEDDED_PG_PORT,
      ...(parsed.EMBEDDED_PG_DATA_DIR ? { dataDir: parsed.EMBEDDED_PG_DATA_DIR } : {}),
    },
  })
}
