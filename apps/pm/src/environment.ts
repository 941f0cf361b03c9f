import { randomBytes } from 'node:crypto'
import { ConfigError, type Env } from '@pm/db'
import { GatewayConfigError, loadGatewayEnvironment } from '@pm/gateway'
import {
  EnvironmentError,
  envSchemas,
  type LogLevel,
  parseEnvironment,
  requireSecret,
  SecretConfigError,
  SIGNING_SECRET_ENV,
  TOKEN_SECRET_ENV,
} from '@pm/service-kit'
import { z } from 'zod'

/** The variables `pm` itself reads (the services it runs read theirs with their own loaders). */
const schema = z.object({
  LOG_LEVEL: envSchemas.logLevel,
  HOST: envSchemas.host,
  NODE_ENV: envSchemas.nodeEnv,
  [SIGNING_SECRET_ENV]: envSchemas.secret,
  [TOKEN_SECRET_ENV]: envSchemas.secret,
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
  }
}

/** pm's own settings for a command that runs one service (`pm worker`): the log level. */
export function loadCommandEnvironment(env: Env): { logLevel: LogLevel } {
  return { logLevel: parse(env).LOG_LEVEL }
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
