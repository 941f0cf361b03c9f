import { randomBytes } from 'node:crypto'
import {
  ConfigError,
  createDomainDatabase,
  DOMAINS,
  type Domain,
  type DomainDatabase,
  prepareDatabases,
} from '@pm/db'
import { loadCacheOptions, startGateway } from '@pm/gateway'
import type { RunningWorker } from '@pm/jobs'
import { seedDemoData } from '@pm/seed'
import {
  createLogger,
  onShutdownSignal,
  type RunningSubgraph,
  requireSecret,
  SecretConfigError,
  SIGNING_SECRET_ENV,
  type SubgraphModule,
  servicePorts,
  signedPeers,
  startSubgraph,
  TOKEN_SECRET_ENV,
} from '@pm/service-kit'
import { createStorage, loadStorageConfig, StorageConfigError } from '@pm/storage'
import { subgraph as analytics } from '@pm/subgraph-analytics'
import { subgraph as catalog } from '@pm/subgraph-catalog'
import { subgraph as code2asin } from '@pm/subgraph-code2asin'
import { subgraph as core } from '@pm/subgraph-core'
import { subgraph as exportsSubgraph } from '@pm/subgraph-exports'
import { subgraph as imports } from '@pm/subgraph-imports'
import { subgraph as media } from '@pm/subgraph-media'
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
}

/**
 * GATEWAY_SIGNING_SECRET and AUTH_TOKEN_SECRET: the given ones (checked), else in development a random one
 * for this run, written to process.env before core and the gateway read it (everything runs in this
 * process, so they share it; sessions end with the run). NODE_ENV=production: required, named when missing.
 */
function sharedSecret(
  name: typeof SIGNING_SECRET_ENV | typeof TOKEN_SECRET_ENV,
  say: (line: string) => void,
) {
  try {
    if (!process.env[name]?.trim() && process.env.NODE_ENV?.trim() !== 'production') {
      process.env[name] = randomBytes(48).toString('base64url')
      say(`${name} is not set: generated one for this run (set it to keep sign-ins across restarts)`)
    }
    return requireSecret(name)
  } catch (error) {
    if (error instanceof SecretConfigError) throw new ConfigError(error.message)
    throw error
  }
}

/**
 * `pnpm start`: the databases (embedded unless URLs are set) created and migrated, demo data when
 * empty, the seven subgraphs and the gateway in this process; Ctrl-C stops all of it.
 */
export async function start(options: StartOptions) {
  const logger = createLogger({ service: 'pm' })
  const say = (line: string) => process.stdout.write(`${line}\n`)
  const signingSecret = sharedSecret(SIGNING_SECRET_ENV, say)
  const tokenSecret = sharedSecret(TOKEN_SECRET_ENV, say)
  const prepared = await prepareDatabases({ log: say })
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
  let gateway: { stop(): Promise<void> } | undefined
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
    const ports = servicePorts()
    const host = process.env.HOST ?? '127.0.0.1'
    for (const domain of DOMAINS) {
      subgraphs.push(
        await startSubgraph(MODULES[domain] as SubgraphModule<typeof domain, unknown>, {
          database: databases[domain] as never,
          port: ports[domain],
          host,
          logger: logger.child({ service: `subgraph-${domain}` }),
          signingSecret,
        }),
      )
    }
    const subgraphUrls = Object.fromEntries(subgraphs.map((s) => [s.domain, s.graphqlUrl])) as Record<
      Domain,
      string
    >
    let storage: ReturnType<typeof createStorage>
    try {
      storage = createStorage(loadStorageConfig())
    } catch (error) {
      if (error instanceof StorageConfigError) throw new ConfigError(error.message)
      throw error
    }
    const running = await startGateway({
      port: ports.gateway,
      host,
      subgraphUrls,
      logger: logger.child({ service: 'gateway' }),
      signingSecret,
      tokenSecret,
      storage,
      // The fetch cache as configured (GATEWAY_CACHE*), shared through Redis when REDIS_URL is set.
      cache: loadCacheOptions(),
      ...(process.env.REDIS_URL?.trim() ? { redisUrl: process.env.REDIS_URL.trim() } : {}),
    })
    gateway = running
    // Every domain whose package exports jobs gets its worker here, on the same databases and storage.
    const peers = signedPeers(subgraphUrls, signingSecret)
    const withJobs = await domainsWithJobs()
    for (const domain of withJobs) {
      workers.push(
        await startDomainWorker({
          domain,
          jobs: (await domainJobs(domain))!,
          url: prepared.domains[domain].url,
          database: databases[domain] as never,
          storage,
          peers,
          env: process.env,
          logger,
        }),
      )
    }
    say('')
    for (const s of subgraphs) say(`  subgraph ${s.domain.padEnd(10)} ${s.graphqlUrl}`)
    for (const domain of withJobs) say(`  worker   ${domain.padEnd(10)} jobs queued in its database`)
    say(`\n  GraphQL API and GraphiQL: ${running.graphqlUrl}\n\nCtrl-C stops everything.`)
  } catch (error) {
    await stopAll().catch(() => {})
    throw error
  }
  onShutdownSignal(stopAll, logger)
}
