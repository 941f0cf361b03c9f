import type { Logger } from '@pm/service-kit'
import { createTestDatabase, type TestDatabase } from '@pm/testing'
import { type Generated, Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { claimJobLease, JobInterruptedError } from '../src'

interface DB {
  jobs: {
    id: Generated<string>
    status: string
    runner_id: string | null
    heartbeat_at: Date | null
    started_at: Date | null
    phase: string | null
    format: string | null
  }
}

const infos: { message: string; fields: unknown }[] = []
const logger: Logger = {
  debug() {},
  info(message: string, fields?: unknown) {
    infos.push({ message, fields })
  },
  warn() {},
  error() {},
  child: () => logger,
} as unknown as Logger

let database: TestDatabase
let db: Kysely<DB>

async function until(check: () => boolean | Promise<boolean>, what: string) {
  for (let i = 0; i < 600; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const insertJob = async (values: Partial<Omit<DB['jobs'], 'id'>> = {}) =>
  (
    await db
      .insertInto('jobs')
      .values({ status: 'pending', format: 'csv', ...values })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id

const row = (id: string) => db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow()

const lease = (jobId: string, extra: { leaseSeconds?: number; signal?: AbortSignal } = {}) =>
  claimJobLease({
    db,
    table: 'jobs',
    label: 'test',
    jobId,
    leaseSeconds: extra.leaseSeconds ?? 60,
    logger,
    signal: extra.signal,
    claim: { phase: sql`COALESCE(phase, 'collect')` },
    runnable: (eb) => eb('format', 'is not', null),
    minHeartbeatMs: 200,
  })

beforeAll(async () => {
  database = await createTestDatabase('job_lease')
  db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url }) }),
  })
  await sql`CREATE TABLE jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    status text NOT NULL,
    runner_id uuid,
    heartbeat_at timestamptz,
    started_at timestamptz,
    phase text,
    format text
  )`.execute(db)
}, 60_000)
afterAll(async () => {
  await db?.destroy()
  await database?.drop()
})
beforeEach(() => {
  infos.length = 0
})

describe('claimJobLease (real PostgreSQL)', () => {
  it('claims a pending job: running, under a fresh runner, beating, started once, with the claim columns', async () => {
    const id = await insertJob()
    // A 2 s lease beats every 500 ms.
    const first = await lease(id, { leaseSeconds: 2 })
    expect(first).toBeDefined()
    try {
      const claimed = await row(id)
      expect(claimed).toMatchObject({ status: 'running', runner_id: first!.runner, phase: 'collect' })
      expect(claimed.heartbeat_at).toBeInstanceOf(Date)
      expect(claimed.started_at).toBeInstanceOf(Date)
      expect(first!.job).toMatchObject({ id, status: 'running', runner_id: first!.runner })
      expect(first!.stopped()).toBe(false)
      // The heartbeat moves heartbeat_at on while the lease is held.
      const beat = claimed.heartbeat_at!.getTime()
      await until(async () => (await row(id)).heartbeat_at!.getTime() > beat, 'a heartbeat')
    } finally {
      first!.end()
    }
  })

  it('refuses a job a live runner holds (the queue retries), and leaves final or unrunnable jobs alone', async () => {
    const id = await insertJob()
    const first = await lease(id)
    try {
      await expect(lease(id)).rejects.toThrow(`test job ${id} is held by a live runner`)
    } finally {
      first!.end()
    }
    const done = await insertJob({ status: 'completed' })
    expect(await lease(done)).toBeUndefined()
    const noFormat = await insertJob({ format: null })
    expect(await lease(noFormat)).toBeUndefined()
    expect(await lease('00000000-0000-4000-8000-000000000000')).toBeUndefined()
    expect(infos.map((i) => i.fields)).toEqual([
      { jobId: done, status: 'completed' },
      { jobId: noFormat, status: 'missing' },
      { jobId: '00000000-0000-4000-8000-000000000000', status: 'missing' },
    ])
    expect((await row(noFormat)).status).toBe('pending')
  })

  it('takes over a running job whose heartbeat is older than the lease; the old runner sees it lost', async () => {
    const id = await insertJob()
    const first = await lease(id, { leaseSeconds: 2 })
    try {
      // The first runner's worker "dies": its heartbeat is made old instead of waiting for it.
      first!.end()
      await db
        .updateTable('jobs')
        .set({ heartbeat_at: sql`now() - interval '1 minute'` })
        .where('id', '=', id)
        .execute()
      const second = await lease(id, { leaseSeconds: 2 })
      expect(second).toBeDefined()
      second!.end()
      expect(second!.runner).not.toBe(first!.runner)
      expect((await row(id)).runner_id).toBe(second!.runner)
    } finally {
      first!.end()
    }
    // A runner still beating when the job is taken from it (or cancelled) finds out at its next beat.
    const other = await insertJob()
    const held = await lease(other, { leaseSeconds: 2 })
    try {
      await db.updateTable('jobs').set({ status: 'cancelled' }).where('id', '=', other).execute()
      await until(() => held!.stopped(), 'the lost lease to be noticed')
      expect(held!.interrupted()).toBe(false)
    } finally {
      held!.end()
    }
  })

  it('hands the job back when the worker stops: no runner, no heartbeat, JobInterruptedError, claimable again', async () => {
    const id = await insertJob()
    const controller = new AbortController()
    const first = await lease(id, { signal: controller.signal })
    first!.end()
    expect(first!.stopped()).toBe(false)
    controller.abort()
    expect(first!.stopped()).toBe(true)
    expect(first!.interrupted()).toBe(true)
    await expect(first!.handBack()).rejects.toBeInstanceOf(JobInterruptedError)
    expect(await row(id)).toMatchObject({ status: 'running', runner_id: null, heartbeat_at: null })
    const again = await lease(id)
    again!.end()
    expect((await row(id)).runner_id).toBe(again!.runner)
  })
})
