import { availableParallelism } from 'node:os'
import type { Domain, Env } from '@pm/db'
import {
  adminListeners,
  requireSecret,
  SecretConfigError,
  SIGNING_SECRET_ENV,
  servicePorts,
  subgraphUrls,
  TOKEN_SECRET_ENV,
} from '@pm/service-kit'
import { loadStorageConfig, StorageConfigError } from '@pm/storage'
import { DEFAULT_APQ_MAX_BYTES, DEFAULT_APQ_REGISTRATIONS_PER_MINUTE } from './apq'
import { parseOrigin } from './cors'
import { cachePolicyFrom, type GatewayCacheOptions } from './fetch-cache'
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
}

/** Both shared secrets (required, ≥ 32 characters); a GatewayConfigError names the missing variable. */
export function loadGatewaySecrets(env: Env = process.env): { signingSecret: string; tokenSecret: string } {
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

export class GatewayConfigError extends Error {
  override name = 'GatewayConfigError'
}

function integer(env: Env, name: string, fallback: number, min: 0 | 1): number {
  const raw = env[name]?.trim()
  if (!raw) return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < min)
    throw new GatewayConfigError(
      `${name} must be a ${min === 0 ? 'non-negative' : 'positive'} integer, got "${raw}"`,
    )
  return value
}

const positiveInt = (env: Env, name: string, fallback: number) => integer(env, name, fallback, 1)

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase()
  if (!raw) return fallback
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw new GatewayConfigError(`${name} must be true or false, got "${env[name]}"`)
}

function mode(env: Env): GatewayMode {
  const raw = env.GATEWAY_ENV?.trim()
  if (!raw) return env.NODE_ENV?.trim() === 'production' ? 'production' : 'development'
  if (raw === 'development' || raw === 'production') return raw
  throw new GatewayConfigError(`GATEWAY_ENV must be development or production, got "${raw}"`)
}

/** The limits and the development/production switches, from GATEWAY_* (and NODE_ENV, REDIS_URL). */
export function loadGatewaySecurity(env: Env = process.env): GatewaySecurity {
  const gatewayMode = mode(env)
  const introspection = boolean(env, 'GATEWAY_INTROSPECTION', gatewayMode === 'development')
  const d = DEFAULT_OPERATION_LIMITS
  const redisUrl = env.REDIS_URL?.trim()
  return {
    mode: gatewayMode,
    introspection,
    graphiql: boolean(env, 'GATEWAY_GRAPHIQL', gatewayMode === 'development'),
    fieldSuggestions: boolean(env, 'GATEWAY_FIELD_SUGGESTIONS', introspection),
    limits: {
      maxDepth: positiveInt(env, 'GATEWAY_MAX_DEPTH', d.maxDepth),
      maxAliases: integer(env, 'GATEWAY_MAX_ALIASES', d.maxAliases, 0),
      maxRootFields: positiveInt(env, 'GATEWAY_MAX_ROOT_FIELDS', d.maxRootFields),
      maxDirectives: integer(env, 'GATEWAY_MAX_DIRECTIVES', d.maxDirectives, 0),
      maxTokens: positiveInt(env, 'GATEWAY_MAX_TOKENS', d.maxTokens),
      maxCost: positiveInt(env, 'GATEWAY_MAX_COST', d.maxCost),
      maxFieldDuplicates: positiveInt(env, 'GATEWAY_MAX_FIELD_DUPLICATES', d.maxFieldDuplicates),
      maxVariablesDepth: positiveInt(env, 'GATEWAY_MAX_VARIABLES_DEPTH', d.maxVariablesDepth),
    },
    maxBodyBytes: positiveInt(env, 'GATEWAY_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES),
    maxBatch: integer(env, 'GATEWAY_MAX_BATCH', DEFAULT_MAX_BATCH, 0),
    rateLimitPerMinute: integer(env, 'GATEWAY_RATE_LIMIT_PER_MINUTE', DEFAULT_RATE_LIMIT_PER_MINUTE, 0),
    trustProxy: boolean(env, 'GATEWAY_TRUST_PROXY', false),
    apqMaxBytes: positiveInt(env, 'GATEWAY_APQ_MAX_BYTES', DEFAULT_APQ_MAX_BYTES),
    apqRegistrationsPerMinute: integer(
      env,
      'GATEWAY_APQ_REGISTRATIONS_PER_MINUTE',
      DEFAULT_APQ_REGISTRATIONS_PER_MINUTE,
      0,
    ),
    ...(redisUrl ? { redisUrl } : {}),
    corsOrigins: corsOrigins(env),
  }
}

/** GATEWAY_CORS_ORIGINS: exact origins (https://shop.example.com, http://127.0.0.1:5173), no wildcard. */
function corsOrigins(env: Env): string[] {
  const raw = env.GATEWAY_CORS_ORIGINS?.trim()
  if (!raw) return []
  return raw.split(',').map((entry) => {
    const value = entry.trim()
    const origin = parseOrigin(value)
    if (!origin)
      throw new GatewayConfigError(
        `GATEWAY_CORS_ORIGINS holds "${value}": list origins as scheme://host[:port] (no path, no wildcard), separated by commas`,
      )
    return origin
  })
}

/** Reads the gateway's settings once, at start-up; a bad value stops it with a message naming the variable. */
export function loadGatewayEnvironment(env: Env = process.env): GatewayEnvironment {
  let ports: ReturnType<typeof servicePorts>
  let urls: Record<Domain, string>
  let admin: { host: string; port: number }
  try {
    ports = servicePorts(env)
    urls = subgraphUrls(env)
    admin = adminListeners(env).gateway
  } catch (error) {
    throw new GatewayConfigError((error as Error).message)
  }
  const cache = loadCacheOptions(env)
  const workers = workerCount(env)
  // Checked here so a bad STORAGE_* value stops the start with its message (the gateway reads it again).
  try {
    loadStorageConfig(env)
  } catch (error) {
    if (error instanceof StorageConfigError) throw new GatewayConfigError(error.message)
    throw error
  }
  // Each worker has its own L1: a mutation through one must reach the others' through Redis.
  if (workers > 1 && cache && !env.REDIS_URL?.trim())
    throw new GatewayConfigError(
      'GATEWAY_WORKERS > 1 needs REDIS_URL (the workers tell each other about writes through it), or GATEWAY_CACHE=false',
    )
  return {
    port: ports.gateway,
    host: env.HOST?.trim() || '127.0.0.1',
    admin,
    subgraphUrls: urls,
    subgraphTimeoutMs: positiveInt(env, 'GATEWAY_SUBGRAPH_TIMEOUT_MS', DEFAULT_SUBGRAPH_TIMEOUT_MS),
    maxSocketsPerSubgraph: positiveInt(
      env,
      'GATEWAY_MAX_SOCKETS_PER_SUBGRAPH',
      DEFAULT_MAX_SOCKETS_PER_SUBGRAPH,
    ),
    ...loadGatewaySecurity(env),
    ...loadGatewaySecrets(env),
    cache,
    workers,
    uploadMaxBytes: positiveInt(env, 'UPLOAD_MAX_BYTES', DEFAULT_UPLOAD_MAX_BYTES),
    queryPlanCacheMb: positiveInt(env, 'GATEWAY_QUERY_PLAN_CACHE_MB', DEFAULT_QUERY_PLAN_CACHE_MB),
    documentCacheMb: positiveInt(env, 'GATEWAY_DOCUMENT_CACHE_MB', DEFAULT_DOCUMENT_CACHE_MB),
  }
}

function workerCount(env: Env): number {
  const raw = env.GATEWAY_WORKERS?.trim().toLowerCase()
  if (raw === 'auto') return availableParallelism()
  return positiveInt(env, 'GATEWAY_WORKERS', 1)
}

/** The fetch cache's settings; GATEWAY_CACHE=false turns it (and the shared APQ store) off. */
export function loadCacheOptions(env: Env = process.env): GatewayCacheOptions | false {
  if (!boolean(env, 'GATEWAY_CACHE', true)) return false
  const name = env.GATEWAY_CACHE_NAME?.trim()
  if (name !== undefined && name !== '' && !/^[\w.-]{1,64}$/.test(name))
    throw new GatewayConfigError(
      `GATEWAY_CACHE_NAME must be 1-64 letters, digits, ".", "_" or "-", got "${name}"`,
    )
  return {
    ...(name ? { name } : {}),
    l1MaxBytes: integer(env, 'GATEWAY_CACHE_L1_MB', 64, 0) * 1_048_576,
    l1TtlMs: integer(env, 'GATEWAY_CACHE_L1_TTL_MS', 60_000, 0),
    policy: cachePolicyFrom((name, fallback) => integer(env, name, fallback, 0)),
  }
}
