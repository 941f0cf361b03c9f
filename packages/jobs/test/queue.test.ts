import { createTestDatabase, type TestDatabase } from '@pm/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addJobInTransaction, addJobsInTransaction, jobQueue } from '../src'

let database: TestDatabase
let db: Kysely<any>

const queued = async () =>
  (
    await sql<{ task_identifier: string; key: string | null; payload: { n: number } }>`
      SELECT t.identifier AS task_identifier, j.key, j.payload
      FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id
      WHERE t.identifier = 'test:run' ORDER BY j.id
    `.execute(db)
  ).rows

beforeAll(async () => {
  database = await createTestDatabase('job_queue')
  db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url }) }) })
})
afterAll(async () => {
  await db?.destroy()
  await database?.drop()
})

describe('addJobInTransaction', () => {
  it('refuses (SERVICE_UNAVAILABLE, naming the worker to start) or skips while no worker installed the queue', async () => {
    const job = { task: 'test:run', payload: { n: 1 } }
    const refused = await db
      .transaction()
      .execute((trx) => addJobInTransaction(trx, 'exports', job, { workerName: 'export worker' }))
      .catch((error) => error)
    expect(refused.extensions?.code).toBe('SERVICE_UNAVAILABLE')
    expect(refused.message).toBe(
      'No export worker has run on this database yet: start one (pm worker --domain exports, or pnpm start), then try again',
    )
    await expect(addJobInTransaction(db, 'analytics', job, { whenMissing: 'skip' })).resolves.toBe(false)
  })

  it('queues with the rows of its transaction; a key replaces the waiting job that holds it', async () => {
    const queue = jobQueue('exports', database.url)
    // The schema as a worker installs it.
    await queue.add('test:setup', {})
    await queue.close()
    await expect(
      addJobInTransaction(db, 'exports', { task: 'test:run', payload: { n: 1 }, jobKey: 'k' }),
    ).resolves.toBe(true)
    await db.transaction().execute(async (trx) => {
      await addJobsInTransaction(trx, 'exports', [
        { task: 'test:run', payload: { n: 2 }, jobKey: 'k' },
        { task: 'test:run', payload: { n: 3 } },
      ])
    })
    // Rolled back: nothing queued.
    await db
      .transaction()
      .execute(async (trx) => {
        await addJobInTransaction(trx, 'exports', { task: 'test:run', payload: { n: 4 } })
        throw new Error('rollback')
      })
      .catch(() => {})
    expect(await queued()).toEqual([
      { task_identifier: 'test:run', key: 'k', payload: { n: 2 } },
      { task_identifier: 'test:run', key: null, payload: { n: 3 } },
    ])
  })
})
