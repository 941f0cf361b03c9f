import { DOMAINS, type Domain, type Env } from '@pm/db'
import { servicePorts } from '@pm/service-kit'

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

function httpUrl(name: string, raw: string): string {
  try {
    const url = new URL(raw)
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.toString()
  } catch {}
  throw new GatewayConfigError(
    `${name} must be an http(s) URL such as http://127.0.0.1:4001/graphql, got "${raw}"`,
  )
}

/** Reads the gateway's settings once, at start-up; a bad value stops it with a message naming the variable. */
export function loadGatewayEnvironment(env: Env = process.env): GatewayEnvironment {
  let ports: ReturnType<typeof servicePorts>
  try {
    ports = servicePorts(env)
  } catch (error) {
    throw new GatewayConfigError((error as Error).message)
  }
  const subgraphUrls = Object.fromEntries(
    DOMAINS.map((d) => {
      const name = `SUBGRAPH_${d.toUpperCase()}_URL`
      const raw = env[name]?.trim()
      return [d, raw ? httpUrl(name, raw) : `http://127.0.0.1:${ports[d]}/graphql`]
    }),
  ) as Record<Domain, string>
  return {
    port: ports.gateway,
    host: env.HOST?.trim() || '127.0.0.1',
    subgraphUrls,
    subgraphTimeoutMs: positiveInt(env, 'GATEWAY_SUBGRAPH_TIMEOUT_MS', DEFAULT_SUBGRAPH_TIMEOUT_MS),
    maxSocketsPerSubgraph: positiveInt(
      env,
      'GATEWAY_MAX_SOCKETS_PER_SUBGRAPH',
      DEFAULT_MAX_SOCKETS_PER_SUBGRAPH,
    ),
  }
}
