import {
  badUserInput,
  checkCurrency,
  checkDecimal,
  checkEnum,
  checkInt,
  checkString,
  inTransaction,
} from '@pm/service-kit'
import { sql } from 'kysely'
import { IMPORT_END_STATUSES, lockJobFactDate, recomputeDays, upsertFacts, utcDay } from '../db/facts'
import { toAiUsageLog } from '../db/mappers'
import { insertAiUsageLog } from '../db/writes'
import { supplierIdsByCode } from '../engine/peers'
import type { MutationResolvers } from '../generated/graphql'
import { checkAuditName } from '../validation'

const count = (field: string, value: number) => checkInt(field, value, { min: 0 }) ?? 0

/** A clock a little ahead of ours is tolerated (another machine's), a day ahead is not. */
const FUTURE_SKEW_MS = 5 * 60_000

export const internalMutations = {
  /**
   * One import job's end: its facts replace any earlier report of the same job, and the figures of its day
   * (and of the day it was counted for before, if that changed) are recomputed in the same transaction.
   */
  recordImportJobEnd: async (_, { input }, ctx) => {
    const supplierCode = checkString('input.supplierCode', input.supplierCode, { max: 50 })
    if (input.endedAt.getTime() > Date.now() + FUTURE_SKEW_MS) {
      throw badUserInput('input.endedAt is in the future', { field: 'input.endedAt' })
    }
    const fact = {
      job_id: input.jobId,
      supplier_code: supplierCode,
      supplier_id: null as string | null,
      status: checkEnum('input.status', input.status, IMPORT_END_STATUSES),
      date: utcDay(input.endedAt),
      rows_processed: count('input.rowsProcessed', input.rowsProcessed),
      products_created: count('input.productsCreated', input.productsCreated),
      products_updated: count('input.productsUpdated', input.productsUpdated),
      rows_failed: count('input.rowsFailed', input.rowsFailed),
      duration_seconds: checkInt('input.durationSeconds', input.durationSeconds, { min: 0 }),
      ended_at: input.endedAt,
    }
    try {
      fact.supplier_id = (await supplierIdsByCode(ctx.peers, [supplierCode])).get(supplierCode) ?? null
    } catch (error) {
      // The daily totals are still right; recomputeImportMetrics fills the supplier in later.
      ctx.logger.warn('supplier of an import job not resolved', { jobId: input.jobId, error: String(error) })
    }
    await inTransaction(ctx, async (trx) => {
      const before = await lockJobFactDate(trx, fact.job_id)
      await upsertFacts(trx, [fact])
      await recomputeDays(trx, before ? [fact.date, String(before.date)] : [fact.date])
    })
    return true
  },

  /** One AI call into ai_usage_logs (append-only; cost kept exact). */
  recordAiUsage: async (_, { input }, ctx) => {
    const promptTokens = count('input.promptTokens', input.promptTokens)
    const completionTokens = count('input.completionTokens', input.completionTokens)
    const totalTokens =
      checkInt('input.totalTokens', input.totalTokens, { min: 0 }) ?? promptTokens + completionTokens
    if (totalTokens < promptTokens + completionTokens) {
      throw badUserInput(
        `input.totalTokens (${totalTokens}) is less than promptTokens + completionTokens (${promptTokens + completionTokens})`,
        { field: 'input.totalTokens' },
      )
    }
    if (input.success && input.errorMessage != null) {
      throw badUserInput('input.errorMessage is only set with success false', { field: 'input.errorMessage' })
    }
    const at = input.occurredAt ?? null
    if (at && at.getTime() > Date.now() + FUTURE_SKEW_MS) {
      throw badUserInput('input.occurredAt is in the future', { field: 'input.occurredAt' })
    }
    const row = await insertAiUsageLog(ctx.db, {
      user_id: input.userId ?? null,
      provider: checkAuditName('input.provider', input.provider, 50),
      model: checkString('input.model', input.model, { max: 100 }),
      operation: checkAuditName('input.operation', input.operation, 100),
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: totalTokens,
      cost: checkDecimal('input.cost', input.cost, { precision: 12, scale: 6, min: '0' }),
      currency: checkCurrency('input.currency', input.currency ?? 'USD') ?? 'USD',
      latency_ms: checkInt('input.latencyMs', input.latencyMs, { min: 0 }),
      success: input.success,
      error_message: checkString('input.errorMessage', input.errorMessage, { max: 10_000 }),
      ...(at ? { created_at: sql<Date>`${at.toISOString()}::timestamp` } : {}),
    })
    return toAiUsageLog(row)
  },
} satisfies MutationResolvers
