import type { DB } from '@pm/db/types/code2asin'
import { releasedForRetry } from '@pm/jobs'
import {
  badUserInput,
  ErrorCode,
  inTransaction,
  lockRow,
  notFound,
  recordAudit,
  rowInputError,
  unknownProductIds,
  updateAudited,
  userError,
} from '@pm/service-kit'
import { GraphQLError } from 'graphql'
import { type Selectable, sql } from 'kysely'
import { catalogProductCount, supplierProductCount } from '../catalog'
import type { Context } from '../context'
import { toCode2AsinJob, toCode2AsinResult } from '../db/mappers'
import {
  type Code2AsinTrx,
  hasFailedLookups,
  insertJob,
  insertNewResults,
  refreshJobProgress,
} from '../db/writes'
import { AccountProblem, readSpApiAccount, SP_API_SETTING, type SpApiAccount } from '../engine/account'
import type { ProviderConfig, SpApiSettingConfig } from '../engine/config'
import { checkLookupUpload } from '../engine/files'
import { enqueueMatch } from '../engine/queue'
import { SP_API_DEFAULTS } from '../engine/sp-api'
import type { Code2AsinResultRejection, MutationResolvers } from '../generated/graphql'
import {
  checkCreateJob,
  checkResult,
  MAX_RESULTS_PER_CALL,
  type ResultValues,
  resultKey,
} from '../validation'

type JobRow = Selectable<DB['code2asin_jobs']>

/** Statuses that still take results: a completed job too, so that a retried last batch stays harmless. */
const OPEN_FOR_RESULTS = new Set(['pending', 'running', 'completed'])
const CANCELLABLE = new Set(['pending', 'running'])
const RESUMABLE = new Set(['failed', 'cancelled'])

const counters = (job: JobRow) => ({
  status: job.status,
  processedCodes: job.processed_codes,
  successfulConversions: job.successful_conversions,
  failedConversions: job.failed_conversions,
  exactMatches: job.exact_matches,
  fuzzyMatches: job.fuzzy_matches,
  noMatches: job.no_matches,
  progressPercentage: job.progress_percentage,
})

/** The products of a job created for a set of products (searchConfig.productIds); null for a supplier job. */
function jobProductIds(job: JobRow): Set<string> | null {
  const config = job.search_config as { productIds?: unknown } | null
  return Array.isArray(config?.productIds) ? new Set(config.productIds.map(String)) : null
}

const jobNotFound = (field: string) => () => notFound(`${field}: no code2asin job has this id`, { field })

/** The job row, locked: every writer of a job's results or status goes through this lock first. */
export async function lockedJob(trx: Code2AsinTrx, id: string, field: string) {
  const job = await lockRow(trx, 'code2asin_jobs', id)
  if (!job) throw jobNotFound(field)()
  return job
}

/**
 * An SP-API job on the stored account: refused now when the app setting cannot be used (the worker reads it
 * again when it runs; its secrets never enter the job), its marketplace fixed (the job's, else the setting's).
 */
async function withStoredAccount(
  ctx: Context,
  provider: Omit<SpApiSettingConfig, 'marketplaceId'> & { marketplaceId: string | null },
): Promise<SpApiSettingConfig> {
  let account: SpApiAccount
  try {
    account = await readSpApiAccount(ctx.peers)
  } catch (error) {
    if (error instanceof AccountProblem) {
      throw badUserInput(`input.provider: ${error.message}`, {
        field: 'input.provider',
        setting: SP_API_SETTING,
      })
    }
    throw error
  }
  return {
    ...provider,
    marketplaceId: provider.marketplaceId ?? account.marketplaceId ?? SP_API_DEFAULTS.marketplaceId,
  }
}

export const code2AsinJobMutations = {
  createCode2AsinJob: async (_, { input }, ctx) => {
    const checked = checkCreateJob(input)
    const { target } = checked
    let totalCodes: number
    let supplierCode: string | null = null
    let searchConfig = checked.searchConfig
    if (target.kind === 'products') {
      const missing = await unknownProductIds(ctx.peers, target.productIds)
      if (missing.length > 0) {
        const id = missing[0]!
        const index = input.productIds!.indexOf(id)
        throw notFound(
          `input.productIds[${index}]: the catalog has no product ${id}` +
            (missing.length > 1 ? ` (${missing.length} ids are unknown)` : ''),
          { field: `input.productIds[${index}]` },
        )
      }
      totalCodes = target.productIds.length
      // The job's own list: what the worker processes and the only products whose results it accepts.
      searchConfig = { ...(searchConfig ?? {}), productIds: target.productIds }
    } else if (target.code !== null) {
      const supplier = await supplierProductCount(ctx, target.code)
      if (!supplier) {
        throw notFound(`input.supplierCode: the catalog has no supplier ${target.code}`, {
          field: 'input.supplierCode',
        })
      }
      if (supplier.productCount === 0) {
        throw badUserInput(`input.supplierCode: supplier ${supplier.code} has no products to match`, {
          field: 'input.supplierCode',
        })
      }
      totalCodes = supplier.productCount
      supplierCode = supplier.code
    } else {
      totalCodes = await catalogProductCount(ctx)
    }
    // A lookup table is read now, so that a bad one is refused before any job exists.
    if (checked.provider?.kind === 'lookup_table') await checkLookupUpload(ctx, checked.provider.uploadId)
    const provider: ProviderConfig | null =
      checked.provider?.kind === 'sp_api_setting'
        ? await withStoredAccount(ctx, checked.provider)
        : checked.provider
    return inTransaction(ctx, async (trx) => {
      const row = await insertJob(trx, {
        ...(checked.name !== null
          ? { name: checked.name }
          : supplierCode !== null
            ? { name: `Code2ASIN – ${supplierCode}` }
            : {}),
        status: 'pending',
        supplier_code: supplierCode,
        total_codes: totalCodes,
        ...(checked.batch_size !== null ? { batch_size: checked.batch_size } : {}),
        ...(checked.max_retries !== null ? { max_retries: checked.max_retries } : {}),
        search_config: searchConfig === null ? null : JSON.stringify(searchConfig),
        ...(provider
          ? {
              target: target.kind,
              provider_config: JSON.stringify(provider),
              auto_verify_confidence: checked.autoVerifyConfidence,
            }
          : {}),
        created_by: ctx.caller.userId,
      })
      if (provider) await enqueueMatch(trx, row.id)
      const job = toCode2AsinJob(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'code2asin_job',
        entityId: row.id,
        userId: ctx.caller.userId,
        // The product list can hold 10,000 ids: the entry keeps the caller's config and the count.
        changes: { after: { ...job, searchConfig: checked.searchConfig } },
        // job.provider is masked: the audit entry never holds the credentials.
      })
      return job
    })
  },

  recordAsinResults: (_, { jobId, results }, ctx) => {
    if (results.length === 0 || results.length > MAX_RESULTS_PER_CALL) {
      throw badUserInput(`results must hold 1 to ${MAX_RESULTS_PER_CALL} rows; send more in several calls`, {
        field: 'results',
      })
    }
    const rejected: Code2AsinResultRejection[] = []
    const accepted: { index: number; values: ResultValues }[] = []
    results.forEach((input, index) => {
      try {
        const refused = rowInputError(input)
        if (refused) throw refused
        accepted.push({ index, values: checkResult(`results[${index}]`, input) })
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error
        rejected.push({
          index,
          field: String(error.extensions.field ?? `results[${index}]`),
          code: String(error.extensions.code),
          message: error.message,
        })
      }
    })
    return inTransaction(ctx, async (trx) => {
      // The job's lock serialises its writers: the existence check below and the counters stay exact.
      const job = await lockedJob(trx, jobId, 'jobId')
      if (!OPEN_FOR_RESULTS.has(job.status)) {
        throw userError(ErrorCode.CONFLICT, `jobId: the job is ${job.status}; it takes no more results`, {
          field: 'jobId',
        })
      }
      const members = jobProductIds(job)
      const seen = new Set<string>()
      const fresh: ResultValues[] = []
      let repeated = 0
      for (const { index, values } of accepted) {
        if (members && !members.has(values.product_id)) {
          const field = `results[${index}].productId`
          rejected.push({
            index,
            field,
            code: ErrorCode.BAD_USER_INPUT,
            message: `${field}: product ${values.product_id} is not one of this job's products`,
          })
          continue
        }
        // Twice in one call: the first one counts.
        const key = resultKey(values)
        if (seen.has(key)) repeated++
        else {
          seen.add(key)
          fresh.push(values)
        }
      }
      const recorded = await insertNewResults(trx, job.id, fresh)
      const after = recorded.length > 0 ? await refreshJobProgress(trx, job.id) : job
      if (recorded.length > 0) {
        await recordAudit(trx, {
          action: 'record_results',
          entityType: 'code2asin_job',
          entityId: job.id,
          userId: ctx.caller.userId,
          changes: {
            before: counters(job),
            after: counters(after),
            resultIds: recorded.map((r) => r.id),
          },
        })
      }
      return {
        job: toCode2AsinJob(after),
        recorded: recorded.map(toCode2AsinResult),
        unchangedCount: repeated + fresh.length - recorded.length,
        rejected: rejected.sort((a, b) => a.index - b.index),
      }
    })
  },

  resumeCode2AsinJob: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'code2asin_jobs',
        id,
        notFound: jobNotFound('id'),
        values: async (before) => {
          if (before.provider_config === null) {
            throw badUserInput('id: this job has no provider; its results are recorded by callers', {
              field: 'id',
            })
          }
          if (
            !RESUMABLE.has(before.status) &&
            !(before.status === 'completed' && before.failed_lookups > 0)
          ) {
            throw userError(
              ErrorCode.CONFLICT,
              `id: the job is ${before.status}; only a failed or cancelled job, or a completed one with failed lookups, can be resumed`,
              { field: 'id' },
            )
          }
          const failed = await hasFailedLookups(trx, id)
          return {
            ...releasedForRetry(),
            // Failed lookups lie behind the checkpoint: the worker walks the list again, skipping what is answered.
            ...(failed ? { checkpoint: 0 } : {}),
          }
        },
        view: toCode2AsinJob,
        afterUpdate: async () => {
          await enqueueMatch(trx, id)
        },
        audit: { entityType: 'code2asin_job', action: 'resume', userId: ctx.caller.userId },
      })
      return toCode2AsinJob(row)
    }),

  cancelCode2AsinJob: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'code2asin_jobs',
        id,
        notFound: jobNotFound('id'),
        values: (before) => {
          if (before.status === 'cancelled') return {}
          if (!CANCELLABLE.has(before.status)) {
            throw userError(
              ErrorCode.CONFLICT,
              `id: the job is ${before.status}; only a pending or running job can be cancelled`,
              { field: 'id' },
            )
          }
          return { status: 'cancelled', completed_at: sql<Date>`now()` }
        },
        view: toCode2AsinJob,
        audit: { entityType: 'code2asin_job', action: 'cancel', userId: ctx.caller.userId },
      })
      return toCode2AsinJob(row)
    }),
} satisfies MutationResolvers
