import { subgraphCacheInvalidator } from '@pm/cache'
import { loadConnectorSettings } from '@pm/connectors'
import type { DomainJobs, JobsContext } from '@pm/jobs'
import { createRedis, requireSecret, SIGNING_SECRET_ENV } from '@pm/service-kit'
import { type ExportDeps, runExportJob } from './run/export-job'
import { EXPORT_TASK } from './run/queue'

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number) {
  const raw = env[name]?.trim()
  if (!raw) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}`)
  }
  return value
}

/** A running job whose heartbeat is older than this has lost its worker (EXPORT_LEASE_SECONDS, default 60). */
export const exportLeaseSeconds = (env: NodeJS.ProcessEnv) => int(env, 'EXPORT_LEASE_SECONDS', 60, 2, 3_600)

/** What the export task works with, from the worker's context and environment. */
export function exportEngine(context: JobsContext<'exports'>): ExportDeps {
  const { env } = context
  const cacheOn = !/^(false|0|no)$/i.test(env.GATEWAY_CACHE?.trim() ?? '')
  const redisUrl = env.REDIS_URL?.trim()
  const gatewayCache = subgraphCacheInvalidator(
    cacheOn && redisUrl ? createRedis(redisUrl, context.logger, 'pm-exports-worker') : undefined,
    env.GATEWAY_CACHE_NAME?.trim() || 'gateway',
  )
  return {
    db: context.database.db,
    storage: context.storage,
    graph: { url: context.gatewayUrl, secret: requireSecret(SIGNING_SECRET_ENV, env) },
    logger: context.logger,
    pageSize: int(env, 'EXPORT_PAGE_SIZE', 500, 1, 1_000),
    leaseSeconds: exportLeaseSeconds(env),
    allowPrivate: loadConnectorSettings(env).allowPrivate,
    shop: { retries: int(env, 'EXPORT_SHOP_RETRIES', 5, 0, 10) },
    invalidate: () => gatewayCache.invalidate(['exports']),
  }
}

/**
 * The exports worker: one task runs an export job ({ jobId }) to its feed file and delivery, resuming it from
 * its last committed page when its previous run died.
 */
export const jobs: DomainJobs<'exports'> = {
  tasks: (context) => {
    const deps = exportEngine(context)
    return {
      [EXPORT_TASK]: async (payload: { jobId?: unknown }, helpers) => {
        if (typeof payload?.jobId !== 'string') throw new Error(`${EXPORT_TASK}: the payload has no jobId`)
        await runExportJob(deps, payload.jobId, helpers.signal)
      },
    }
  },
}
