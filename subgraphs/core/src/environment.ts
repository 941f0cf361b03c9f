import type { Env } from '@pm/db'
import {
  EnvironmentError,
  envSchemas,
  MODULE_IDS,
  type ModuleId,
  parseEnvironment,
  requireSecret,
  TOKEN_SECRET_ENV,
} from '@pm/service-kit'
import { z } from 'zod'

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

/** MODULE_<ID>_ENABLED: true/false (also 1/0, yes/no, on/off, any case). */
const moduleSwitch = z
  .string()
  .transform((raw) => raw.toLowerCase())
  .pipe(z.enum(['true', '1', 'yes', 'on', 'false', '0', 'no', 'off'], { error: 'must be true or false' }))
  .transform((raw) => ['true', '1', 'yes', 'on'].includes(raw))
  .optional()

const switchName = (id: ModuleId) => `MODULE_${id.toUpperCase()}_ENABLED`

/** The variables core reads besides those of every subgraph (README "Configuration"). */
export const coreEnvironmentSchema = z.object({
  [TOKEN_SECRET_ENV]: z.string().optional(),
  AUTH_ACCESS_TOKEN_TTL_SECONDS: envSchemas.integer(1, 24 * 3600).default(DEFAULT_ACCESS_TOKEN_TTL_SECONDS),
  AUTH_REFRESH_TOKEN_TTL_DAYS: envSchemas.integer(1, 365).default(DEFAULT_REFRESH_TOKEN_TTL_DAYS),
  ...(Object.fromEntries(MODULE_IDS.map((id) => [switchName(id), moduleSwitch])) as Record<
    string,
    typeof moduleSwitch
  >),
})

/** Parses core's settings; a missing or bad value throws a CoreConfigError naming the variable. */
export function loadCoreEnvironment(env: Env): CoreEnvironment {
  try {
    const parsed = parseEnvironment('core', coreEnvironmentSchema, env)
    // MODULE_<ID>_ENABLED, each parsed by moduleSwitch.
    const switches = parsed as Readonly<Record<string, unknown>>
    const moduleSwitches: Partial<Record<ModuleId, boolean>> = {}
    for (const id of MODULE_IDS) {
      const value = switches[switchName(id)]
      if (typeof value === 'boolean') moduleSwitches[id] = value
    }
    return {
      authTokenSecret: requireSecret(TOKEN_SECRET_ENV, env),
      accessTokenTtlSeconds: parsed.AUTH_ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: parsed.AUTH_REFRESH_TOKEN_TTL_DAYS * 24 * 3600,
      moduleSwitches,
    }
  } catch (error) {
    if (error instanceof EnvironmentError) throw new CoreConfigError(error.message)
    throw error
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
