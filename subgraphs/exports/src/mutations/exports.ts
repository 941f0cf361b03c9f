import { badUserInput, checkString, inTransaction, notFound, recordAudit } from '@pm/service-kit'
import { sql } from 'kysely'
import type { Context } from '../context'
import { toExportJob } from '../db/mappers'
import { platformForShare } from '../db/writes'
import { platformMapping, RuleConfigError } from '../engine/mapping'
import type { ExportSelection } from '../run/export-job'
import { enqueueExport } from '../run/queue'

const MAX_IDS = 10_000

interface StartExportInput {
  platformId: string
  format: 'CSV' | 'XLSX' | 'JSON' | 'XML'
  selection?: {
    supplierId?: string | null
    categoryId?: string | null
    status?: string | null
    productIds?: string[] | null
    changedSinceLastExport?: boolean | null
  } | null
}

export const exportMutations = {
  startExport: async (_: unknown, { input }: { input: StartExportInput }, ctx: Context) => {
    const s = input.selection ?? {}
    const selection: ExportSelection = {}
    if (s.supplierId) selection.supplierId = s.supplierId
    if (s.categoryId) selection.categoryId = s.categoryId
    const status = checkString('input.selection.status', s.status ?? null, { max: 50 })
    if (status) selection.status = status
    if (s.productIds) {
      const ids = [...new Set(s.productIds.map((id) => id.toLowerCase()))]
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
        const last = await trx
          .selectFrom('export_jobs')
          .select(sql<string>`to_char(MAX(started_at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('since'))
          .where('platform_id', '=', input.platformId)
          .where('status', '=', 'completed')
          .where('format', 'is not', null)
          .executeTakeFirst()
        if (last?.since) selection.updatedSince = last.since
      }
      const row = await trx
        .insertInto('export_jobs')
        .values({
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
        .returningAll()
        .executeTakeFirstOrThrow()
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
}
