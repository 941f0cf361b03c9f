import type { DB } from '@pm/db/types/imports'
import type { Logger } from '@pm/service-kit'
import type { Kysely } from 'kysely'
import { nextRun, parseCron } from '../cron'
import { claimDueSchedules, markScheduleRun } from '../db/engine'
import { insertLogs } from '../db/writes'
import { enqueueImport } from './queue'

/** Due schedules started per run of the task (the rest wait a minute). */
const PER_RUN = 50

/**
 * Starts the imports of the due schedules: each due run claimed once (SKIP LOCKED, and one job per schedule
 * and due time), its last_run and next_run moved on from the cron expression, and a pending job reading the
 * configuration's connection queued, all in one transaction. Returns the jobs started.
 */
export async function startDueSchedules(db: Kysely<DB>, logger: Logger): Promise<string[]> {
  const started = await db.transaction().execute(async (trx) => {
    const due = await claimDueSchedules(trx, PER_RUN)
    const jobs: string[] = []
    for (const schedule of due) {
      let next: Date | null = null
      try {
        next = nextRun(parseCron(schedule.cron_expression), new Date())
      } catch (error) {
        logger.warn('import schedule has a cron expression that no longer parses; deactivated', {
          scheduleId: schedule.id,
          error: String(error),
        })
      }
      await markScheduleRun(trx, schedule.id, schedule.next_run, next)
      if (next === null) {
        await trx
          .updateTable('import_schedules')
          .set({ is_active: false })
          .where('id', '=', schedule.id)
          .execute()
      }
      const config = await trx
        .selectFrom('import_configs')
        .select(['id', 'supplier_code', 'import_type'])
        .where('id', '=', schedule.config_id)
        .executeTakeFirstOrThrow()
      const job = await trx
        .insertInto('import_jobs')
        .values({
          config_id: config.id,
          supplier_code: config.supplier_code,
          import_type: config.import_type,
          status: 'pending',
          source: JSON.stringify({ kind: 'connection' }),
          schedule_id: schedule.id,
          scheduled_for: schedule.next_run,
        })
        .onConflict((oc) =>
          oc.columns(['schedule_id', 'scheduled_for']).where('schedule_id', 'is not', null).doNothing(),
        )
        .returning('id')
        .executeTakeFirst()
      if (!job) continue
      await insertLogs(trx, job.id, [
        {
          level: 'info',
          message: `started by schedule ${schedule.id} (${schedule.cron_expression})`,
          row_number: null,
          details: { scheduleId: schedule.id, dueAt: schedule.next_run },
        },
      ])
      await enqueueImport(trx, job.id)
      jobs.push(job.id)
    }
    return jobs
  })
  if (started.length > 0) logger.info('scheduled imports started', { jobs: started })
  return started
}
