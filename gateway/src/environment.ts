import { DOMAINS, type Domain, type Env } from '@pm/db'
import { servicePorts, subgraphUrls } from '@pm/service-kit'

export const DEFAULT_SUBGRAPH_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_SOCKETS_PER_SUBGRAPH = 64

export interface GatewayEnvironment {
  port: number
  host: string
  subgraphUrls: Record<Domain, string>
  subgraphTimeoutMs: number
  maxSocketsPerSubgraph: number
}

export class GatewayConfigError extends Error {
  override name = 'GatewayConfigError'
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim()
  if (!raw) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value <= 0)
    throw new GatewayConfigError(`${name} must be a positive integer, got "${raw}"`)
  return value
}

/** Reads the gateway's settings once, at start-up; a bad value stops it with a message naming the variable. */
export function loadGatewayEnvironment(env: Env = process.env): GatewayEnvironment {
  let ports: ReturnType<typeof servicePorts>
  let urls: Record<Domain, string>
  try {
    ports = servicePorts(env)
    urls = subgraphUrls(env)
  } catch (error) {
    throw new GatewayConfigError((error as Error).message)
  }
  return {
    port: ports.gateway,
    host: env.HOST?.trim() || '127.0.0.1',
    subgraphUrls: urls,
    subgraphTimeoutMs: positiveInt(env, 'GATEWAY_SUBGRAPH_TIMEOUT_MS', DEFAULT_SUBGRAPH_TIMEOUT_MS),
    maxSocketsPerSubgraph: positiveInt(
      env,
      'GATEWAY_MAX_SOCKETS_PER_SUBGRAPH',
      DEFAULT_MAX_SOCKETS_PER_SUBGRAPH,
    ),
  }
}
