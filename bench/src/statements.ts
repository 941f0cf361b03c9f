import { createDomainDatabase, DOMAINS, type Domain, type DomainDatabase } from '@pm/db'
import { startGateway } from '@pm/gateway'
import {
  createLogger,
  type Peers,
  type RunningSubgraph,
  type SubgraphModule,
  startSubgraph,
} from '@pm/service-kit'
import { COUNTING_POOL } from './connections'
import type { DomainUrls } from './data'
import { signedIdentityPlugin } from './identity'
import { supergraphFor } from './supergraph'

type AnyModule = SubgraphModule<any, any>

// Relative imports, as in packages/testing's stack: the subgraphs are services, not libraries.
const MODULES: Record<Domain, () => Promise<{ subgraph: AnyModule }>> = {
  core: () => import('../../subgraphs/core/src/module'),
  catalog: () => import('../../subgraphs/catalog/src/module'),
  imports: () => import('../../subgraphs/imports/src/module'),
  exports: () => import('../../subgraphs/exports/src/module'),
  media: () => import('../../subgraphs/media/src/module'),
  code2asin: () => import('../../subgraphs/code2asin/src/module'),
  analytics: () => import('../../subgraphs/analytics/src/module'),
}

export interface OperationCount {
  /** SQL statements run by all subgraphs for one operation */
  statements: number
  /** Subgraph HTTP requests the gateway made for it (the fetches of its plan) */
  fetches: number
  /** Statements per subgraph (only those that ran any) */
  bySubgraph: Partial<Record<Domain, number>>
  errors?: string
}

export interface CountingStack {
  count(
    target: 'ours' | 'peer',
    query: string,
    variables: Record<string, unknown>,
    /** Sent once first, unmeasured (plans and prepared state are built on first use); default: variables */
    warmup?: Record<string, unknown>,
    /** Waited after the answer: a mutation's audit entries reach analytics just after it commits */
    settleMs?: number,
  ): Promise<OperationCount & { data: unknown }>
  stop(): Promise<void>
}

/**
 * The seven subgraphs and both gateways in THIS process, on the bench databases: exact statement counts
 * (each DomainDatabase counts the statements it runs) and subgraph fetches per operation, without
 * touching the measured services.
 */
export async function startCountingStack(
  urls: DomainUrls,
  options: { peer: boolean; signingSecret: string; tokenSecret: string; headers: Record<string, string> },
): Promise<CountingStack> {
  const peers: Peers = {}
  const databases = new Map<Domain, DomainDatabase>()
  const servers = new Map<Domain, RunningSubgraph>()
  const fetches = new Map<Domain, number>()
  const stopAll = async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()))
    await Promise.all([...databases.values()].map((d) => d.destroy()))
  }
  try {
    for (const domain of DOMAINS) {
      const { subgraph } = await MODULES[domain]()
      const database = createDomainDatabase({ domain, url: urls[domain], pool: COUNTING_POOL })
      databases.set(domain, database)
      const server = await startSubgraph(subgraph, {
        database,
        port: 0,
        logger: createLogger({ service: `bench-count-${domain}` }, 'error'),
        peers,
        auditIntervalMs: 3_600_000,
        signingSecret: options.signingSecret,
      })
      servers.set(domain, server)
      fetches.set(domain, 0)
      server.http.server.on('request', (req) => {
        if (req.url?.startsWith('/graphql')) fetches.set(domain, fetches.get(domain)! + 1)
      })
      peers[domain] = server.graphqlUrl
    }
  } catch (error) {
    await stopAll()
    throw error
  }
  const subgraphUrls = Object.fromEntries(DOMAINS.map((d) => [d, servers.get(d)!.graphqlUrl])) as Record<
    Domain,
    string
  >
  // Apollo's usage telemetry would probe cloud metadata endpoints from the bench process; not measured here.
  const telemetry = process.env.APOLLO_TELEMETRY_DISABLED
  process.env.APOLLO_TELEMETRY_DISABLED = 'true'
  const gateway = await startGateway({
    port: 0,
    host: '127.0.0.1',
    subgraphUrls,
    logger: createLogger({ service: 'bench-count-gateway' }, 'error'),
    // As loadGatewayEnvironment would read them (the options object grows with the gateway's settings).
    signingSecret: options.signingSecret,
    tokenSecret: options.tokenSecret,
    rateLimitPerMinute: 0,
    // Every fetch reaches its subgraph: the counts are of the work one operation costs, not of cache hits.
    cache: false,
  } as Parameters<typeof startGateway>[0]).finally(() => {
    if (telemetry === undefined) delete process.env.APOLLO_TELEMETRY_DISABLED
    else process.env.APOLLO_TELEMETRY_DISABLED = telemetry
  })
  const peer = options.peer
    ? (await import('@graphql-hive/gateway')).createGatewayRuntime({
        supergraph: supergraphFor(subgraphUrls),
        logging: false,
        plugins: () => [signedIdentityPlugin(options.signingSecret, options.tokenSecret, subgraphUrls)],
      })
    : undefined

  const snapshot = () =>
    new Map(DOMAINS.map((d) => [d, { queries: databases.get(d)!.stats().queries, fetches: fetches.get(d)! }]))

  const send = async (target: 'ours' | 'peer', body: string) => {
    const init = { method: 'POST', headers: { 'content-type': 'application/json', ...options.headers }, body }
    const response =
      target === 'ours'
        ? await fetch(gateway.graphqlUrl, init)
        : await peer!.fetch('http://127.0.0.1/graphql', init)
    return (await response.json()) as { data?: unknown; errors?: { message: string }[] }
  }

  return {
    async count(target, query, variables, warmup = variables, settleMs = 0) {
      const body = JSON.stringify({ query, variables })
      await send(target, JSON.stringify({ query, variables: warmup }))
      if (settleMs) await new Promise((r) => setTimeout(r, settleMs))
      const before = snapshot()
      const result = await send(target, body)
      if (settleMs) await new Promise((r) => setTimeout(r, settleMs))
      const after = snapshot()
      const bySubgraph: Partial<Record<Domain, number>> = {}
      let statements = 0
      let fetchCount = 0
      for (const d of DOMAINS) {
        const q = after.get(d)!.queries - before.get(d)!.queries
        const f = after.get(d)!.fetches - before.get(d)!.fetches
        if (q > 0) bySubgraph[d] = q
        statements += q
        fetchCount += f
      }
      return {
        statements,
        fetches: fetchCount,
        bySubgraph,
        data: result.data,
        ...(result.errors?.length ? { errors: result.errors.map((e) => e.message).join('; ') } : {}),
      }
    },
    async stop() {
      await Promise.resolve(peer?.dispose())
      await gateway.stop()
      await stopAll()
    },
  }
}
