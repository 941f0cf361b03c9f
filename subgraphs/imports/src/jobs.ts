import { loadConnectorSettings } from '@pm/connectors'
import type { DomainJobs } from '@pm/jobs'
import { engineSettings, runImportJob } from './run/import-job'
import { IMPORT_TASK, SCHEDULES_TASK } from './run/queue'
import { startDueSchedules } from './run/schedules'

/**
 * The imports worker: one task runs an import job ({ jobId }), resuming it from its checkpoint when its
 * previous run died; the crontab starts the due schedules every minute.
 */
export const jobs: DomainJobs<'imports'> = {
  tasks: (context) => {
    const deps = {
      db: context.database.db,
      storage: context.storage,
      peers: context.peers,
      settings: loadConnectorSettings(context.env),
      logger: context.logger,
      ...engineSettings(context.env),
    }
    return {
      [IMPORT_TASK]: async (payload: { jobId?: unknown }, helpers) => {
        if (typeof payload?.jobId !== 'string') throw new Error(`${IMPORT_TASK}: the payload has no jobId`)
        await runImportJob(deps, payload.jobId, helpers.signal)
      },
      [SCHEDULES_TASK]: async () => {
        await startDueSchedules(deps.db, deps.logger)
      },
    }
  },
  crontab: `* * * * * ${SCHEDULES_TASK}`,
}
