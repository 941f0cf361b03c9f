import {
  ConfigError,
  createDomainDatabases,
  DOMAINS,
  type Domain,
  destroyDomainDatabases,
  domainKyselys,
  type Env,
  prepareDatabases,
} from '@pm/db'
import type { RunningWorker } from '@pm/jobs'
import { DEMO_ASIN_SUPPLIER, demoImages, seedDemoData } from '@pm/seed'
import {
  adminListeners,
  createLogger,
  onShutdownSignal,
  SIGNING_SECRET_ENV,
  servicePorts,
  signedPeers,
  startTelemetry,
  TOKEN_SECRET_ENV,
} from '@pm/service-kit'
import { domainJobs, domainsWithJobs, type RunningGraph, startDomainWorker, startGraph } from '@pm/stack'
import { createStorage, loadStorageConfig, StorageConfigError } from '@pm/storage'
import { startDemoMatching } from '@pm/subgraph-code2asin'
import { mediaSettings, storeDemoMedia } from '@pm/subgraph-media'
import { gatewaySettings, loadStartEnvironment } from './environment'

export { gatewaySettings }

export interface StartOptions {
  seed: boolean
  /** The environment everything is configured from (default process.env; never written to). */
  env?: Env
  /** Ctrl-C / SIGTERM stop everything (default true; tests stop the returned handle themselves). */
  handleSignals?: boolean
}

export interface RunningStart {
  gateway: RunningGraph<Domain>['gateway']
  subgraphs: RunningGraph<Domain>['subgraphs'][Domain][]
  stop(): Promise<void>
}

/**
 * `pnpm start`: the databases (embedded unless URLs are set) created and migrated, demo data when
 * empty, the seven subgraphs and the gateway in this process; Ctrl-C stops all of it. The gateway is
 * configured by the same loader as the gateway started alone, so every setting the README lists holds.
 *
 * The two shared secrets (given, else generated for this run in development) are handed to what runs here
 * as values: the gateway and the subgraphs as options, core and the workers in the environment object each
 * is started with (a copy: process.env is never written, and no other process is started).
 */
export async function start(options: StartOptions): Promise<RunningStart> {
  const baseEnv = options.env ?? process.env
  const say = (line: string) => process.stdout.write(`${line}\n`)
  // Read (and checked) before anything starts: a bad value stops here, naming the variable.
  const config = loadStartEnvironment(baseEnv)
  for (const name of config.generatedSecrets)
    say(`${name} is not set: generated one for this run (set it to keep sign-ins across restarts)`)
  const { signingSecret, tokenSecret } = config
  const env: Env = { ...baseEnv, [SIGNING_SECRET_ENV]: signingSecret, [TOKEN_SECRET_ENV]: tokenSecret }
  const logger = createLogger({ service: 'pm' }, config.logLevel)
  // One process for every service: one set of metrics (each admin listener's /metrics shows them all).
  await startTelemetry('products-manager', logger, env)
  const settings = gatewaySettings(env)
  const admin = adminListeners(env)
  const ports = servicePorts(env)
  const prepared = await prepareDatabases({ log: say, config: config.database })
  const databases = createDomainDatabases(prepared.domains, (d) => ({
    onPoolError: (error) => logger.warn('idle database connection lost', { domain: d, error: error.message }),
  }))
  const workers: RunningWorker[] = []
  let graph: RunningGraph<Domain> | undefined
  const stopAll = async () => {
    // Running jobs finish their batch first, while the services they call are still up.
    await Promise.all(workers.map((w) => w.stop()))
    await graph?.stop()
    await destroyDomainDatabases(databases)
    await prepared.stop()
  }
  try {
    let storage: ReturnType<typeof createStorage>
    try {
      storage = createStorage(loadStorageConfig(env))
    } catch (error) {
      if (error instanceof StorageConfigError) throw new ConfigError(error.message)
      throw error
    }
    if (options.seed) {
      const started = performance.now()
      const { seeded, counts } = await seedDemoData(domainKyselys(databases), { log: say })
      if (seeded) {
        say(
          `demo data seeded in ${Math.round(performance.now() - started)} ms (${counts.products ?? 0} products)`,
        )
      }
      // The demo media files become real images in storage, served like any other.
      const stored = await storeDemoMedia(databases.media.db, storage, await demoImages(), mediaSettings(env))
      if (stored > 0) say(`demo media: ${stored} files now point at images in storage`)
    }
    graph = await startGraph({
      databases,
      signingSecret,
      tokenSecret,
      ports,
      host: config.host,
      admin,
      logger,
      env: () => env,
      gateway: { ...settings, storage },
    })
    const running = graph.gateway
    // Every domain whose package exports jobs gets its worker here, on the same databases and storage.
    const workerPeers = signedPeers(graph.subgraphUrls, signingSecret)
    const withJobs = await domainsWithJobs()
    const startWorkerOf = async <D extends Domain>(domain: D) =>
      startDomainWorker({
        domain,
        jobs: (await domainJobs(domain))!,
        url: prepared.domains[domain].url,
        database: databases[domain],
        storage,
        peers: workerPeers,
        gatewayUrl: running.url,
        // Every database's URL: the operations worker (core) connects to each of them.
        env: { ...env, ...domainUrlEnv(prepared.domains) },
        logger,
      })
    for (const domain of withJobs) workers.push(await startWorkerOf(domain))
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
    const subgraphs = DOMAINS.map((d) => graph!.subgraphs[d])
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
  const running = graph
  return {
    gateway: running.gateway,
    subgraphs: DOMAINS.map((d) => running.subgraphs[d]),
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
