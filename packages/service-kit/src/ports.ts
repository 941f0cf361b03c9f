import { DOMAINS, type Domain, type Env } from '@pm/db'
import { z } from 'zod'
import { envSchemas, type Parsed, parseEnvironment, shapeOf, upper, type Values } from './environment'

/** Default ports: gateway 4000, subgraphs 4001–4007 in DOMAINS order. */
export const DEFAULT_PORTS: Readonly<Record<'gateway' | Domain, number>> = {
  gateway: 4000,
  ...(Object.fromEntries(DOMAINS.map((d, i) => [d, 4001 + i])) as Record<Domain, number>),
}

/** GATEWAY_PORT and SUBGRAPH_<DOMAIN>_PORT, else the defaults; a bad one is an EnvironmentError naming it. */
export function servicePorts(env: Env) {
  return portsOf(parseEnvironment('environment', z.object(portsEnvShape), env))
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
export function adminListeners(env: Env): Record<'gateway' | Domain, { host: string; port: number }> {
  const parsed = parseEnvironment('environment', z.object(adminEnvShape), env)
  return Object.fromEntries(
    (['gateway', ...DOMAINS] as const).map((service) => [service, adminListenerOf(parsed, service)]),
  ) as Record<'gateway' | Domain, { host: string; port: number }>
}

/** Each subgraph's GraphQL URL: SUBGRAPH_<DOMAIN>_URL, else loopback on its port. */
export function subgraphUrls(env: Env): Record<Domain, string> {
  return subgraphUrlsOf(parseEnvironment('environment', z.object(subgraphUrlsEnvShape), env))
}

/** Default admin port of `pm worker` (/metrics, /ready): WORKER_ADMIN_PORT, 0 for any free one. */
export const DEFAULT_WORKER_ADMIN_PORT = 9010

/** Where `pm worker` serves /metrics and /ready: ADMIN_HOST and WORKER_ADMIN_PORT (default 9010). */
export function workerAdminListener(env: Env) {
  return adminListenerOf(parseEnvironment('environment', z.object(adminEnvShape), env), 'worker')
}

/** GATEWAY_PORT and SUBGRAPH_<DOMAIN>_PORT (README: 4000; 4001–4007). */
export const portsEnvShape = {
  GATEWAY_PORT: envSchemas.port.default(DEFAULT_PORTS.gateway),
  ...shapeOf(DOMAINS.map((d) => [`SUBGRAPH_${upper(d)}_PORT`, envSchemas.port.default(DEFAULT_PORTS[d])])),
}

/** The listening ports of parsed portsEnvShape values. */
export function portsOf(parsed: Parsed<typeof portsEnvShape>): Record<'gateway' | Domain, number> {
  const values = parsed as Values
  return {
    gateway: parsed.GATEWAY_PORT,
    ...(Object.fromEntries(DOMAINS.map((d) => [d, values[`SUBGRAPH_${upper(d)}_PORT`]])) as Record<
      Domain,
      number
    >),
  }
}

/** SUBGRAPH_<DOMAIN>_URL (default: loopback on the subgraph's port), with portsEnvShape. */
export const subgraphUrlsEnvShape = {
  ...portsEnvShape,
  ...shapeOf(DOMAINS.map((d) => [`SUBGRAPH_${upper(d)}_URL`, envSchemas.httpUrl.optional()])),
}

/** Each subgraph's GraphQL URL of parsed subgraphUrlsEnvShape values. */
export function subgraphUrlsOf(parsed: Parsed<typeof subgraphUrlsEnvShape>): Record<Domain, string> {
  const values = parsed as Values
  const ports = portsOf(parsed)
  return Object.fromEntries(
    DOMAINS.map((d) => {
      const own = values[`SUBGRAPH_${upper(d)}_URL`]
      return [d, typeof own === 'string' ? own : `http://127.0.0.1:${ports[d]}/graphql`]
    }),
  ) as Record<Domain, string>
}

/**
 * ADMIN_HOST (default 127.0.0.1), GATEWAY_ADMIN_PORT, SUBGRAPH_<DOMAIN>_ADMIN_PORT (9000; 9001–9007) and
 * WORKER_ADMIN_PORT (9010): where the admin listeners bind (0: any free port).
 */
export const adminEnvShape = {
  ADMIN_HOST: envSchemas.host,
  GATEWAY_ADMIN_PORT: envSchemas.port.default(DEFAULT_ADMIN_PORTS.gateway),
  ...shapeOf(
    DOMAINS.map((d) => [`SUBGRAPH_${upper(d)}_ADMIN_PORT`, envSchemas.port.default(DEFAULT_ADMIN_PORTS[d])]),
  ),
  WORKER_ADMIN_PORT: envSchemas.port.default(DEFAULT_WORKER_ADMIN_PORT),
}

/** The admin listener of `service` from parsed adminEnvShape values. */
export function adminListenerOf(
  parsed: Parsed<typeof adminEnvShape>,
  service: 'gateway' | 'worker' | Domain,
): { host: string; port: number } {
  const values = parsed as Values
  const name =
    service === 'gateway'
      ? 'GATEWAY_ADMIN_PORT'
      : service === 'worker'
        ? 'WORKER_ADMIN_PORT'
        : `SUBGRAPH_${upper(service)}_ADMIN_PORT`
  return { host: parsed.ADMIN_HOST, port: values[name] as number }
}
