import type { Env } from '@pm/db'
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
  integer: (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max),
} as const
