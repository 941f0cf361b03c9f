import { DOMAINS, type Domain, type DomainDatabase, type Env } from '@pm/db'
import { type GatewayOptions, type RunningGateway, startGateway } from '@pm/gateway'
import { composeSupergraph } from '@pm/gateway/compose'
import {
  type AdminListener,
  type Logger,
  type Peers,
  type RunningSubgraph,
  startSubgraph,
} from '@pm/service-kit'
import { loadSubgraphPackage } from './packages'

/** Where a subgraph left out of the graph "listens": composed out of the supergraph, it is never called. */
const CLOSED_PORT_URL = 'http://127.0.0.1:9/graphql'

export interface GraphOptions<D extends Domain> {
  /** The subgraphs to run (default all seven). */
  domains?: readonly D[]
  /** Each subgraph's database handle (stays the caller's: stop() does not destroy it). */
  databases: { [K in D]: DomainDatabase<K> }
  /** Signs the caller identity the gateway sends, and the subgraphs' calls to each other. */
  signingSecret: string
  /** Verifies the access tokens core signs. */
  tokenSecret: string
  /** Each subgraph's API port (default 0: any free one). */
  ports?: Partial<Record<Domain, number>>
  /** The subgraphs' listening address (default 127.0.0.1). */
  host?: string
  /** Each subgraph's admin listener (default 127.0.0.1 on any free port). */
  admin?: Partial<Record<Domain, AdminListener>>
  /** Each service logs through a child of it (service: subgraph-<domain>, gateway). */
  logger: Logger
  /** What each subgraph's ctx.env holds (default process.env). */
  env?: (domain: D) => Env
  /** The subgraphs' audit relay polling interval (default theirs). */
  auditIntervalMs?: number
  /**
   * The supergraph: composed from the running subgraphs' schema files (true; always when `domains` leaves
   * some out), else the checked-in gateway/supergraph.graphql.
   */
  compose?: boolean
  /** The gateway's settings; its subgraph URLs, secrets and supergraph are the graph's. */
  gateway: Omit<GatewayOptions, 'subgraphUrls' | 'signingSecret' | 'tokenSecret' | 'logger' | 'supergraphSdl'>
}

export interface RunningGraph<D extends Domain> {
  subgraphs: { [K in D]: RunningSubgraph }
  gateway: RunningGateway
  /** Where each subgraph answers (those left out: a closed port). */
  subgraphUrls: Record<Domain, string>
  /** The gateway, then the subgraphs; the databases stay open. */
  stop(): Promise<void>
}

/**
 * The subgraphs and the gateway in this process: `pnpm start`, the tests' stack and the benchmarks' statement
 * counts all run the graph through here. The subgraphs start in parallel, each told where the others listen
 * once all do; the gateway then serves them.
 */
export async function startGraph<D extends Domain = Domain>(
  options: GraphOptions<D>,
): Promise<RunningGraph<D>> {
  const domains = options.domains ?? (DOMAINS as readonly Domain[] as readonly D[])
  const partial = domains.length < DOMAINS.length
  let supergraphSdl: string | undefined
  if (options.compose || partial) {
    const composition = composeSupergraph(domains)
    if (!composition.ok) throw new Error(`the supergraph does not compose:\n${composition.errors.join('\n')}`)
    supergraphSdl = composition.supergraphSdl
  }
  // Filled once every subgraph listens: they read it when they call each other.
  const peers: Peers = {}
  const settled = await Promise.allSettled(
    domains.map(async (domain) => {
      const { subgraph } = await loadSubgraphPackage(domain)
      const port = options.ports?.[domain] ?? 0
      const admin = options.admin?.[domain]
      return startSubgraph(subgraph, {
        database: options.databases[domain],
        port,
        host: options.host ?? '127.0.0.1',
        ...(admin ? { admin } : {}),
        logger: options.logger.child({ service: `subgraph-${domain}` }),
        peers,
        signingSecret: options.signingSecret,
        ...(options.auditIntervalMs !== undefined ? { auditIntervalMs: options.auditIntervalMs } : {}),
        ...(options.env ? { env: options.env(domain) } : {}),
      })
    }),
  )
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed) {
    await Promise.all(started.map((s) => s.stop()))
    throw failed.reason
  }
  for (const s of started) peers[s.domain] = s.graphqlUrl
  const subgraphUrls = Object.fromEntries(DOMAINS.map((d) => [d, peers[d] ?? CLOSED_PORT_URL])) as Record<
    Domain,
    string
  >
  let gateway: RunningGateway
  try {
    gateway = await startGateway({
      ...options.gateway,
      ...(supergraphSdl ? { supergraphSdl } : {}),
      subgraphUrls,
      signingSecret: options.signingSecret,
      tokenSecret: options.tokenSecret,
      logger: options.logger.child({ service: 'gateway' }),
    })
  } catch (error) {
    await Promise.all(started.map((s) => s.stop()))
    throw error
  }
  const subgraphs = Object.fromEntries(started.map((s) => [s.domain, s])) as { [K in D]: RunningSubgraph }
  let stopping: Promise<void> | undefined
  return {
    subgraphs,
    gateway,
    subgraphUrls,
    stop() {
      stopping ??= (async () => {
        await gateway.stop()
        await Promise.all(started.map((s) => s.stop()))
      })()
      return stopping
    },
  }
}
