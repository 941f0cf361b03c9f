import { DOMAINS, type Domain } from '@pm/db'

/** Default ports: gateway 4000, subgraphs 4001–4007 in DOMAINS order. */
export const DEFAULT_PORTS: Readonly<Record<'gateway' | Domain, number>> = {
  gateway: 4000,
  ...(Object.fromEntries(DOMAINS.map((d, i) => [d, 4001 + i])) as Record<Domain, number>),
}

function port(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`${name} must be a port number, got "${raw}"`)
  return value
}

/** GATEWAY_PORT and SUBGRAPH_<DOMAIN>_PORT, else the defaults. */
export function servicePorts(env: Readonly<Record<string, string | undefined>> = process.env) {
  return {
    gateway: port(env, 'GATEWAY_PORT', DEFAULT_PORTS.gateway),
    ...(Object.fromEntries(
      DOMAINS.map((d) => [d, port(env, `SUBGRAPH_${d.toUpperCase()}_PORT`, DEFAULT_PORTS[d])]),
    ) as Record<Domain, number>),
  }
}

/** Default admin ports (readiness, metrics): gateway 9000, subgraphs 9001–9007 in DOMAINS order. */
export const DEFAULT_ADMIN_PORTS: Readonly<Record<'gateway' | Domain, number>> = {
  gateway: 9000,
  ...(Object.fromEntries(DOMAINS.map((d, i) => [d, 9001 + i])) as Record<Domain, number>),
}

/**
 * Where each service's admin listener binds: ADMIN_HOST (default 127.0.0.1, the machine or container
 * itself), GATEWAY_ADMIN_PORT and SUBGRAPH_<DOMAIN>_ADMIN_PORT (0: any free port).
 */
export function adminListeners(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Record<'gateway' | Domain, { host: string; port: number }> {
  const host = env.ADMIN_HOST?.trim() || '127.0.0.1'
  return {
    gateway: { host, port: port(env, 'GATEWAY_ADMIN_PORT', DEFAULT_ADMIN_PORTS.gateway) },
    ...(Object.fromEntries(
      DOMAINS.map((d) => [
        d,
        { host, port: port(env, `SUBGRAPH_${d.toUpperCase()}_ADMIN_PORT`, DEFAULT_ADMIN_PORTS[d]) },
      ]),
    ) as Record<Domain, { host: string; port: number }>),
  }
}

function httpUrl(name: string, raw: string): string {
  try {
    const url = new URL(raw)
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.toString()
  } catch {}
  throw new Error(`${name} must be an http(s) URL such as http://127.0.0.1:4001/graphql, got "${raw}"`)
}

/** Each subgraph's GraphQL URL: SUBGRAPH_<DOMAIN>_URL, else loopback on its port. */
export function subgraphUrls(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Record<Domain, string> {
  const ports = servicePorts(env)
  return Object.fromEntries(
    DOMAINS.map((d) => {
      const name = `SUBGRAPH_${d.toUpperCase()}_URL`
      const raw = env[name]?.trim()
      return [d, raw ? httpUrl(name, raw) : `http://127.0.0.1:${ports[d]}/graphql`]
    }),
  ) as Record<Domain, string>
}

/** Default admin port of `pm worker` (/metrics, /ready): WORKER_ADMIN_PORT, 0 for any free one. */
export const DEFAULT_WORKER_ADMIN_PORT = 9010

/** Where `pm worker` serves /metrics and /ready: ADMIN_HOST and WORKER_ADMIN_PORT (default 9010). */
export function workerAdminListener(env: Readonly<Record<string, string | undefined>> = process.env) {
  return {
    host: env.ADMIN_HOST?.trim() || '127.0.0.1',
    port: port(env, 'WORKER_ADMIN_PORT', DEFAULT_WORKER_ADMIN_PORT),
  }
}
