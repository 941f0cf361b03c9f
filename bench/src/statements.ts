import { createDomainDatabases, DOMAINS, type Domain, destroyDomainDatabases } from '@pm/db'
import { createLogger } from '@pm/service-kit'
import { startGraph } from '@pm/stack'
import { COUNTING_POOL } from './connections'
import type { DomainUrls } from './data'
import { signedIdentityPlugin } from './identity'
import { supergraphFor } from './supergraph'

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
  const databases = createDomainDatabases(
    Object.fromEntries(
      DOMAINS.map((d) => [d, { domain: d, url: urls[d], pool: COUNTING_POOL }]),
    ) as Parameters<typeof createDomainDatabases>[0],
  )
  const graph = await startGraph({
    databases,
    signingSecret: options.signingSecret,
    tokenSecret: options.tokenSecret,
    logger: createLogger({ service: 'bench-count' }, 'error'),
    auditIntervalMs: 3_600_000,
    gateway: {
      port: 0,
      host: '127.0.0.1',
      rateLimitPerMinute: 0,
      // Every fetch reaches its subgraph: the counts are of the work one operation costs, not of cache hits.
      cache: false,
    },
  }).catch(async (error: unknown) => {
    await destroyDomainDatabases(databases)
    throw error
  })
  const { gateway, subgraphUrls } = graph
  const fetches = new Map<Domain, number>()
  for (const domain of DOMAINS) {
    fetches.set(domain, 0)
    graph.subgraphs[domain].http.server.on('request', (req) => {
      if (req.url?.startsWith('/graphql')) fetches.set(domain, fetches.get(domain)! + 1)
    })
  }
  const stopAll = async () => {
    await graph.stop()
    await destroyDomainDatabases(databases)
  }
  const peer = options.peer
    ? (await import('@graphql-hive/gateway')).createGatewayRuntime({
        supergraph: supergraphFor(subgraphUrls),
        logging: false,
        plugins: () => [signedIdentityPlugin(options.signingSecret, options.tokenSecret, subgraphUrls)],
      })
    : undefined

  const snapshot = () =>
    new Map(DOMAINS.map((d) => [d, { queries: databases[d].stats().queries, fetches: fetches.get(d)! }]))

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
      await stopAll()
    },
  }
}
