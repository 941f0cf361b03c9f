import { randomBytes } from 'node:crypto'
import {
  ConfigError,
  createDomainDatabase,
  DOMAINS,
  type Domain,
  type DomainDatabase,
  type Env,
  prepareDatabases,
} from '@pm/db'
import { GatewayConfigError, loadGatewayEnvironment, type RunningGateway, startGateway } from '@pm/gateway'
import type { RunningWorker } from '@pm/jobs'
import { DEMO_ASIN_SUPPLIER, demoImages, seedDemoData } from '@pm/seed'
import {
  adminListeners,
  createLogger,
  type LogLevel,
  onShutdownSignal,
  type Peers,
  type RunningSubgraph,
  requireSecret,
  SecretConfigError,
  SIGNING_SECRET_ENV,
  type SubgraphModule,
  servicePorts,
  signedPeers,
  startSubgraph,
  startTelemetry,
  TOKEN_SECRET_ENV,
} from '@pm/service-kit'
import { createStorage, loadStorageConfig, StorageConfigError } from '@pm/storage'
import { subgraph as analytics } from '@pm/subgraph-analytics'
import { subgraph as catalog } from '@pm/subgraph-catalog'
import { subgraph as code2asin, startDemoMatching } from '@pm/subgraph-code2asin'
import { subgraph as core } from '@pm/subgraph-core'
import { subgraph as exportsSubgraph } from '@pm/subgraph-exports'
import { subgraph as imports } from '@pm/subgraph-imports'
import { subgraph as media, mediaSettings, storeDemoMedia } from '@pm/subgraph-media'
import { domainJobs, domainsWithJobs, startDomainWorker } from './workers'

const MODULES: { [D in Domain]: SubgraphModule<D, unknown> } = {
  core,
  catalog,
  imports,
  exports: exportsSubgraph,
  media,
  code2asin,
  analytics,
} as never

export interface StartOptions {
  seed: boolean
  /** The environment everything is configured from (default process.env; generated secrets go into it). */
  env?: Record<string, string | undefined>
  /** Ctrl-C / SIGTERM stop everything (default true; tests stop the returned handle themselves). */
  handleSignals?: boolean
}

export interface RunningStart {
  gateway: RunningGateway
  subgraphs: RunningSubgraph[]
  stop(): Promise<void>
}

/**
 * GATEWAY_SIGNING_SECRET and AUTH_TOKEN_SECRET: the given ones (checked), else in development a random one
 * for this run, written to process.env before core and the gateway read it (everything runs in this
 * process, so they share it; sessions end with the run). NODE_ENV=production: required, named when missing.
 */
function sharedSecret(
  name: typeof SIGNING_SECRET_ENV | typeof TOKEN_SECRET_ENV,
  env: Record<string, string | undefined>,
  say: (line: string) => void,
) {
  try {
    if (!env[name]?.trim() && env.NODE_ENV?.trim() !== 'production') {
      env[name] = randomBytes(48).toString('base64url')
      say(`${name} is not set: generated one for this run (set it to keep sign-ins across restarts)`)
    }
    return requireSecret(name, env)
  } catch (error) {
    if (error instanceof SecretConfigError) throw new ConfigError(error.message)
    throw error
  }
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

/**
 * `pnpm start`: the databases (embedded unless URLs are set) created and migrated, demo data when
 * empty, the seven subgraphs and the gateway in this process; Ctrl-C stops all of it. The gateway is
 * configured by the same loader as the gateway started alone, so every setting the README lists holds.
 */
export async function start(options: StartOptions): Promise<RunningStart> {
  const env = options.env ?? process.env
  const logger = createLogger({ service: 'pm' }, (env.LOG_LEVEL as LogLevel | undefined) ?? 'info')
  // One process for every service: one set of metrics (each admin listener's /metrics shows them all).
  await startTelemetry('products-manager', logger, env)
  const say = (line: string) => process.stdout.write(`${line}\n`)
  const signingSecret = sharedSecret(SIGNING_SECRET_ENV, env, say)
  sharedSecret(TOKEN_SECRET_ENV, env, say)
  // Read (and checked) before anything starts: a bad value stops here, naming the variable.
  const settings = gatewaySettings(env)
  const admin = adminListeners(env)
  const prepared = await prepareDatabases({ log: say, env })
  const databases = Object.fromEntries(
    DOMAINS.map((d) => [
      d,
      createDomainDatabase(prepared.domains[d], {
        onPoolError: (error) =>
          logger.warn('idle database connection lost', { domain: d, error: error.message }),
      }),
    ]),
  ) as { [D in Domain]: DomainDatabase<D> }
  const subgraphs: RunningSubgraph[] = []
  const workers: RunningWorker[] = []
  let gateway: RunningGateway | undefined
  const stopAll = async () => {
    // Running jobs finish their batch first, while the services they call are still up.
    await Promise.all(workers.map((w) => w.stop()))
    await gateway?.stop()
    await Promise.all(subgraphs.map((s) => s.stop()))
    await Promise.all(DOMAINS.map((d) => databases[d].destroy()))
    await prepared.stop()
  }
  try {
    if (options.seed) {
      const dbs = Object.fromEntries(DOMAINS.map((d) => [d, databases[d].db])) as never
      const started = performance.now()
      const { seeded, counts } = await seedDemoData(dbs, { log: say })
      if (seeded) {
        say(
          `demo data seeded in ${Math.round(performance.now() - started)} ms (${counts.products ?? 0} products)`,
        )
      }
    }
    const ports = servicePorts(env)
    const host = env.HOST?.trim() || '127.0.0.1'
    // The peers each subgraph asks (queryPeer, audit relay): where the others listen in this process.
    const peers: Peers = {}
    for (const domain of DOMAINS) {
      const running = await startSubgraph(MODULES[domain] as SubgraphModule<typeof domain, unknown>, {
        database: databases[domain] as never,
        port: ports[domain],
        host,
        admin: admin[domain],
        logger: logger.child({ service: `subgraph-${domain}` }),
        peers,
        signingSecret,
        env,
      })
      subgraphs.push(running)
      peers[domain] = running.graphqlUrl
    }
    const subgraphUrls = Object.fromEntries(subgraphs.map((s) => [s.domain, s.graphqlUrl])) as Record<
      Domain,
      string
    >
    let storage: ReturnType<typeof createStorage>
    try {
      storage = createStorage(loadStorageConfig(env))
    } catch (error) {
      if (error instanceof StorageConfigError) throw new ConfigError(error.message)
      throw error
    }
    if (options.seed) {
      // The demo media files become real images in storage, served like any other.
      const stored = await storeDemoMedia(databases.media.db, storage, await demoImages(), mediaSettings(env))
      if (stored > 0) say(`demo media: ${stored} files now point at images in storage`)
    }
    const running = await startGateway({
      ...settings,
      // Where the subgraphs of this process listen (ports may be 0: any free one).
      subgraphUrls,
      logger: logger.child({ service: 'gateway' }),
      storage,
    })
    gateway = running
    // Every domain whose package exports jobs gets its worker here, on the same databases and storage.
    const workerPeers = signedPeers(subgraphUrls, signingSecret)
    const withJobs = await domainsWithJobs()
    for (const domain of withJobs) {
      workers.push(
        await startDomainWorker({
          domain,
          jobs: (await domainJobs(domain))!,
          url: prepared.domains[domain].url,
          database: databases[domain] as never,
          storage,
          peers: workerPeers,
          gatewayUrl: running.url,
          // Every database's URL: the operations worker (core) connects to each of them.
          env: { ...env, ...domainUrlEnv(prepared.domains) },
          logger,
        }),
      )
    }
    if (options.seed) {
      // The demo supplier's ASIN matches come from the engine: a lookup table made from its products, a real job
      // the code2asin worker runs (once: a later start finds the job).
      try {
        const demo = await startDemoMatching({
          peers: workerPeers,
          storage,
          supplierCode: DEMO_ASIN_SUPPLIER,
        })
        if (demo?.created) {
          say(
            `demo code2asin: job ${demo.jobId} matches ${DEMO_ASIN_SUPPLIER}'s ${demo.products} products against a lookup table of ${demo.tableRows} lines`,
          )
        }
      } catch (error) {
        logger.warn('demo code2asin job not started', { error: String(error) })
      }
    }
    say('')
    for (const s of subgraphs) say(`  subgraph ${s.domain.padEnd(10)} ${s.graphqlUrl}`)
    for (const domain of withJobs) say(`  worker   ${domain.padEnd(10)} jobs queued in its database`)
    const page = settings.graphiql ? 'GraphQL API and GraphiQL' : 'GraphQL API'
    say(`\n  ${page}: ${running.graphqlUrl}\n  readiness and metrics: ${running.adminUrl}/ready, /metrics`)
    say(`\nCtrl-C stops everything.`)
  } catch (error) {
    await stopAll().catch(() => {})
    throw error
  }
  if (options.handleSignals !== false) onShutdownSignal(stopAll, logger)
  let stopping: Promise<void> | undefined
  return {
    gateway: gateway!,
    subgraphs,
    stop: () => {
      stopping ??= stopAll()
      return stopping
    },
  }
}

/** DB_<DOMAIN>_URL for each domain (the embedded server's URLs are known only once it runs). */
function domainUrlEnv(domains: Record<Domain, { url: string }>): Record<string, string> {
  return Object.fromEntries(DOMAINS.map((d) => [`DB_${d.toUpperCase()}_URL`, domains[d].url]))
}
