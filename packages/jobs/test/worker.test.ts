import { spawn } from 'node:child_process'
import type { Logger } from '@pm/service-kit'
import { createTestDatabase, type TestDatabase } from '@pm/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type JobQueue,
  jobQueue,
  QUEUE_SCHEMA,
  type RunningWorker,
  recoverDeadWorkers,
  startWorker,
  validateCrontab,
} from '../src'

const ROOT = new URL('../../../', import.meta.url).pathname

const quiet: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => quiet,
}

function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Polls `check` until it is truthy (on a loaded machine, however long that takes within the test timeout). */
async function until<T>(check: () => Promise<T | undefined | null | false>, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await check()
    if (value) return value
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

let database: TestDatabase
let pool: pg.Pool
let queue: JobQueue
const workers: RunningWorker[] = []

beforeAll(async () => {
  database = await createTestDatabase('jobs')
  pool = new pg.Pool({ connectionString: database.url, max: 4 })
  await pool.query('CREATE TABLE job_runs (name text NOT NULL, attempt int NOT NULL, worker text NOT NULL)')
  await pool.query('CREATE TABLE batches (name text NOT NULL, batch int NOT NULL, PRIMARY KEY (name, batch))')
  queue = jobQueue('imports', database.url)
})

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()))
  await queue?.close()
  await pool?.end()
  await database?.drop()
})

async function jobRow(name: string) {
  const { rows } = await pool.query(
    `SELECT id, attempts, locked_by, last_error FROM ${QUEUE_SCHEMA}._private_jobs WHERE payload->>'name' = $1`,
    [name],
  )
  return rows[0] as
    | { id: string; attempts: number; locked_by: string | null; last_error: string | null }
    | undefined
}

describe('@pm/jobs', () => {
  it('runs a queued job with its payload, then removes it from the queue', async () => {
    const ran = deferred<{ payload: unknown; attempts: number }>()
    const worker = await startWorker({
      domain: 'imports',
      connectionString: database.url,
      logger: quiet,
      tasks: {
        async greet(payload, helpers) {
          ran.resolve({ payload, attempts: helpers.attempts })
        },
      },
    })
    workers.push(worker)
    await queue.add('greet', { name: 'first', rows: 3 })
    expect(await ran.promise).toEqual({ payload: { name: 'first', rows: 3 }, attempts: 1 })
    await until(async () => (await jobRow('first')) === undefined, 'the completed job to leave the queue')
    await worker.stop()
  })

  it('stops a running job after its current batch; another worker resumes it without using an attempt', async () => {
    const batches = 10
    const reached = deferred()
    // Commits batches from the last committed one; stops between batches when the worker stops.
    const importTask =
      (worker: string, onBatch?: (batch: number) => Promise<void>) =>
      async (payload: { name: string }, helpers: { attempts: number; signal: AbortSignal }) => {
        await pool.query('INSERT INTO job_runs VALUES ($1, $2, $3)', [payload.name, helpers.attempts, worker])
        const { rows } = await pool.query(
          'SELECT coalesce(max(batch) + 1, 0) AS next FROM batches WHERE name = $1',
          [payload.name],
        )
        for (let batch = rows[0].next as number; batch < batches; batch++) {
          helpers.signal.throwIfAborted()
          await pool.query('INSERT INTO batches VALUES ($1, $2)', [payload.name, batch])
          await onBatch?.(batch)
        }
      }
    const a = await startWorker({
      domain: 'imports',
      connectionString: database.url,
      logger: quiet,
      tasks: {
        long_import: importTask('a', async (batch) => {
          if (batch !== 2) return
          reached.resolve()
          // Holds the job here until the worker is told to stop.
          await new Promise((resolve) => a_signal.then(resolve))
        }),
      },
    })
    const stopping = deferred()
    const a_signal = stopping.promise
    workers.push(a)
    await queue.add('long_import', { name: 'resumable' })
    await reached.promise
    const stopped = a.stop()
    stopping.resolve()
    await stopped

    const afterStop = await jobRow('resumable')
    expect(afterStop).toMatchObject({ attempts: 0, locked_by: null })
    expect(afterStop!.last_error).toMatch(/worker is stopping/)
    expect(
      (await pool.query("SELECT count(*)::int AS n FROM batches WHERE name = 'resumable'")).rows[0].n,
    ).toBe(3)

    const b = await startWorker({
      domain: 'imports',
      connectionString: database.url,
      logger: quiet,
      pollIntervalMs: 200,
      tasks: { long_import: importTask('b') },
    })
    workers.push(b)
    await until(async () => (await jobRow('resumable')) === undefined, 'worker b to finish the job')
    const { rows } = await pool.query("SELECT batch FROM batches WHERE name = 'resumable' ORDER BY batch")
    expect(rows.map((r) => r.batch)).toEqual([...Array(batches).keys()])
    const runs = await pool.query(
      "SELECT worker, attempt FROM job_runs WHERE name = 'resumable' ORDER BY worker",
    )
    expect(runs.rows).toEqual([
      { worker: 'a', attempt: 1 },
      { worker: 'b', attempt: 1 },
    ])
    await b.stop()
  })

  it("releases a killed worker's job: the next worker to start runs it", async () => {
    await queue.add('long_import', { name: 'orphan' })
    // node itself (not the tsx wrapper, whose child would survive the kill).
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'packages/jobs/test/fixtures/hanging-worker.ts', database.url],
      { cwd: ROOT, stdio: 'ignore' },
    )
    try {
      await until(
        async () => (await pool.query("SELECT 1 FROM job_runs WHERE name = 'orphan'")).rowCount,
        'the child to take the job',
      )
      // Alive: however old its lock, a live worker's job is not taken from it.
      expect(await recoverDeadWorkers(pool, 0)).toEqual([])
      expect((await jobRow('orphan'))?.locked_by).toBeTruthy()
    } finally {
      child.kill('SIGKILL')
    }
    await new Promise((resolve) => child.once('exit', resolve))
    // PostgreSQL ends the killed process's sessions (and their locks) once it sees the sockets close.
    await until(
      async () =>
        (
          await pool.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'pm-worker-imports-alive'",
          )
        ).rows[0].n === 0,
      'the killed worker’s sessions to end',
    )
    const ran = deferred<number>()
    const c = await startWorker({
      domain: 'imports',
      connectionString: database.url,
      logger: quiet,
      staleAfterMs: 0,
      pollIntervalMs: 200,
      tasks: {
        async long_import(payload: { name: string }, helpers) {
          if (payload.name === 'orphan') ran.resolve(helpers.attempts)
        },
      },
    })
    workers.push(c)
    // The killed run counted as an attempt: this is the second.
    expect(await ran.promise).toBe(2)
    await until(async () => (await jobRow('orphan')) === undefined, 'the recovered job to complete')
    await c.stop()
  })

  it("queues crontab runs through graphile-worker's scheduler, backfilling the runs it missed", async () => {
    const runs: Array<{ source: string; _cron: { ts: string; backfilled: boolean } }> = []
    const backfilledRuns = deferred()
    // The schedule has been known for 10 minutes and last ran 3 minutes ago: the runs since are owed.
    await pool.query(
      `INSERT INTO ${QUEUE_SCHEMA}._private_known_crontabs (identifier, known_since, last_execution)
       VALUES ('minutely-probe', now() - interval '10 minutes', date_trunc('minute', now()) - interval '3 minutes')`,
    )
    const worker = await startWorker({
      domain: 'imports',
      connectionString: database.url,
      logger: quiet,
      pollIntervalMs: 200,
      crontab: '* * * * * cron_probe ?fill=5m&id=minutely-probe {"source":"cron"}',
      tasks: {
        async cron_probe(payload) {
          runs.push(payload)
          if (runs.filter((r) => r._cron.backfilled).length >= 2) backfilledRuns.resolve()
        },
      },
    })
    workers.push(worker)
    await backfilledRuns.promise
    const backfilled = runs.filter((r) => r._cron.backfilled)
    expect(backfilled.every((r) => r.source === 'cron')).toBe(true)
    // One run per missed minute, each for a whole minute.
    const minutes = backfilled.map((r) => Date.parse(r._cron.ts))
    expect(new Set(minutes).size).toBe(minutes.length)
    expect(minutes.every((t) => t % 60_000 === 0)).toBe(true)
    await worker.stop()
  })

  it('refuses a crontab that does not parse or names an unknown task', async () => {
    expect(validateCrontab('0 4 * * * nightly ?fill=1d', { nightly: true })).toHaveLength(1)
    expect(() => validateCrontab('0 4 * * * nightly', { other: true })).toThrow(/"nightly"/)
    expect(() => validateCrontab('61 4 * * * nightly', { nightly: true })).toThrow()
    await expect(
      startWorker({
        domain: 'imports',
        connectionString: database.url,
        logger: quiet,
        crontab: 'nonsense',
        tasks: {},
      }),
    ).rejects.toThrow()
  })
})
