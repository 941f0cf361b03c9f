import { ConfigError, createDomainDatabase, type Domain, type Env } from '@pm/db'
import type { RunningWorker } from '@pm/jobs'
import {
  createLogger,
  lowerProcessPriority,
  metricsRoute,
  onShutdownSignal,
  readinessRoutes,
  signedPeers,
  startAdminListener,
  startTelemetry,
} from '@pm/service-kit'
import { domainJobs, domainsWithJobs, startDomainWorker } from '@pm/stack'
import { createStorage } from '@pm/storage'
import { loadWorkerEnvironment } from './environment'

/**
 * `pm worker --domain D`: that domain's jobs alone, in this process, until SIGINT/SIGTERM (running jobs
 * finish their batch first). Needs the domain's database URL: the embedded database lives inside
 * `pnpm start`, which runs the workers itself.
 */
export async function runWorker(domain: Domain, env: Env): Promise<void> {
  const jobs = await domainJobs(domain)
  if (!jobs) {
    const withJobs = await domainsWithJobs()
    throw new ConfigError(
      `the ${domain} domain has no background jobs (domains with jobs: ${withJobs.join(', ') || 'none'})`,
    )
  }
  // Read once, here: nothing below reads the environment for its settings.
  const settings = loadWorkerEnvironment(domain, env, {
    nice: jobs.nice ?? 0,
    concurrency: jobs.concurrency ?? 1,
  })
  const storage = createStorage(settings.storageConfig)
  const logger = createLogger({ service: `worker-${domain}` }, settings.logLevel)
  // Before the database, storage and jobs start their threads: those inherit the lower priority.
  lowerProcessPriority(settings.nice, logger)
  await startTelemetry(`worker-${domain}`, logger, env)
  const database = createDomainDatabase(
    { ...settings.database, domain },
    {
      onPoolError: (error) => logger.warn('idle database connection lost', { error: error.message }),
    },
  )
  let worker: RunningWorker
  try {
    worker = await startDomainWorker({
      domain,
      jobs,
      url: settings.database.url,
      database,
      storage,
      peers: signedPeers(settings.subgraphUrls, settings.signingSecret),
      gatewayUrl: settings.gatewayUrl,
      concurrency: settings.concurrency,
      // The tasks' context.env: the job settings each domain's tasks read (EXPORT_*, MEDIA_*, …).
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
    admin: settings.admin,
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
