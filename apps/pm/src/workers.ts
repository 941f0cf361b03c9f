import { ConfigError, createDomainDatabase, type Domain, loadDatabaseConfig } from '@pm/db'
import { lowerProcessPriority, type RunningWorker, workerNice } from '@pm/jobs'
import {
  createLogger,
  metricsRoute,
  onShutdownSignal,
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
import { domainJobs, domainsWithJobs, startDomainWorker } from '@pm/stack'
import { createStorage, loadStorageConfig, type Storage, StorageConfigError } from '@pm/storage'
import { loadCommandEnvironment } from './environment'

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
  const logger = createLogger({ service: `worker-${domain}` }, loadCommandEnvironment(env).logLevel)
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
    { ...config.domains[domain], domain },
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
