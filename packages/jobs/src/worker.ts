import { EventEmitter } from 'node:events'
import { getPriority, hostname } from 'node:os'
import type { Domain } from '@pm/db'
import { createLogger, type Logger } from '@pm/service-kit'
import { observeJobRun, type QueueSample, registerQueue } from '@pm/telemetry'
import {
  type JobHelpers as GraphileHelpers,
  makeWorkerUtils,
  type ParsedCronItem,
  parseCrontab,
  run,
  type Task,
  type WorkerEvents,
} from 'graphile-worker'
import pg from 'pg'
import { graphileLogger } from './logger'
import { LIVENESS_LOCK_CLASS, QUEUE_SCHEMA, recoverDeadWorkers } from './recovery'

export interface JobHelpers {
  jobId: string
  /** This run's number, from 1 (a run interrupted by a worker stop does not count). */
  attempts: number
  maxAttempts: number
  logger: Logger
  /**
   * Aborted when the worker stops: finish (commit) the current batch, then return or throw
   * (`signal.throwIfAborted()` throws a JobInterruptedError). A task that throws once it is aborted runs
   * again later, on this or another worker, without using up an attempt; one that returns is done.
   */
  signal: AbortSignal
}

export type TaskHandler<P> = (payload: P, helpers: JobHelpers) => Promise<void>

export interface WorkerOptions {
  domain: Domain
  connectionString: string
  // biome-ignore lint/suspicious/noExplicitAny: each task declares its own payload type
  tasks: Record<string, TaskHandler<any>>
  /** graphile-worker's crontab format: `<min> <hour> <dom> <month> <dow> <task> [?opts] [payload JSON]`. */
  crontab?: string
  /** Jobs run at once by this process (default 1). */
  concurrency?: number
  logger?: Logger
  /** How often new jobs are looked for besides LISTEN/NOTIFY (default 2 s). */
  pollIntervalMs?: number
  /** How often dead workers' jobs are looked for (default 60 s). */
  recoverIntervalMs?: number
  /** A job locked longer than this by a dead worker is released (default 30 s). */
  staleAfterMs?: number
}

export interface RunningWorker {
  /** Stops taking jobs, aborts the running ones' signal, waits for them to return. */
  stop(): Promise<void>
  /** Settles when the worker has stopped (rejects if it stopped on an error). */
  done: Promise<void>
}

export class JobInterruptedError extends Error {
  override name = 'JobInterruptedError'
  constructor(message = 'the worker is stopping: the job runs again from its last committed batch') {
    super(message)
  }
}

const QUEUE_STATES = ['ready', 'scheduled', 'running', 'failed'] as const

/** The domain queue's jobs by state, for pm_job_queue_jobs (read when /metrics is scraped). */
async function queueDepth(pool: pg.Pool, domain: Domain): Promise<QueueSample[]> {
  const { rows } = await pool.query<{ state: string; jobs: number }>(
    `SELECT CASE WHEN locked_at IS NOT NULL THEN 'running'
                 WHEN attempts >= max_attempts THEN 'failed'
                 WHEN run_at > now() THEN 'scheduled'
                 ELSE 'ready' END AS state,
            count(*)::int AS jobs
       FROM ${QUEUE_SCHEMA}._private_jobs GROUP BY 1`,
  )
  const counts = new Map(rows.map((row) => [row.state, row.jobs]))
  return QUEUE_STATES.map((state) => ({ labels: { domain, state }, value: counts.get(state) ?? 0 }))
}

/** Parses a crontab and checks that every line names one of `tasks` (graphile-worker's own parser). */
export function validateCrontab(crontab: string, tasks: Record<string, unknown>): ParsedCronItem[] {
  const items = parseCrontab(crontab)
  for (const item of items) {
    if (!(item.task in tasks))
      throw new Error(`the crontab names task "${item.task}", which this worker does not have`)
  }
  return items
}

/**
 * One domain's worker: graphile-worker 0.16 on the domain's own database (schema graphile_worker, which it
 * installs or upgrades at start), jobs claimed with SKIP LOCKED so any number of these processes share the
 * queue, the crontab run by graphile-worker's scheduler (each cron run queued once whatever the number of
 * workers), and the jobs of dead workers released (see recoverDeadWorkers).
 */
export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const concurrency = o.concurrency ?? 1
  const logger = (o.logger ?? createLogger({ service: `worker-${o.domain}` })).child({ domain: o.domain })
  const parsedCronItems = validateCrontab(o.crontab ?? '', o.tasks)
  const pool = new pg.Pool({
    connectionString: o.connectionString,
    max: concurrency + 4,
    application_name: `pm-worker-${o.domain}`,
  })
  pool.on('error', (error) => logger.warn('idle queue connection lost', { error: error.message }))
  const glogger = graphileLogger(logger)
  // Holds this process's liveness locks: while it is connected, our workers are alive.
  const liveness = new pg.Client({
    connectionString: o.connectionString,
    application_name: `pm-worker-${o.domain}-alive`,
  })
  const interruption = new AbortController()
  let stopping: Promise<void> | undefined
  let runnerStop: (() => Promise<void>) | undefined
  let timer: NodeJS.Timeout | undefined

  const unregisterQueue = registerQueue(() => queueDepth(pool, o.domain))
  const cleanup = async () => {
    unregisterQueue()
    clearInterval(timer)
    await liveness.end().catch(() => {})
    await pool.end().catch(() => {})
  }
  try {
    const utils = await makeWorkerUtils({ pgPool: pool, logger: glogger })
    await utils.migrate()
    await utils.release()
    await liveness.connect()
    liveness.on('error', (error) => {
      // Our liveness locks are gone: other workers will take our jobs; stop running them here.
      logger.error('lost the liveness connection: stopping this worker', { error: error.message })
      void stop()
    })
    await recoverDeadWorkers(pool, o.staleAfterMs ?? 30_000, logger)
  } catch (error) {
    await cleanup()
    throw error
  }

  const events: WorkerEvents = new EventEmitter() as WorkerEvents
  events.on('worker:create', ({ worker }) => {
    liveness
      .query('SELECT pg_advisory_lock($1, hashtext($2))', [LIVENESS_LOCK_CLASS, worker.workerId])
      .catch((error: Error) =>
        logger.error('could not take a liveness lock', { workerId: worker.workerId, error: error.message }),
      )
  })

  const taskList: Record<string, Task> = {}
  for (const [name, handler] of Object.entries(o.tasks)) {
    taskList[name] = async (payload: unknown, h: GraphileHelpers) => {
      const signal = h.abortSignal
        ? AbortSignal.any([interruption.signal, h.abortSignal])
        : interruption.signal
      const log = logger.child({ task: name, jobId: h.job.id, attempt: h.job.attempts })
      const started = performance.now()
      log.info('job started')
      const seconds = () => (performance.now() - started) / 1000
      try {
        await handler(payload, {
          jobId: h.job.id,
          attempts: h.job.attempts,
          maxAttempts: h.job.max_attempts,
          logger: log,
          signal,
        })
        log.info('job done', { ms: Math.round(performance.now() - started) })
        observeJobRun(o.domain, name, 'done', seconds())
      } catch (error) {
        observeJobRun(o.domain, name, interruption.signal.aborted ? 'interrupted' : 'failed', seconds())
        if (interruption.signal.aborted) {
          // Stopped by us, not failed: the attempt is given back and the job is free again once this returns.
          await h.withPgClient((client) =>
            client.query(
              `UPDATE ${QUEUE_SCHEMA}._private_jobs SET attempts = GREATEST(attempts - 1, 0) WHERE id = $1`,
              [h.job.id],
            ),
          )
          log.warn('job interrupted by the worker stopping; it will run again', {
            ms: Math.round(performance.now() - started),
          })
        } else {
          log.error('job failed', {
            error,
            willRetry: h.job.attempts < h.job.max_attempts,
          })
        }
        throw error
      }
    }
  }

  let runner: Awaited<ReturnType<typeof run>>
  try {
    runner = await run({
      pgPool: pool,
      concurrency,
      noHandleSignals: true,
      pollInterval: o.pollIntervalMs ?? 2_000,
      taskList,
      parsedCronItems,
      logger: glogger,
      events,
      // Our signal is aborted at once on stop; graphile's own one a little later, for tasks that ignore ours.
      gracefulShutdownAbortTimeout: 30_000,
    })
  } catch (error) {
    await cleanup()
    throw error
  }
  runnerStop = () => runner.stop()
  timer = setInterval(() => {
    recoverDeadWorkers(pool, o.staleAfterMs ?? 30_000, logger).catch((error: Error) =>
      logger.warn('looking for dead workers failed', { error: error.message }),
    )
  }, o.recoverIntervalMs ?? 60_000)
  timer.unref()
  logger.info('worker started', {
    host: hostname(),
    pid: process.pid,
    concurrency,
    nice: getPriority(0),
    tasks: Object.keys(o.tasks),
    cron: parsedCronItems.map((c) => c.identifier),
  })

  const done = runner.promise.finally(cleanup)
  done.catch(() => {})
  function stop(): Promise<void> {
    stopping ??= (async () => {
      logger.info('worker stopping')
      interruption.abort(new JobInterruptedError())
      await runnerStop?.().catch((error: Error) => logger.warn('worker stop', { error: error.message }))
      await done.catch(() => {})
      logger.info('worker stopped')
    })()
    return stopping
  }
  return { stop, done }
}
