import type { DB } from '@pm/db/types/code2asin'
import { badUserInput, ErrorCode, inTransaction, notFound, updateAudited, userError } from '@pm/service-kit'
import type { Updateable } from 'kysely'
import { toCode2AsinResult } from '../db/mappers'
import {
  refreshJobProgress,
  resultJobId,
  sameKeyResult,
  unverifyOtherAsins,
  verifiedAsinOf,
} from '../db/writes'
import { writeCatalogAsins } from '../engine/catalog'
import type { MutationResolvers } from '../generated/graphql'
import { services } from '../services'
import { checkAsin } from '../validation'
import { lockedJob } from './jobs'

export const code2AsinResultMutations = {
  verifyAsinMatch: async (_, args, ctx) => {
    const asin = args.asin == null ? null : checkAsin('asin', args.asin)
    if (args.matchType != null && args.matchType.trim().toLowerCase() !== 'manual') {
      throw badUserInput('matchType can only be manual: a person’s verification makes a manual match', {
        field: 'matchType',
      })
    }
    const current = await resultJobId(ctx.db, args.resultId)
    if (!current) throw notFound('resultId: no code2asin result has this id', { field: 'resultId' })
    const outcome = await inTransaction(ctx, async (trx) => {
      // Job first, then its result: the order recordAsinResults takes its locks in.
      await lockedJob(trx, current.job_id, 'resultId')
      let catalogAsin: string | null | undefined
      const { row } = await updateAudited(trx, {
        table: 'code2asin_results',
        id: args.resultId,
        notFound: () => notFound('resultId: no code2asin result has this id', { field: 'resultId' }),
        values: async (before) => {
          const set: Updateable<DB['code2asin_results']> = {}
          if (asin !== null && asin !== before.asin) {
            const other = await sameKeyResult(trx, before, asin)
            if (other) {
              throw userError(
                ErrorCode.CONFLICT,
                `asin: this job already has result ${other.id} with ${asin} for this product; verify that one`,
                { field: 'asin' },
              )
            }
            // Another product was chosen: the previous candidate's Amazon data would describe the wrong one.
            Object.assign(set, {
              asin,
              match_type: 'manual',
              match_confidence: '100',
              amazon_title: null,
              amazon_data: null,
              amazon_images: null,
              amazon_price: null,
              amazon_currency: null,
              amazon_category: null,
              amazon_rating: null,
              amazon_review_count: null,
            })
          } else if (args.matchType != null && before.match_type !== 'manual') {
            if (before.asin === null) {
              throw badUserInput(
                'matchType: this result found no match; give the asin to record a manual one',
                {
                  field: 'matchType',
                },
              )
            }
            set.match_type = 'manual'
          }
          if (args.verified && (set.asin ?? before.asin) === null) {
            throw badUserInput('verified: this result found no match; give the asin that was verified', {
              field: 'verified',
            })
          }
          if ((before.is_verified ?? false) !== args.verified) set.is_verified = args.verified
          return set
        },
        view: toCode2AsinResult,
        afterUpdate: async (row, before) => {
          if (row.asin !== before.asin || row.match_type !== before.match_type)
            await refreshJobProgress(trx, before.job_id)
          const wasVerified = before.is_verified === true
          const isVerified = row.is_verified === true
          if (isVerified && (!wasVerified || row.asin !== before.asin)) {
            // One verified ASIN per product: the others of another ASIN are no longer the product's.
            await unverifyOtherAsins(trx, row)
            catalogAsin = row.asin
          } else if (wasVerified && !isVerified) {
            const remaining = await verifiedAsinOf(trx, row.product_id)
            catalogAsin = remaining?.asin ?? null
          }
          // The catalog is written before this transaction commits: a refusal there leaves both unchanged.
          if (catalogAsin !== undefined) {
            await writeCatalogAsins(ctx.peers, [{ productId: row.product_id, asin: catalogAsin }])
          }
        },
        audit: { entityType: 'code2asin_result', userId: ctx.caller.userId },
      })
      return { result: toCode2AsinResult(row), catalog: catalogAsin !== undefined }
    })
    if (outcome.catalog) {
      await services(ctx.env, ctx.logger)
        .invalidate(['catalog'])
        .catch((error) => ctx.logger.warn('gateway cache not invalidated', { error: String(error) }))
    }
    return outcome.result
  },
} satisfies MutationResolvers
