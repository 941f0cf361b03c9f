import {
  badUserInput,
  checkEnum,
  checkJsonObject,
  checkString,
  inTransaction,
  lockRow,
  notFound,
  recordAudit,
  unknownProductIds,
  updateAudited,
} from '@pm/service-kit'
import { toExportJob, toExportJobItem } from '../db/mappers'
import {
  countItemResult,
  insertItems,
  insertJob,
  type JobStatus,
  NOW_UTC,
  pendingItemCount,
  platformForShare,
  transitionValues,
} from '../db/writes'
import type { MutationResolvers } from '../generated/graphql'

/** Ids per question to catalog: one batched statement there, a body of ~50 KB here. */
const PRODUCT_CHUNK = 1_000

export const JOB_TYPES = [
  'full_sync',
  'incremental_sync',
  'price_update',
  'stock_update',
  'media_sync',
] as const
export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const
export const MAX_PRODUCTS = 10_000
/** How many unknown ids an error lists (the count is always given). */
const LISTED_UNKNOWN = 10
const MAX_MESSAGE = 10_000

/** The only moves a job makes; completed, failed and cancelled are final. */
const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  pending: ['running', 'cancelled'],
  running: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
}

function checkResponse(field: string, value: unknown) {
  if (value === null || value === undefined) return null
  if (Buffer.byteLength(JSON.stringify(value)) > 65_536) {
    throw badUserInput(`${field} is larger than 65536 bytes`, { field })
  }
  return JSON.stringify(value)
}

export const exportJobMutations = {
  createExportJob: async (_, { input }, ctx) => {
    const jobType = checkEnum('input.jobType', input.jobType, JOB_TYPES)
    const productIds = [...new Set(input.productIds)]
    if (productIds.length === 0) {
      throw badUserInput('input.productIds must name at least one product', { field: 'input.productIds' })
    }
    if (productIds.length > MAX_PRODUCTS) {
      throw badUserInput(
        `input.productIds names ${productIds.length} products; at most ${MAX_PRODUCTS} per job`,
        { field: 'input.productIds' },
      )
    }
    // Asked before the transaction opens: no lock is held while catalog answers, nothing is written if it cannot.
    const unknown = await unknownProductIds(ctx.peers, productIds, { chunk: PRODUCT_CHUNK })
    if (unknown.length > 0 && !input.skipUnknownProducts) {
      throw badUserInput(
        `input.productIds: ${unknown.length} product(s) are not in the catalog: ${unknown.slice(0, LISTED_UNKNOWN).join(', ')}${unknown.length > LISTED_UNKNOWN ? ', …' : ''} (remove them, or set skipUnknownProducts)`,
        {
          field: 'input.productIds',
          unknownProductIds: unknown.slice(0, LISTED_UNKNOWN),
          unknownCount: unknown.length,
        },
      )
    }
    const skipped = new Set(unknown)
    const known = productIds.filter((id) => !skipped.has(id))
    if (known.length === 0) {
      throw badUserInput('input.productIds: none of the products is in the catalog', {
        field: 'input.productIds',
      })
    }
    return inTransaction(ctx, async (trx) => {
      const platform = await platformForShare(trx, input.platformId)
      if (!platform) {
        throw notFound('input.platformId: no export platform has this id', { field: 'input.platformId' })
      }
      if (platform.is_active === false) {
        throw badUserInput('input.platformId: the platform is inactive', { field: 'input.platformId' })
      }
      const row = await insertJob(trx, {
        platform_id: input.platformId,
        job_type: jobType,
        status: 'pending',
        total_items: known.length,
        success_items: 0,
        failed_items: 0,
      })
      await insertItems(trx, row.id, known)
      const job = toExportJob(row)
      // One entry for the job; its items are in export_job_items, the ids left out are listed here.
      await recordAudit(trx, {
        action: 'create',
        entityType: 'export_job',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: job, itemCount: known.length, skippedProductIds: unknown },
      })
      return { job, skippedProductIds: unknown }
    })
  },

  setExportJobStatus: (_, args, ctx) => {
    const to = checkEnum('status', args.status, JOB_STATUSES)
    return inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'export_jobs',
        id: args.id,
        notFound: () => notFound('id: no export job has this id', { field: 'id' }),
        values: async (before) => {
          const from = before.status as JobStatus
          // The status it already has is a retry, not a move: nothing changes.
          if (from === to) return {}
          if (!NEXT[from]?.includes(to)) {
            const allowed = NEXT[from]?.length ? NEXT[from].join(' or ') : 'nothing (it is final)'
            throw badUserInput(
              `status: a ${from} job cannot become ${to}; from ${from} it can become ${allowed}`,
              { field: 'status', status: from },
            )
          }
          if (to === 'completed') {
            const pending = await pendingItemCount(trx, args.id)
            if (pending > 0) {
              throw badUserInput(
                `status: ${pending} item(s) are still pending; record their results, or fail or cancel the job`,
                { field: 'status', status: from },
              )
            }
          }
          return transitionValues(to)
        },
        view: toExportJob,
        audit: { entityType: 'export_job', userId: ctx.caller.userId },
      })
      const job = toExportJob(row)
      return job
    })
  },

  recordExportItemResult: (_, args, ctx) => {
    const status = checkEnum('status', args.status, ['success', 'failed'] as const)
    const errorMessage = checkString('errorMessage', args.errorMessage, { max: MAX_MESSAGE })
    if (errorMessage !== null && status !== 'failed') {
      throw badUserInput('errorMessage goes with status failed only', { field: 'errorMessage' })
    }
    const responseData = checkResponse('responseData', args.responseData)
    const exportedData = checkJsonObject('exportedData', args.exportedData)
    return inTransaction(ctx, async (trx) => {
      let job: Awaited<ReturnType<typeof countItemResult>>
      const { row } = await updateAudited(trx, {
        table: 'export_job_items',
        id: args.itemId,
        notFound: () => notFound('itemId: no export job item has this id', { field: 'itemId' }),
        values: async (item) => {
          if (item.status !== 'pending') {
            // The same result again is a retry (a lost answer): nothing changes, nothing is counted twice.
            if (item.status === status) return {}
            throw badUserInput(`status: the item was already recorded as ${item.status}`, {
              field: 'status',
              status: item.status,
            })
          }
          job = item.job_id ? await countItemResult(trx, item.job_id, status) : undefined
          if (!job) {
            const current = item.job_id ? (await lockRow(trx, 'export_jobs', item.job_id))?.status : undefined
            throw badUserInput(
              `itemId: its job is ${current ?? 'missing'}; results are recorded while the job is running`,
              { field: 'itemId', status: current ?? null },
            )
          }
          return {
            status,
            error_message: errorMessage,
            ...(responseData !== null ? { response_data: responseData } : {}),
            ...(exportedData !== null ? { exported_data: JSON.stringify(exportedData) } : {}),
            processed_at: NOW_UTC,
          }
        },
        view: toExportJobItem,
        audit: {
          entityType: 'export_job_item',
          action: 'record_result',
          userId: ctx.caller.userId,
          extra: (item) => ({
            jobId: item.job_id,
            ...(job?.status === 'completed' ? { jobCompleted: true } : {}),
          }),
        },
      })
      if (!job) return toExportJobItem(row)
      if (job.status === 'completed') {
        await recordAudit(trx, {
          action: 'update',
          entityType: 'export_job',
          entityId: job.id,
          userId: ctx.caller.userId,
          changes: {
            before: { status: 'running' },
            after: { status: 'completed', completedAt: job.completed_at, reason: 'last item recorded' },
          },
        })
      }
      return toExportJobItem(row)
    })
  },
} satisfies MutationResolvers
