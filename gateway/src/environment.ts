import { availableParallelism } from 'node:os'
import { DOMAINS, type Domain, type Env } from '@pm/db'
import {
  adminEnvShape,
  adminListenerOf,
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
import { DEFAULT_APQ_MAX_BYTES, DEFAULT_APQ_REGISTRATIONS_PER_MINUTE } from './apq'
import { parseOrigin } from './cors'
import { cachePolicyFrom, DEFAULT_CACHE_POLICY, type GatewayCacheOptions } from './fetch-cache'
import { DEFAULT_OPERATION_LIMITS, type OperationLimits } from './limits'

export const DEFAULT_SUBGRAPH_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_SOCKETS_PER_SUBGRAPH = 64
// Room for a 5,000-row bulk upsert (upsertProducts' cap); anything larger is refused before parsing.
export const DEFAULT_MAX_BODY_BYTES = 4 * 1_048_576
export const DEFAULT_MAX_BATCH = 10
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600
export const DEFAULT_UPLOAD_MAX_BYTES = 1_073_741_824
/**
 * Query plans and parsed documents kept per worker, in MiB as Apollo sizes them (the JSON text of each entry;
 * the heap they hold is several times that). Apollo's own defaults are 30 each; an API with a few hundred
 * distinct operations fills a fraction of these.
 */
export const DEFAULT_QUERY_PLAN_CACHE_MB = 16
export const DEFAULT_DOCUMENT_CACHE_MB = 8

export type GatewayMode = 'development' | 'production'

/** What the gateway lets callers do: the parts of its settings that differ between development and production. */
export interface GatewaySecurity {
  mode: GatewayMode
  /** __schema / __type answered (default: on in development, off in production). */
  introspection: boolean
  /** GraphiQL served to browsers at /graphql (default: on in development, off in production). */
  graphiql: boolean
  /** "Did you mean …" kept in error messages (default: as introspection, whose answers they would leak). */
  fieldSuggestions: boolean
  limits: OperationLimits
  maxBodyBytes: number
  /** Operations one batched (JSON array) request may hold; 0 refuses batches. */
  maxBatch: number
  /** Requests per caller per minute; 0 turns the limit off. */
  rateLimitPerMinute: number
  /** Take the client address from X-Forwarded-For (the entry the nearest proxy added). */
  trustProxy: boolean
  /** Largest document an APQ registration stores (bytes). */
  apqMaxBytes: number
  /** APQ documents one signed-in caller may register per minute (anonymous callers register none). */
  apqRegistrationsPerMinute: number
  /** Rate-limit counters shared by every gateway when set, else kept in process. */
  redisUrl?: string
  /** Browser origins allowed to call the API (GATEWAY_CORS_ORIGINS, comma-separated); empty: CORS off. */
  corsOrigins: readonly string[]
}

export interface GatewayEnvironment extends GatewaySecurity {
  /** LOG_LEVEL (default info). */
  logLevel: LogLevel
  port: number
  host: string
  /** ADMIN_HOST (default 127.0.0.1) and GATEWAY_ADMIN_PORT (default 9000): /ready and /metrics. */
  admin: { host: string; port: number }
  subgraphUrls: Record<Domain, string>
  subgraphTimeoutMs: number
  maxSocketsPerSubgraph: number
  /** GATEWAY_SIGNING_SECRET: signs the caller identity sent with every subgraph request. */
  signingSecret: string
  /** AUTH_TOKEN_SECRET: verifies the access tokens core signs. */
  tokenSecret: string
  /**
   * GATEWAY_CACHE (default true), GATEWAY_CACHE_L1_MB, GATEWAY_CACHE_L1_TTL_MS, GATEWAY_CACHE_TTL_<DOMAIN>,
   * GATEWAY_CACHE_NAME (gateways sharing Redis and this name share entries and invalidations).
   */
  cache: GatewayCacheOptions | false
  /** GATEWAY_WORKERS: gateway processes sharing the port (a number, or "auto": one per core); default 1. */
  workers: number
  /** UPLOAD_MAX_BYTES: the largest file POST /uploads takes (default 1 GiB). */
  uploadMaxBytes: number
  /** GATEWAY_QUERY_PLAN_CACHE_MB: query plans kept per worker (approximate MiB, least recently used go). */
  queryPlanCacheMb: number
  /** GATEWAY_DOCUMENT_CACHE_MB: parsed and validated documents kept per worker (approximate MiB). */
  documentCacheMb: number
  /** STORAGE_* (and PUBLIC_URL, GATEWAY_SIGNING_SECRET): where uploads and downloads go. */
  storageConfig: StorageConfig
}

export class GatewayConfigError extends Error {
  override name = 'GatewayConfigError'
}

const d = DEFAULT_OPERATION_LIMITS
const positive = (fallback: number) => envSchemas.integer(1).default(fallback)
const nonNegative = (fallback: number) => envSchemas.integer(0).default(fallback)

/** GATEWAY_CORS_ORIGINS: exact origins (https://shop.example.com, http://127.0.0.1:5173), no wildcard. */
const corsOrigins = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const origins: string[] = []
    for (const entry of raw?.split(',') ?? []) {
      const value = entry.trim()
      const origin = parseOrigin(value)
      if (!origin) {
        ctx.addIssue({
          code: 'custom',
          message: `holds "${value}": list origins as scheme://host[:port] (no path, no wildcard), separated by commas`,
        })
        return z.NEVER
      }
      origins.push(origin)
    }
    return origins
  })

/** The limits and the development/production switches: GATEWAY_* (and NODE_ENV, REDIS_URL). */
const securityShape = {
  NODE_ENV: envSchemas.nodeEnv,
  GATEWAY_ENV: z
    .enum(['development', 'production'], { error: 'must be development or production' })
    .optional(),
  GATEWAY_INTROSPECTION: envSchemas.flag.optional(),
  GATEWAY_GRAPHIQL: envSchemas.flag.optional(),
  GATEWAY_FIELD_SUGGESTIONS: envSchemas.flag.optional(),
  GATEWAY_MAX_DEPTH: positive(d.maxDepth),
  GATEWAY_MAX_ALIASES: nonNegative(d.maxAliases),
  GATEWAY_MAX_ROOT_FIELDS: positive(d.maxRootFields),
  GATEWAY_MAX_DIRECTIVES: nonNegative(d.maxDirectives),
  GATEWAY_MAX_TOKENS: positive(d.maxTokens),
  GATEWAY_MAX_COST: positive(d.maxCost),
  GATEWAY_MAX_FIELD_DUPLICATES: positive(d.maxFieldDuplicates),
  GATEWAY_MAX_VARIABLES_DEPTH: positive(d.maxVariablesDepth),
  GATEWAY_MAX_BODY_BYTES: positive(DEFAULT_MAX_BODY_BYTES),
  GATEWAY_MAX_BATCH: nonNegative(DEFAULT_MAX_BATCH),
  GATEWAY_RATE_LIMIT_PER_MINUTE: nonNegative(DEFAULT_RATE_LIMIT_PER_MINUTE),
  GATEWAY_TRUST_PROXY: envSchemas.flag.default(false),
  GATEWAY_APQ_MAX_BYTES: positive(DEFAULT_APQ_MAX_BYTES),
  GATEWAY_APQ_REGISTRATIONS_PER_MINUTE: nonNegative(DEFAULT_APQ_REGISTRATIONS_PER_MINUTE),
  REDIS_URL: envSchemas.redisUrl,
  GATEWAY_CORS_ORIGINS: corsOrigins,
}

const cacheTtlName = (domain: Domain) => `GATEWAY_CACHE_TTL_${domain.toUpperCase()}`

/** The fetch cache: GATEWAY_CACHE, GATEWAY_CACHE_NAME, GATEWAY_CACHE_L1_MB, GATEWAY_CACHE_L1_TTL_MS, GATEWAY_CACHE_TTL_<DOMAIN>. */
const cacheShape = {
  GATEWAY_CACHE: envSchemas.flag.default(true),
  GATEWAY_CACHE_NAME: z
    .string()
    .regex(/^[\w.-]{1,64}$/, { error: 'must be 1-64 letters, digits, ".", "_" or "-"' })
    .optional(),
  GATEWAY_CACHE_L1_MB: nonNegative(64),
  GATEWAY_CACHE_L1_TTL_MS: nonNegative(60_000),
  ...(Object.fromEntries(
    DOMAINS.map((domain) => [cacheTtlName(domain), nonNegative(DEFAULT_CACHE_POLICY[domain].ttlSeconds)]),
  ) as Record<string, ReturnType<typeof nonNegative>>),
}

/** GATEWAY_WORKERS: a positive integer, or "auto" (one per core); default 1. */
const workers = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined) return 1
    if (raw.toLowerCase() === 'auto') return availableParallelism()
    const value = Number(raw)
    if (Number.isSafeInteger(value) && value >= 1) return value
    ctx.addIssue({ code: 'custom', message: 'must be a positive integer or auto' })
    return z.NEVER
  })

/** Every variable the gateway reads, parsed once at start (README "Configuration"). */
export const gatewayEnvironmentSchema = z.object({
  LOG_LEVEL: envSchemas.logLevel,
  HOST: envSchemas.host,
  ...subgraphUrlsEnvShape,
  ...adminEnvShape,
  ...securityShape,
  ...cacheShape,
  [SIGNING_SECRET_ENV]: z.string().optional(),
  [TOKEN_SECRET_ENV]: z.string().optional(),
  GATEWAY_SUBGRAPH_TIMEOUT_MS: positive(DEFAULT_SUBGRAPH_TIMEOUT_MS),
  GATEWAY_MAX_SOCKETS_PER_SUBGRAPH: positive(DEFAULT_MAX_SOCKETS_PER_SUBGRAPH),
  GATEWAY_WORKERS: workers,
  UPLOAD_MAX_BYTES: positive(DEFAULT_UPLOAD_MAX_BYTES),
  GATEWAY_QUERY_PLAN_CACHE_MB: positive(DEFAULT_QUERY_PLAN_CACHE_MB),
  GATEWAY_DOCUMENT_CACHE_MB: positive(DEFAULT_DOCUMENT_CACHE_MB),
})

/** `schema` parsed from `env`; a bad value is a GatewayConfigError naming the variable and what was given. */
function parse<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  try {
    return parseEnvironment('gateway', schema, env)
  } catch (error) {
    if (error instanceof EnvironmentError) throw new GatewayConfigError(error.message)
    throw error
  }
}

/** Both shared secrets (required, ≥ 32 characters); a GatewayConfigError names the missing variable. */
export function loadGatewaySecrets(env: Env): { signingSecret: string; tokenSecret: string } {
  try {
    return {
      signingSecret: requireSecret(SIGNING_SECRET_ENV, env),
      tokenSecret: requireSecret(TOKEN_SECRET_ENV, env),
    }
  } catch (error) {
    if (error instanceof SecretConfigError) throw new GatewayConfigError(error.message)
    throw error
  }
}

type SecurityValues = z.output<z.ZodObject<typeof securityShape>>
type CacheValues = z.output<z.ZodObject<typeof cacheShape>>

function securityOf(v: SecurityValues): GatewaySecurity {
  const mode: GatewayMode = v.GATEWAY_ENV ?? (v.NODE_ENV === 'production' ? 'production' : 'development')
  const introspection = v.GATEWAY_INTROSPECTION ?? mode === 'development'
  return {
    mode,
    introspection,
    graphiql: v.GATEWAY_GRAPHIQL ?? mode === 'development',
    fieldSuggestions: v.GATEWAY_FIELD_SUGGESTIONS ?? introspection,
    limits: {
      maxDepth: v.GATEWAY_MAX_DEPTH,
      maxAliases: v.GATEWAY_MAX_ALIASES,
      maxRootFields: v.GATEWAY_MAX_ROOT_FIELDS,
      maxDirectives: v.GATEWAY_MAX_DIRECTIVES,
      maxTokens: v.GATEWAY_MAX_TOKENS,
      maxCost: v.GATEWAY_MAX_COST,
      maxFieldDuplicates: v.GATEWAY_MAX_FIELD_DUPLICATES,
      maxVariablesDepth: v.GATEWAY_MAX_VARIABLES_DEPTH,
    },
    maxBodyBytes: v.GATEWAY_MAX_BODY_BYTES,
    maxBatch: v.GATEWAY_MAX_BATCH,
    rateLimitPerMinute: v.GATEWAY_RATE_LIMIT_PER_MINUTE,
    trustProxy: v.GATEWAY_TRUST_PROXY,
    apqMaxBytes: v.GATEWAY_APQ_MAX_BYTES,
    apqRegistrationsPerMinute: v.GATEWAY_APQ_REGISTRATIONS_PER_MINUTE,
    ...(v.REDIS_URL ? { redisUrl: v.REDIS_URL } : {}),
    corsOrigins: v.GATEWAY_CORS_ORIGINS,
  }
}

function cacheOf(v: CacheValues): GatewayCacheOptions | false {
  if (!v.GATEWAY_CACHE) return false
  // GATEWAY_CACHE_TTL_<DOMAIN>, each parsed (with its default) by cacheShape.
  const ttls = v as Readonly<Record<string, unknown>>
  return {
    ...(v.GATEWAY_CACHE_NAME ? { name: v.GATEWAY_CACHE_NAME } : {}),
    l1MaxBytes: v.GATEWAY_CACHE_L1_MB * 1_048_576,
    l1TtlMs: v.GATEWAY_CACHE_L1_TTL_MS,
    policy: cachePolicyFrom((name, fallback) => {
      const ttl = ttls[name]
      return typeof ttl === 'number' ? ttl : fallback
    }),
  }
}

/** The limits and the development/production switches, from GATEWAY_* (and NODE_ENV, REDIS_URL). */
export function loadGatewaySecurity(env: Env): GatewaySecurity {
  return securityOf(parse(z.object(securityShape), env))
}

/** The fetch cache's settings; GATEWAY_CACHE=false turns it (and the shared APQ store) off. */
export function loadCacheOptions(env: Env): GatewayCacheOptions | false {
  return cacheOf(parse(z.object(cacheShape), env))
}

/**
 * Reads the gateway's settings once, at start-up (gatewayEnvironmentSchema, the secrets, STORAGE_*); a bad
 * value stops it with a GatewayConfigError naming the variable.
 */
export function loadGatewayEnvironment(env: Env): GatewayEnvironment {
  const v = parse(gatewayEnvironmentSchema, env)
  const cache = cacheOf(v)
  const secrets = loadGatewaySecrets(env)
  let storageConfig: StorageConfig
  try {
    storageConfig = loadStorageConfig(env)
  } catch (error) {
    if (error instanceof StorageConfigError) throw new GatewayConfigError(error.message)
    throw error
  }
  // Each worker has its own L1: a mutation through one must reach the others' through Redis.
  if (v.GATEWAY_WORKERS > 1 && cache && !v.REDIS_URL)
    throw new GatewayConfigError(
      'GATEWAY_WORKERS > 1 needs REDIS_URL (the workers tell each other about writes through it), or GATEWAY_CACHE=false',
    )
  return {
    logLevel: v.LOG_LEVEL,
    port: portsOf(v).gateway,
    host: v.HOST,
    admin: adminListenerOf(v, 'gateway'),
    subgraphUrls: subgraphUrlsOf(v),
    subgraphTimeoutMs: v.GATEWAY_SUBGRAPH_TIMEOUT_MS,
    maxSocketsPerSubgraph: v.GATEWAY_MAX_SOCKETS_PER_SUBGRAPH,
    ...securityOf(v),
    ...secrets,
    cache,
    workers: v.GATEWAY_WORKERS,
    uploadMaxBytes: v.UPLOAD_MAX_BYTES,
    queryPlanCacheMb: v.GATEWAY_QUERY_PLAN_CACHE_MB,
    documentCacheMb: v.GATEWAY_DOCUMENT_CACHE_MB,
    storageConfig,
  }
}
