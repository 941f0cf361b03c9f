import type { Logger } from '@pm/service-kit'
import type pg from 'pg'

/** The one schema our migrations do not make: graphile-worker installs and upgrades it in each domain database. */
export const QUEUE_SCHEMA = 'graphile_worker'

/** First key of the advisory locks that say "this worker is alive" (the second is hashtext(worker id)). */
export const LIVENESS_LOCK_CLASS = 0x706d6a62

/**
 * Jobs locked by a worker that has died (killed, crashed, lost its machine) stay locked for 4 hours in
 * graphile-worker. Each of our worker processes holds, on a connection of its own, one session advisory lock
 * per graphile worker id it runs: PostgreSQL releases them when that process's connection goes, so a lock
 * that can be taken belongs to a dead worker. This unlocks (graphile_worker.force_unlock_workers) the jobs
 * and queues of every worker whose lock is free and whose lock on a job is older than `staleAfterMs` (a
 * worker that has just started may not hold its liveness lock yet). Workers not started by startWorker hold
 * no such lock: do not run graphile-worker by other means on these databases.
 */
export async function recoverDeadWorkers(
  pool: pg.Pool,
  staleAfterMs: number,
  logger?: Logger,
): Promise<string[]> {
  const client = await pool.connect()
  try {
    const { rows } = await client.query<{ locked_by: string }>(
      `SELECT locked_by FROM ${QUEUE_SCHEMA}._private_jobs
        WHERE locked_by IS NOT NULL AND locked_at < now() - make_interval(secs => $1::float8 / 1000)
       UNION
       SELECT locked_by FROM ${QUEUE_SCHEMA}._private_job_queues
        WHERE locked_by IS NOT NULL AND locked_at < now() - make_interval(secs => $1::float8 / 1000)`,
      [staleAfterMs],
    )
    const dead: string[] = []
    for (const { locked_by: workerId } of rows) {
      const { rows: probe } = await client.query<{ free: boolean }>(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS free',
        [LIVENESS_LOCK_CLASS, workerId],
      )
      if (!probe[0]?.free) continue
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LIVENESS_LOCK_CLASS, workerId])
      dead.push(workerId)
    }
    if (dead.length > 0) {
      await client.query(`SELECT ${QUEUE_SCHEMA}.force_unlock_workers($1::text[])`, [dead])
      logger?.warn('released the jobs of dead workers', { workers: dead })
    }
    return dead
  } finally {
    client.release()
  }
}
