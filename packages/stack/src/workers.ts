import { DOMAINS, type Domain, type DomainDatabase } from '@pm/db'
import { type DomainJobs, integerSetting, type RunningWorker, startWorker } from '@pm/jobs'
import { gatewayUrl, type Logger, type Peers } from '@pm/service-kit'
import { createStorage, loadStorageConfig, type Storage } from '@pm/storage'
import { loadSubgraphPackage } from './packages'

/** A domain's jobs: its subgraph package's `jobs` export, if any. */
export async function domainJobs<D extends Domain>(domain: D): Promise<DomainJobs<D> | undefined> {
  return (await loadSubgraphPackage(domain)).jobs
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
  /** Where files are read and written (default: STORAGE_* of `env`). */
  storage?: Storage
  /** Signed as SERVICE (signedPeers). */
  peers: Peers
  /** The gateway's base URL; default GATEWAY_URL, else loopback on GATEWAY_PORT. */
  gatewayUrl?: string
  /** What the tasks' context.env holds (WORKER_CONCURRENCY is read from it too). */
  env: NodeJS.ProcessEnv
  logger: Logger
  /** Jobs run at once (default WORKER_CONCURRENCY, else the domain's own, else 1). */
  concurrency?: number
  /** Crontab lines (default: the domain's own). */
  crontab?: string
  /** How often new jobs are looked for besides LISTEN/NOTIFY (default the queue's). */
  pollIntervalMs?: number
}

/**
 * One domain's worker, its tasks given the domain's database, storage and peers: what `pnpm start`, `pm worker`
 * and the tests' stack run.
 */
export async function startDomainWorker<D extends Domain>(o: DomainWorkerOptions<D>): Promise<RunningWorker> {
  const logger = o.logger.child({ service: `worker-${o.domain}` })
  const tasks = o.jobs.tasks({
    domain: o.domain,
    database: o.database,
    storage: o.storage ?? createStorage(loadStorageConfig(o.env)),
    peers: o.peers,
    gatewayUrl: o.gatewayUrl ?? gatewayUrl(o.env),
    env: o.env,
    logger,
  })
  const crontab = o.crontab ?? o.jobs.crontab
  return startWorker({
    domain: o.domain,
    connectionString: o.url,
    tasks,
    ...(crontab ? { crontab } : {}),
    concurrency:
      o.concurrency ??
      integerSetting(o.env, 'WORKER_CONCURRENCY', { fallback: o.jobs.concurrency ?? 1, min: 1, max: 64 }),
    logger,
    ...(o.pollIntervalMs !== undefined ? { pollIntervalMs: o.pollIntervalMs } : {}),
  })
}
