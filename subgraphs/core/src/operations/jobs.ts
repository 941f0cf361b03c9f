import type { DomainJobs } from '@pm/jobs'
import { gatewayCacheInvalidation, type OperationKind } from '@pm/operations'
import { executeRun, insertRun, OPERATION_TASK, type RunDeps } from './runs'

/** Scheduled operations: task name → the run it records and executes. */
const SCHEDULED: Record<string, { kind: OperationKind; dryRun?: boolean }> = {
  'operations:upkeep': { kind: 'upkeep' },
  'operations:backup': { kind: 'backup' },
  'operations:backup-verify': { kind: 'backup_verify' },
  'operations:integrity': { kind: 'integrity_check' },
  'operations:report': { kind: 'report' },
}

/**
 * The operations worker (core's jobs): runs queued operation runs and, on its crontab (UTC), the daily
 * partition and expiry upkeep (02:15), the daily backups with their retention (03:00), the nightly integrity
 * check (03:30), the weekly restore drill (Sunday 04:30) and an hourly health report. It needs every
 * database's URL (DATABASE_URL or DB_<DOMAIN>_URL) and the storage backups go to.
 */
export const operationJobs: DomainJobs<'core'> = {
  tasks: (context) => {
    const { env } = context
    const gatewayCache = gatewayCacheInvalidation(env, context.logger, 'pm-operations-worker')
    const deps: RunDeps = {
      db: context.database.db,
      storage: context.storage,
      env,
      logger: context.logger,
      invalidate: (domains) => gatewayCache.invalidate(domains),
    }
    const scheduled = Object.fromEntries(
      Object.entries(SCHEDULED).map(([task, request]) => [
        task,
        async (_payload: unknown, helpers: { signal: AbortSignal }) => {
          const run = await insertRun(deps.db, { ...request, source: 'schedule' })
          await executeRun(deps, run.id, helpers.signal)
        },
      ]),
    )
    return {
      [OPERATION_TASK]: async (payload: { runId?: unknown }, helpers) => {
        if (typeof payload?.runId !== 'string') throw new Error(`${OPERATION_TASK}: the payload has no runId`)
        await executeRun(deps, payload.runId, helpers.signal)
      },
      ...scheduled,
    }
  },
  crontab: [
    '15 2 * * * operations:upkeep ?fill=1d',
    '0 3 * * * operations:backup ?fill=1d',
    '30 3 * * * operations:integrity ?fill=1d',
    '30 4 * * 0 operations:backup-verify',
    '5 * * * * operations:report',
  ].join('\n'),
}
