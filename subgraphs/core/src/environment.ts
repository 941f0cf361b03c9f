import type { Env } from '@pm/db'
import { MODULE_IDS, type ModuleId, requireSecret, TOKEN_SECRET_ENV } from '@pm/service-kit'

/**
 * core's settings, parsed once per environment (the service's ctx.env, process.env unless a test gave its
 * own): the only place core reads environment variables.
 *
 * AUTH_TOKEN_SECRET (≥ 32 characters) signs the access tokens; the gateway verifies them with the same
 * value. Always required: `pnpm start` (everything in one process) and the test harness generate one and
 * set it before starting the services; a core started alone without it refuses to start, naming it.
 */
export interface CoreEnvironment {
  authTokenSecret: string
  /** Access token lifetime (AUTH_ACCESS_TOKEN_TTL_SECONDS, default 900 = 15 min). */
  accessTokenTtlSeconds: number
  /** Refresh token lifetime (AUTH_REFRESH_TOKEN_TTL_DAYS, default 30 days). */
  refreshTokenTtlSeconds: number
  /** MODULE_<ID>_ENABLED, for the modules that have it; app_settings wins over these. */
  moduleSwitches: Partial<Record<ModuleId, boolean>>
}

export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 15 * 60
export const DEFAULT_REFRESH_TOKEN_TTL_DAYS = 30

export class CoreConfigError extends Error {
  override name = 'CoreConfigError'
}

function positiveInt(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name]?.trim()
  if (!raw) return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new CoreConfigError(`${name} must be an integer from 1 to ${max}, got "${raw}"`)
  }
  return value
}

/** MODULE_<ID>_ENABLED: true/false (also 1/0, yes/no, on/off); anything else stops the service. */
function moduleSwitches(env: Env): Partial<Record<ModuleId, boolean>> {
  const switches: Partial<Record<ModuleId, boolean>> = {}
  for (const id of MODULE_IDS) {
    const name = `MODULE_${id.toUpperCase()}_ENABLED`
    const raw = env[name]?.trim().toLowerCase()
    if (!raw) continue
    if (['true', '1', 'yes', 'on'].includes(raw)) switches[id] = true
    else if (['false', '0', 'no', 'off'].includes(raw)) switches[id] = false
    else throw new CoreConfigError(`${name} must be true or false, got "${env[name]}"`)
  }
  return switches
}

/** Parses core's settings; a missing or bad value throws an error naming the variable. */
export function loadCoreEnvironment(env: Env): CoreEnvironment {
  return {
    authTokenSecret: requireSecret(TOKEN_SECRET_ENV, env),
    accessTokenTtlSeconds: positiveInt(
      env,
      'AUTH_ACCESS_TOKEN_TTL_SECONDS',
      DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
      24 * 3600,
    ),
    refreshTokenTtlSeconds:
      positiveInt(env, 'AUTH_REFRESH_TOKEN_TTL_DAYS', DEFAULT_REFRESH_TOKEN_TTL_DAYS, 365) * 24 * 3600,
    moduleSwitches: moduleSwitches(env),
  }
}

const parsed = new WeakMap<Env, CoreEnvironment>()

/** core's settings for this environment, parsed on first use (start-up: module.onStart) and kept. */
export function coreEnvironment(env: Env = process.env): CoreEnvironment {
  let settings = parsed.get(env)
  if (!settings) {
    settings = loadCoreEnvironment(env)
    parsed.set(env, settings)
  }
  return settings
}
