import { releasedForRetry } from '@pm/jobs'
import {
  badUserInput,
  checkString,
  ErrorCode,
  inTransaction,
  notFound,
  recordAudit,
  updateAudited,
  userError,
} from '@pm/service-kit'
import { sql } from 'kysely'
import { toExportJob } from '../db/mappers'
import { insertJob, lastExportStart, platformForShare, reopenUnsentItems, runnerLive } from '../db/writes'
import { platformMapping, RuleConfigError } from '../engine/mapping'
import type { MutationResolvers } from '../generated/graphql'
import { exportLeaseSeconds } from '../jobs'
import type { ExportSelection } from '../run/export-job'
import { enqueueExport } from '../run/queue'

const MAX_IDS = 10_000

export const exportMutations = {
  startExport: async (_, { input }, ctx) => {
    const s = input.selection ?? {}
    const selection: ExportSelection = {}
    if (s.supplierId) selection.supplierId = s.supplierId
    if (s.categoryId) selection.categoryId = s.categoryId
    const status = checkString('input.selection.status', s.status ?? null, { max: 50 })
    if (status) selection.status = status
    if (s.productIds) {
      const ids = [...new Set(s.productIds)]
      if (ids.length === 0 || ids.length > MAX_IDS) {
        throw badUserInput(`input.selection.productIds must name 1 to ${MAX_IDS} products`, {
          field: 'input.selection.productIds',
        })
      }
      selection.productIds = ids
    }
    return inTransaction(ctx, async (trx) => {
      const platform = await platformForShare(trx, input.platformId)
      if (!platform) {
        throw notFound('input.platformId: no export platform has this id', { field: 'input.platformId' })
      }
      if (platform.is_active === false) {
        throw badUserInput('input.platformId: the platform is inactive', { field: 'input.platformId' })
      }
      try {
        platformMapping(platform.field_mappings)
      } catch (error) {
        if (!(error instanceof RuleConfigError)) throw error
        throw badUserInput(
          `input.platformId: the platform's field mappings are invalid (${error.message}); fix them with updateExportPlatform`,
          { field: 'input.platformId' },
        )
      }
      if (s.changedSinceLastExport) {
        const since = await lastExportStart(trx, input.platformId)
        if (since) selection.updatedSince = since
      }
      const row = await insertJob(trx, {
        platform_id: input.platformId,
        job_type: s.changedSinceLastExport ? 'incremental_sync' : 'full_sync',
        status: 'pending',
        total_items: 0,
        success_items: 0,
        failed_items: 0,
        format: input.format.toLowerCase(),
        selection: JSON.stringify(selection),
        created_by: ctx.caller.userId,
      })
      await enqueueExport(trx, row.id)
      const job = toExportJob(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'export_job',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: { ...job, fileKey: undefined } },
      })
      return job
    })
  },

  /**
   * Runs a failed or cancelled export again from where it stopped: the pages already committed are not read
   * again, the items already delivered not sent again; the items the failure left unsent (failed with no
   * answer from the shop) are pending again, and those that may have reached the shop are looked up there.
   */
  resumeExport: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      let reopenedItems = 0
      const { row } = await updateAudited(trx, {
        table: 'export_jobs',
        id,
        notFound: () => notFound('id: no export job has this id', { field: 'id' }),
        values: async (before) => {
          if (before.format === null) {
            throw badUserInput(
              'id: the job was not started by startExport (its items are recorded by a caller): there is nothing to resume',
              { field: 'id' },
            )
          }
          if (before.status !== 'failed' && before.status !== 'cancelled') {
            const why =
              before.status === 'completed'
                ? 'it has completed: start a new export instead'
                : before.status === 'running'
                  ? 'it is running (a job whose worker stops is taken up again by the next one)'
                  : 'it is waiting for the worker'
            throw userError(
              ErrorCode.CONFLICT,
              `id: the job is ${before.status}; only a failed or cancelled job can be resumed: ${why}`,
              { field: 'id', status: before.status },
            )
          }
          if (before.status === 'cancelled' && before.runner_id !== null) {
            // The runner of a job cancelled while running lets go at its next step; until then it may be mid-call.
            if (await runnerLive(trx, id, exportLeaseSeconds(ctx.env))) {
              throw userError(
                ErrorCode.CONFLICT,
                'id: the job was cancelled while running and its worker is still stopping; try again in a moment',
                { field: 'id', status: before.status },
              )
            }
          }
          const platform = before.platform_id ? await platformForShare(trx, before.platform_id) : undefined
          if (!platform) throw notFound('id: the job has no export platform any more', { field: 'id' })
          if (platform.is_active === false) {
            throw badUserInput("id: the job's platform is inactive; activate it to resume the job", {
              field: 'id',
            })
          }
          // Items the failure gave up on (a row to send, no answer of the shop) are to be sent again.
          const n = await reopenUnsentItems(trx, id)
          reopenedItems = n
          const phase = before.phase ?? 'collect'
          return {
            ...releasedForRetry(),
            failed_items: sql<number>`GREATEST(COALESCE(failed_items, 0) - ${n}, 0)`,
            // A cancel deletes the feed file: it is written again from the staged pages.
            ...(before.status === 'cancelled' && (phase === 'deliver' || phase === 'done')
              ? { phase: 'assemble', file_key: null, file_size: null, file_sha256: null }
              : {}),
          }
        },
        view: (job) => ({ ...toExportJob(job), phase: job.phase }),
        afterUpdate: async () => {
          await enqueueExport(trx, id, { fresh: true })
          return { reopenedItems }
        },
        audit: { entityType: 'export_job', action: 'resume', userId: ctx.caller.userId },
      })
      const job = toExportJob(row)
      return job
    }),
} satisfies MutationResolvers
