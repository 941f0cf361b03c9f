import type { Domain, DomainDatabase } from '@pm/db'
import type { Logger, Peers } from '@pm/service-kit'
import type { Storage } from '@pm/storage'
import type { TaskHandler } from './worker'

/** What a domain's tasks are given to work with (the same things its subgraph has). */
export interface JobsContext<D extends Domain = Domain> {
  domain: D
  database: DomainDatabase<D>
  storage: Storage
  /** The other subgraphs, queried as the signed SERVICE identity (queryPeer). */
  peers: Peers
  /** The gateway's base URL, for one query over the whole graph as the signed SERVICE caller (queryGraph). */
  gatewayUrl: string
  env: NodeJS.ProcessEnv
  logger: Logger
}

/**
 * The jobs a domain runs, exported as `jobs` by its subgraph package (next to `subgraph`): `pnpm start` and
 * `pm worker --domain D` run a worker for every domain that exports one.
 */
export interface DomainJobs<D extends Domain = Domain> {
  // biome-ignore lint/suspicious/noExplicitAny: each task declares its own payload type
  tasks: (context: JobsContext<D>) => Record<string, TaskHandler<any>>
  /** graphile-worker crontab lines naming these tasks. */
  crontab?: string
  /** Jobs one worker process runs at once (default 1; WORKER_CONCURRENCY overrides). */
  concurrency?: number
  /**
   * Nice value of `pm worker --domain D`, a worker in a process of its own (default 0; WORKER_NICE overrides):
   * CPU-heavy jobs run at a lower priority than the API on the same cores. Not applied by `pnpm start`,
   * whose workers share the API's process.
   */
  nice?: number
}
