import {
  ConfigError,
  createDomainDatabase,
  DOMAINS,
  type Domain,
  type DomainDatabase,
  type DomainDatabaseConfig,
  loadDatabaseConfig,
} from '@pm/db'
import {
  type DomainJobs,
  integerSetting,
  lowerProcessPriority,
  type RunningWorker,
  startWorker,
  workerNice,
} from '@pm/jobs'
import {
  createLogger,
  gatewayUrl,
  type Logger,
  metricsRoute,
  onShutdownSignal,
  type Peers,
  readinessRoutes,
  requireSecret,
  SecretConfigError,
  SIGNING_SECRET_ENV,
  signedPeers,
  startAdminListener,
  startTelemetry,
  subgraphUrls,
  workerAdminListener,
} from '@pm/service-kit'
import { createStorage, loadStorageConfig, type Storage, StorageConfigError } from '@pm/storage'

/**
 * Where each domain's jobs come from: its subgraph package's `jobs` export (next to `subgraph`). A domain
 * has a worker as soon as its package exports one; nothing here changes.
 */
const PACKAGES: Record<Domain, () => Promise<object>> = {
  core: () => import('@pm/subgraph-core'),
  catalog: () => import('@pm/subgraph-catalog'),
  imports: () => import('@pm/subgraph-imports'),
  exports: () => import('@pm/subgraph-exports'),
  media: () => import('@pm/subgraph-media'),
  code2asin: () => import('@pm/subgraph-code2asin'),
  analytics: () => import('@pm/subgraph-analytics'),
}

export async function domainJobs<D extends Domain>(domain: D): Promise<DomainJobs<D> | undefined> {
  const module = (await PACKAGES[domain]()) as { jobs?: DomainJobs<D> }
  return module.jobs
}

/** The domains whose packages export jobs. */
export async function domainsWithJobs(): Promise<Domain[]> {
  const found = await Promise.all(DOMAINS.map(async (d) => ((await domainJobs(d)) ? d : undefined)))
  return found.filter((d): d is Domain => d !== undefined)
}

export interface DomainWorkerOptions<D extends Domain> {
  domain: D
  jobs: DomainJobs<D>
  /** The domain database's URL: its queue lives there. */
  url: string
  database: DomainDatabase<D>
  storage: Storage
  /** Signed as SERVICE (signedPeers). */
  peers: Peers
  /** The gateway's base URL; default GATEWAY_URL, else loopback on GATEWAY_PORT. */
  gatewayUrl?: string
  env: NodeJS.ProcessEnv
  logger: Logger
}

function concurrency(env: NodeJS.ProcessEnv, fallback: number): number {
  return integerSetting(env, 'WORKER_CONCURRENCY', { fallback, min: 1, max: 64 })
}

/** One domain's worker, its tasks given the domain's database, storage and peers. */
export async function startDomainWorker<D extends Domain>(o: DomainWorkerOptions<D>): Promise<RunningWorker> {
  const logger = o.logger.child({ service: `worker-${o.domain}` })
  const tasks = o.jobs.tasks({
    domain: o.domain,
    database: o.database,
    storage: o.storage,
    peers: o.peers,
    gatewayUrl: o.gatewayUrl ?? gatewayUrl(o.env),
    env: o.env,
    logger,
  })
  return startWorker({
    domain: o.domain,
    connectionString: o.url,
    tasks,
    ...(o.jobs.crontab ? { crontab: o.jobs.crontab } : {}),
    concurrency: concurrency(o.env, o.jobs.concurrency ?? 1),
    logger,
  })
}

/**
 * `pm worker --domain D`: that domain's jobs alone, in this process, until SIGINT/SIGTERM (running jobs
 * finish their batch first). Needs the domain's database URL: the embedded database lives inside
 * `pnpm start`, which runs the workers itself.
 */
export async function runWorker(domain: Domain, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const jobs = await domainJobs(domain)
  if (!jobs) {
    const withJobs = await domainsWithJobs()
    throw new ConfigError(
      `the ${domain} domain has no background jobs (domains with jobs: ${withJobs.join(', ') || 'none'})`,
    )
  }
  const config = loadDatabaseConfig(env)
  if (config.mode !== 'external')
    throw new ConfigError(
      `pm worker needs DB_${domain.toUpperCase()}_URL or DATABASE_URL; with the embedded database, pnpm start runs the workers itself`,
    )
  let signingSecret: string
  let storage: Storage
  try {
    signingSecret = requireSecret(SIGNING_SECRET_ENV, env)
    storage = createStorage(loadStorageConfig(env))
  } catch (error) {
    if (error instanceof SecretConfigError || error instanceof StorageConfigError)
      throw new ConfigError(error.message)
    throw error
  }
  const logger = createLogger({ service: `worker-${domain}` })
  let nice: number
  try {
    nice = workerNice(env, jobs.nice ?? 0)
  } catch (error) {
    throw new ConfigError((error as Error).message)
  }
  // Before the database, storage and jobs start their threads: those inherit the lower priority.
  lowerProcessPriority(nice, logger)
  await startTelemetry(`worker-${domain}`, logger, env)
  const database = createDomainDatabase(
    config.domains[domain] as DomainDatabaseConfig & { domain: typeof domain },
    {
      onPoolError: (error) => logger.warn('idle database connection lost', { error: error.message }),
    },
  )
  let worker: RunningWorker
  try {
    worker = await startDomainWorker({
      domain,
      jobs,
      url: config.domains[domain].url,
      database,
      storage,
      peers: signedPeers(subgraphUrls(env), signingSecret),
      env,
      logger,
    })
  } catch (error) {
    await database.destroy()
    throw error
  }
  // Job run times, failures and queue depth (/metrics), and /ready, on the worker's admin listener.
  const admin = await startAdminListener({
    name: `worker-${domain}`,
    admin: workerAdminListener(env),
    logger,
    routes: {
      '/metrics': metricsRoute(),
      ...readinessRoutes(async () => ({
        database: await database.ping().then(
          () => true,
          () => false,
        ),
      })),
    },
  }).catch(async (error: Error) => {
    await worker.stop()
    await database.destroy()
    throw new ConfigError(
      `pm worker: the admin listener could not start (WORKER_ADMIN_PORT): ${error.message}`,
    )
  })
  logger.info('worker admin listener', { url: admin.url })
  onShutdownSignal(async () => {
    await admin.stop()
    await worker.stop()
    await database.destroy()
  }, logger)
  await worker.done
}
