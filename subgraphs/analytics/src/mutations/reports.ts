import {
  badUserInput,
  checkEnum,
  checkInt,
  checkJsonObject,
  checkString,
  inTransaction,
  lockRow,
  notFound,
  recordAudit,
  updateAudited,
} from '@pm/service-kit'
import { sql } from 'kysely'
import { toReport } from '../db/mappers'
import { deleteReport, insertReport } from '../db/writes'
import { enqueue, TASKS } from '../engine/queue'
import { checkReportParameters, REPORT_FORMATS, REPORT_TYPES } from '../engine/reports/types'
import type { MutationResolvers } from '../generated/graphql'

export const REPORT_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const
type ReportStatus = (typeof REPORT_STATUSES)[number]

/** pending → running → completed | failed | cancelled; a pending report may also be cancelled. */
export const REPORT_TRANSITIONS: Record<ReportStatus, readonly ReportStatus[]> = {
  pending: ['running', 'cancelled'],
  running: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
}

const MAX_PARAMETERS_BYTES = 65_536
const MAX_ERROR_MESSAGE = 10_000
// S3 / MinIO object keys are at most 1,024 bytes.
const MAX_OBJECT_KEY = 1_024

/** Fields that only go with one kind of status, e.g. the file's location with completed. */
function refuseUnless(allowed: boolean, field: string, value: unknown, why: string) {
  if (!allowed && value != null) throw badUserInput(`${field} ${why}`, { field: `input.${field}` })
}

const reportNotFound = () => notFound('no report has this id', { field: 'id' })

export const reportMutations = {
  /** A new report waits (pending) for the analytics worker, queued with its row; created by the caller. */
  createReport: (_, { input }, ctx) => {
    const name = checkString('input.name', input.name, { max: 255 })
    const type = checkEnum('input.reportType', input.reportType, REPORT_TYPES)
    const parameters = checkJsonObject('input.parameters', input.parameters, MAX_PARAMETERS_BYTES) ?? {}
    // Stored as they will be used: a period's defaults written out.
    const checked = checkReportParameters(type, parameters)
    const values = {
      name,
      report_type: type,
      parameters: JSON.stringify({ ...parameters, ...checked }),
      format: checkEnum('input.format', input.format ?? 'csv', REPORT_FORMATS),
      created_by: ctx.caller.userId,
    }
    return inTransaction(ctx, async (trx) => {
      const report = toReport(await insertReport(trx, values))
      await enqueue(trx, TASKS.report, { reportId: report.id }, `report:${report.id}`)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'report',
        entityId: report.id,
        userId: ctx.caller.userId,
        changes: { after: report },
      })
      return report
    })
  },

  /**
   * Moves a report along pending → running → completed | failed | cancelled (pending → cancelled too):
   * running sets startedAt, the final states completedAt. The file's fields go with completed, an error
   * message with failed or cancelled. Any other move is refused.
   */
  updateReportStatus: (_, { id, input }, ctx) => {
    const status = checkEnum('input.status', input.status, REPORT_STATUSES)
    const completed = status === 'completed'
    const file = 'is only set with status completed'
    refuseUnless(completed, 'bucketName', input.bucketName, file)
    refuseUnless(completed, 'objectKey', input.objectKey, file)
    refuseUnless(completed, 'fileSizeBytes', input.fileSizeBytes, file)
    refuseUnless(completed, 'rowCount', input.rowCount, file)
    refuseUnless(completed, 'expiresAt', input.expiresAt, file)
    refuseUnless(
      status === 'failed' || status === 'cancelled',
      'errorMessage',
      input.errorMessage,
      'is only set with status failed or cancelled',
    )
    if ((input.bucketName == null) !== (input.objectKey == null)) {
      const missing = input.bucketName == null ? 'bucketName' : 'objectKey'
      throw badUserInput(`input.${missing} is needed too: bucketName and objectKey go together`, {
        field: `input.${missing}`,
      })
    }
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw badUserInput('input.expiresAt must be in the future', { field: 'input.expiresAt' })
    }
    const set = {
      status,
      error_message: checkString('input.errorMessage', input.errorMessage, { max: MAX_ERROR_MESSAGE }),
      bucket_name: checkString('input.bucketName', input.bucketName, { max: 100 }),
      object_key: checkString('input.objectKey', input.objectKey, { max: MAX_OBJECT_KEY }),
      file_size_bytes:
        input.fileSizeBytes == null
          ? null
          : checkInt('input.fileSizeBytes', input.fileSizeBytes, { min: 0, max: Number.MAX_SAFE_INTEGER }),
      row_count: checkInt('input.rowCount', input.rowCount, { min: 0 }),
      expires_at: input.expiresAt ?? null,
      ...(status === 'running' ? { started_at: sql<Date>`now()` } : { completed_at: sql<Date>`now()` }),
    }
    return inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'reports',
        id,
        notFound: reportNotFound,
        values: (before) => {
          const from = before.status as ReportStatus
          if (!REPORT_TRANSITIONS[from]?.includes(status)) {
            const next = REPORT_TRANSITIONS[from] ?? []
            throw badUserInput(
              `input.status: a ${from} report cannot become ${status}${next.length ? ` (only ${next.join(' or ')})` : '; it is final'}`,
              { field: 'input.status' },
            )
          }
          return set
        },
        view: toReport,
        audit: { entityType: 'report', userId: ctx.caller.userId },
      })
      const report = toReport(row)
      return report
    })
  },

  /** Refused while a worker runs it (cancel it first); returns the report as it was. */
  deleteReport: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const before = await lockRow(trx, 'reports', id)
      if (!before) throw reportNotFound()
      if (before.status === 'running') {
        throw badUserInput('id: the report is running; cancel it first', { field: 'id' })
      }
      await deleteReport(trx, id)
      const report = toReport(before)
      await recordAudit(trx, {
        action: 'delete',
        entityType: 'report',
        entityId: id,
        userId: ctx.caller.userId,
        changes: { before: report },
      })
      return report
    }),
} satisfies MutationResolvers
