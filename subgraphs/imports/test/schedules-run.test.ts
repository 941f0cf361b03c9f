import { createLogger } from '@pm/service-kit'
import { startTestSubgraph, type TestSubgraph } from '@pm/testing/subgraph'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subgraph } from '../src/module'
import { startDueSchedules } from '../src/run/schedules'

let sg: TestSubgraph<'imports'>
const logger = createLogger({ service: 'test-schedules' }, 'error')

beforeAll(async () => {
  sg = await startTestSubgraph(subgraph)
  // The queue's schema, as a worker installs it (graphile-worker's own migrations).
  const { makeWorkerUtils } = await import('graphile-worker')
  const utils = await makeWorkerUtils({ connectionString: sg.testDatabase.url })
  await utils.migrate()
  await utils.release()
})
afterAll(() => sg?.stop())

describe('startDueSchedules', () => {
  it('starts each due run once, even from two workers at once, and moves last and next run on', async () => {
    const db = sg.database.db
    const config = await db
      .insertInto('import_configs')
      .values({
        supplier_code: 'SCHED',
        import_type: 'products',
        config_name: 'Nightly',
        connection_config: JSON.stringify({
          type: 'sftp',
          host: 'sftp.example',
          username: 'pm',
          path: '/out',
        }),
        field_mapping: JSON.stringify({ SKU: 'sku', Titre: 'title', EAN: 'ean' }),
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    const due = new Date(Date.now() - 60_000)
    const schedules = await db
      .insertInto('import_schedules')
      .values([
        { config_id: config.id, cron_expression: '*/5 * * * *', next_run: due },
        { config_id: config.id, cron_expression: '0 3 * * *', next_run: new Date(Date.now() + 3_600_000) },
        { config_id: config.id, cron_expression: '*/5 * * * *', next_run: due, is_active: false },
      ])
      .returning('id')
      .execute()

    const [a, b] = await Promise.all([startDueSchedules(db, logger), startDueSchedules(db, logger)])
    const started = [...a, ...b]
    expect(started).toHaveLength(1)
    const job = await db
      .selectFrom('import_jobs')
      .selectAll()
      .where('id', '=', started[0]!)
      .executeTakeFirstOrThrow()
    expect(job).toMatchObject({
      status: 'pending',
      schedule_id: schedules[0]!.id,
      source: { kind: 'connection' },
    })
    const queued = await sql<{ n: string }>`
      SELECT count(*) AS n FROM graphile_worker.jobs WHERE task_identifier = 'imports:run' AND key = ${`import:${job.id}`}
    `.execute(db)
    expect(Number(queued.rows[0]!.n)).toBe(1)
    const schedule = await db
      .selectFrom('import_schedules')
      .selectAll()
      .where('id', '=', schedules[0]!.id)
      .executeTakeFirstOrThrow()
    expect(schedule.last_run?.getTime()).toBe(due.getTime())
    expect(schedule.next_run!.getTime()).toBeGreaterThan(Date.now())
    expect(schedule.next_run!.getUTCMinutes() % 5).toBe(0)

    // Nothing is due any more.
    expect(await startDueSchedules(db, logger)).toEqual([])
    // The same due time claimed again (a replica that read it before the update) makes no second job.
    await db
      .updateTable('import_schedules')
      .set({ next_run: due })
      .where('id', '=', schedules[0]!.id)
      .execute()
    expect(await startDueSchedules(db, logger)).toEqual([])
  })
})
