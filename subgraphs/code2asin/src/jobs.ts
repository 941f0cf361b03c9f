import { loadConnectorSettings } from '@pm/connectors'
import type { DomainJobs, JobsContext } from '@pm/jobs'
import { MATCH_TASK } from './engine/queue'
import { type EngineDeps, engineSettings, runMatchJob } from './engine/run'
import { gatewayInvalidator } from './services'

/** What the matching task works with, from the worker's context and environment. */
export function matchEngine(context: JobsContext<'code2asin'>): EngineDeps {
  const { env } = context
  return {
    invalidate: gatewayInvalidator(env, context.logger, 'pm-code2asin-worker'),
    db: context.database.db,
    storage: context.storage,
    peers: context.peers,
    settings: loadConnectorSettings(env),
    logger: context.logger,
    ...engineSettings(env),
  }
}

/** The code2asin worker: one task runs a matching job ({ jobId }), resuming it from its checkpoint. */
export const jobs: DomainJobs<'code2asin'> = {
  tasks: (context) => {
    const deps = matchEngine(context)
    return {
      [MATCH_TASK]: async (payload: { jobId?: unknown }, helpers) => {
        if (typeof payload?.jobId !== 'string') throw new Error(`${MATCH_TASK}: the payload has no jobId`)
        await runMatchJob(deps, payload.jobId, helpers.signal)
      },
    }
  },
}
