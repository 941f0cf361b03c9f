import type { Domain } from '@pm/db'
import { ErrorCode, userError } from '@pm/service-kit'
import { makeWorkerUtils, type WorkerUtils } from 'graphile-worker'
import { type Kysely, sql } from 'kysely'
import pg from 'pg'

export interface JobSpec {
  /** One job per key: adding again while it waits replaces it (payload, run time). */
  jobKey?: string
  runAt?: Date
  /** Default 25. */
  maxAttempts?: number
  /** Jobs of one queue run one at a time, in order. */
  queueName?: string
}

export interface JobQueue {
  add(task: string, payload: object, o?: JobSpec): Promise<void>
  /** Ends the queue's connections (only those it opened itself). */
  close(): Promise<void>
}

/**
 * Adds jobs to a domain database's queue (schema graphile_worker, installed on first use if no worker has
 * yet). Give a connection string (the queue opens a small pool of its own) or a pg Pool to share.
 */
export function jobQueue(domain: Domain, connection: string | pg.Pool): JobQueue {
  const owned = typeof connection === 'string'
  const pool =
    typeof connection === 'string'
      ? new pg.Pool({ connectionString: connection, max: 2, application_name: `pm-jobs-${domain}` })
      : connection
  if (owned) pool.on('error', () => {})
  let utils: Promise<WorkerUtils> | undefined
  const ready = () => {
    utils ??= (async () => {
      const u = await makeWorkerUtils({ pgPool: pool })
      await u.migrate()
      return u
    })().catch((error) => {
      utils = undefined
      throw error
    })
    return utils
  }
  return {
    async add(task, payload, o = {}) {
      const u = await ready()
      await u.addJob(task, payload, {
        ...(o.jobKey ? { jobKey: o.jobKey } : {}),
        ...(o.runAt ? { runAt: o.runAt } : {}),
        ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}),
        ...(o.queueName ? { queueName: o.queueName } : {}),
      })
    },
    async close() {
      const u = await utils?.catch(() => undefined)
      await u?.release()
      if (owned) await pool.end()
    },
  }
}

export interface TransactionJob {
  task: string
  payload: object
  /** One waiting job per key: adding again replaces it; a running one keeps going and a new one is queued. */
  jobKey?: string
  /** Default 25. */
  maxAttempts?: number
}

/** What to do when no worker has installed the queue's schema in the database yet. */
export interface NoQueue {
  /** refuse (default): SERVICE_UNAVAILABLE saying to start a worker; skip: add nothing and answer false. */
  whenMissing?: 'refuse' | 'skip'
  /** The worker named in the refusal (default: "<domain> worker"). */
  workerName?: string
}

/**
 * Queues a job inside the caller's transaction on the domain's database (graphile-worker's add_jobs), so the
 * domain's rows and their job commit together or not at all. The queue's schema exists once a worker has
 * started on the database: before that, SERVICE_UNAVAILABLE saying to start one (or false, with
 * whenMissing: 'skip'; true once queued).
 */
export async function addJobInTransaction(
  // biome-ignore lint/suspicious/noExplicitAny: any domain's Kysely instance or transaction
  db: Kysely<any>,
  domain: Domain,
  job: TransactionJob,
  o: NoQueue = {},
): Promise<boolean> {
  return addJobsInTransaction(db, domain, [job], o)
}

/**
 * Queues many jobs in one statement (graphile-worker's add_jobs), inside the caller's transaction, with the
 * same rules as addJobInTransaction: a job key replaces the waiting job that holds it; a job holding it that
 * is running keeps going, and the new one is queued beside it (add_jobs clears the running job's key).
 */
export async function addJobsInTransaction(
  // biome-ignore lint/suspicious/noExplicitAny: any domain's Kysely instance or transaction
  db: Kysely<any>,
  domain: Domain,
  jobs: readonly TransactionJob[],
  o: NoQueue = {},
): Promise<boolean> {
  if (jobs.length === 0) return true
  const { rows } = await sql<{ ready: boolean }>`
    SELECT to_regproc('graphile_worker.add_jobs') IS NOT NULL AS ready
  `.execute(db)
  if (!rows[0]?.ready) {
    if (o.whenMissing === 'skip') return false
    throw userError(
      ErrorCode.SERVICE_UNAVAILABLE,
      `No ${o.workerName ?? `${domain} worker`} has run on this database yet: start one (pm worker --domain ${domain}, or pnpm start), then try again`,
    )
  }
  await sql`
    SELECT count(*) FROM graphile_worker.add_jobs((
      SELECT array_agg(ROW(j.task, j.payload, NULL, NULL, j.max_attempts, j.job_key, NULL, NULL)::graphile_worker.job_spec
                       ORDER BY j.n)
        FROM unnest(${jobs.map((j) => j.task)}::text[], ${jobs.map((j) => JSON.stringify(j.payload))}::json[],
                    ${jobs.map((j) => j.maxAttempts ?? 25)}::smallint[], ${jobs.map((j) => j.jobKey ?? null)}::text[])
             WITH ORDINALITY AS j(task, payload, max_attempts, job_key, n)
    ))
  `.execute(db)
  return true
}
