import { randomUUID } from 'node:crypto'
import type { Logger } from '@pm/service-kit'
import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type RawBuilder,
  type Selectable,
  type SqlBool,
  sql,
} from 'kysely'
import { JobInterruptedError } from './worker'

/**
 * The columns a job table needs to be run under a lease: its status ('pending', 'running', then final ones),
 * the runner that holds it and that runner's last heartbeat. A started_at column is stamped on the first claim.
 */
export interface LeasedJobColumns {
  id: unknown
  status: unknown
  runner_id: unknown
  heartbeat_at: unknown
  started_at: unknown
}

/** What a resume sets to queue a stopped job again: pending, no runner or heartbeat, no end, no error. */
export function releasedForRetry() {
  return {
    status: 'pending',
    completed_at: null,
    last_error: null,
    runner_id: null,
    heartbeat_at: null,
  } as const
}

export interface JobLeaseOptions<DB, TB extends keyof DB & string> {
  db: Kysely<DB>
  table: TB
  /** What the logs and errors call the job: "import", "export", "code2asin". */
  label: string
  jobId: string
  /** A running job whose heartbeat is older than this has lost its worker: another may take it over. */
  leaseSeconds: number
  logger: Logger
  /** Aborted when the worker stops (the task's signal). */
  signal?: AbortSignal
  /** The SQL clock; `(now() AT TIME ZONE 'UTC')` for TIMESTAMP columns that hold UTC. Default `now()`. */
  now?: RawBuilder<Date>
  /** Columns set on a claim besides the lease, status and started_at (a phase, a cleared last error…). */
  claim?: Record<string, unknown>
  /** Only jobs matching this can run (one that has a provider, a format…). */
  runnable?: (eb: ExpressionBuilder<DB, TB>) => Expression<SqlBool>
  /** The heartbeat runs every quarter of the lease, never more often than this (default 1 s). */
  minHeartbeatMs?: number
}

export interface JobLease<Row> {
  /** The job as claimed (running, this runner's). */
  job: Row
  /** This run's runner id (runner_id): every write of the run is conditioned on it. */
  runner: string
  /**
   * True once the job is no longer this runner's (the heartbeat found it cancelled, final or taken over
   * after a lost lease) or the worker stops: the run stops at its next batch boundary.
   */
  stopped: () => boolean
  /** Whether the worker is stopping (the signal aborted), as opposed to the job being lost. */
  interrupted: () => boolean
  /**
   * The worker is stopping: the job is handed back (no runner, no heartbeat), so that the queue runs it again
   * and the next run resumes from its last committed checkpoint. Throws JobInterruptedError, which tells the
   * queue to retry without using up an attempt.
   */
  handBack: () => Promise<never>
  /** Stops the heartbeat; call it when the run ends, however it ends. */
  end: () => void
}

// biome-ignore lint/suspicious/noExplicitAny: the table is generic; callers get their row type back
type AnyDb = Kysely<any>

/**
 * Claims a job for one run of a worker task: a pending job, or a running one whose runner stopped beating
 * (a dead worker), becomes running under a fresh runner id, and a heartbeat keeps the lease until `end()`.
 * Undefined when the job is final, missing or not runnable; throws when a live runner holds it (the queue
 * tries again later).
 */
export async function claimJobLease<DB, TB extends keyof DB & string>(
  options: JobLeaseOptions<DB, TB>,
): Promise<JobLease<Selectable<DB[TB]>> | undefined> {
  const db = options.db as unknown as AnyDb
  const table = options.table as string
  const { jobId, leaseSeconds, logger, label, signal } = options
  const now = options.now ?? sql<Date>`now()`
  const runner = randomUUID()
  const runnable = options.runnable as ((eb: ExpressionBuilder<any, any>) => Expression<SqlBool>) | undefined
  const job = await db
    .updateTable(table)
    .set({
      ...options.claim,
      status: 'running',
      runner_id: runner,
      heartbeat_at: now,
      started_at: sql`COALESCE(started_at, ${now})`,
    })
    .where('id', '=', jobId)
    .where((eb) =>
      eb.and([
        ...(runnable ? [runnable(eb)] : []),
        eb.or([
          eb('status', '=', 'pending'),
          eb.and([
            eb('status', '=', 'running'),
            eb.or([
              eb('runner_id', 'is', null),
              eb('heartbeat_at', 'is', null),
              eb('heartbeat_at', '<', sql<Date>`${now} - make_interval(secs => ${leaseSeconds})`),
            ]),
          ]),
        ]),
      ]),
    )
    .returningAll()
    .executeTakeFirst()
  if (!job) {
    let query = db.selectFrom(table).select('status').where('id', '=', jobId)
    if (runnable) query = query.where(runnable)
    const current = (await query.executeTakeFirst()) as { status: string } | undefined
    if (current?.status === 'running') {
      throw new Error(`${label} job ${jobId} is held by a live runner; the queue tries again later`)
    }
    logger.info(`${label} job not runnable`, { jobId, status: current?.status ?? 'missing' })
    return undefined
  }

  let lost = false
  const beat = setInterval(
    () => {
      db.updateTable(table)
        .set({ heartbeat_at: now })
        .where('id', '=', jobId)
        .where('runner_id', '=', runner)
        .where('status', '=', 'running')
        .executeTakeFirst()
        .then(
          (result) => {
            if (Number(result.numUpdatedRows) === 0) lost = true
          },
          (error) => logger.warn(`${label} heartbeat failed`, { jobId, error: String(error) }),
        )
    },
    Math.max(options.minHeartbeatMs ?? 1_000, (leaseSeconds * 1_000) / 4),
  )
  beat.unref()

  return {
    job: job as Selectable<DB[TB]>,
    runner,
    stopped: () => lost || signal?.aborted === true,
    interrupted: () => signal?.aborted === true,
    handBack: async () => {
      await db
        .updateTable(table)
        .set({ runner_id: null, heartbeat_at: null })
        .where('id', '=', jobId)
        .where('runner_id', '=', runner)
        .execute()
      throw new JobInterruptedError()
    },
    end: () => clearInterval(beat),
  }
}
