import {
  badUserInput,
  checkEnum,
  checkInt,
  checkJsonObject,
  checkString,
  inTransaction,
  notFound,
  recordAudit,
  rowInputError,
  updateAudited,
} from '@pm/service-kit'
import { GraphQLError } from 'graphql'
import { requireSupplier } from '../catalog'
import { type ImportJobRow, toImportJob } from '../db/mappers'
import { LOG_LEVELS } from '../db/queries'
import {
  addProgress,
  bumpErrors,
  configForShare,
  type ErrorRow,
  type ImportsTrx,
  insertErrors,
  insertJob,
  insertLogs,
  type JobStatus,
  jobForShare,
  jobStatus,
  type LogRow,
  type ProgressIncrements,
  transitionValues,
} from '../db/writes'
import type {
  ImportEntryRejection,
  ImportErrorEntryInput,
  ImportLogEntryInput,
  MutationResolvers,
} from '../generated/graphql'

export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const

/** The only moves a job makes; completed, failed and cancelled are final. */
const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  pending: ['running', 'cancelled'],
  running: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
}

/** Most entries (logs or errors) one append call takes: its one statement stays small. */
export const MAX_APPEND = 1_000
/** Sanity bound for TEXT messages: a log line is not a file. */
const MAX_MESSAGE = 10_000

/** Says why a job that is not running (or not pending/running) cannot take the call, or that it is missing. */
async function refuseJob(trx: ImportsTrx, id: string, field: string, expected: string): Promise<never> {
  const job = await jobStatus(trx, id)
  if (!job) throw notFound(`${field}: no import job has this id`, { field })
  throw badUserInput(`${field}: the job is ${job.status}; ${expected}`, { field, status: job.status })
}

function checkEntries<T>(field: string, entries: readonly T[]) {
  if (entries.length === 0) throw badUserInput(`${field} must hold at least one entry`, { field })
  if (entries.length > MAX_APPEND) {
    throw badUserInput(`${field} holds ${entries.length} entries; at most ${MAX_APPEND} per call`, { field })
  }
}

/** Each entry checked alone: the valid ones, and the refused ones with their position and field. */
function perEntry<I extends object, R>(
  field: string,
  entries: readonly I[],
  check: (entry: I, at: string) => R,
): { rows: R[]; rejected: ImportEntryRejection[] } {
  checkEntries(field, entries)
  const rows: R[] = []
  const rejected: ImportEntryRejection[] = []
  entries.forEach((entry, index) => {
    const at = `${field}[${index}]`
    try {
      const refused = rowInputError(entry)
      if (refused) throw refused
      rows.push(check(entry, at))
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error
      rejected.push({
        index,
        field: String(error.extensions.field ?? at),
        code: String(error.extensions.code ?? 'BAD_USER_INPUT'),
        message: error.message,
      })
    }
  })
  return { rows, rejected }
}

const logRows = (entries: readonly ImportLogEntryInput[]) =>
  perEntry(
    'entries',
    entries,
    (e, at): LogRow => ({
      level: checkEnum(`${at}.level`, e.level ?? 'info', LOG_LEVELS),
      message: checkString(`${at}.message`, e.message, { max: MAX_MESSAGE }),
      row_number: checkInt(`${at}.rowNumber`, e.rowNumber, { min: 1 }),
      details: checkJsonObject(`${at}.details`, e.details, 16_384),
    }),
  )

const errorRows = (errors: readonly ImportErrorEntryInput[]) =>
  perEntry(
    'errors',
    errors,
    (e, at): ErrorRow => ({
      row_number: checkInt(`${at}.rowNumber`, e.rowNumber, { min: 1 }),
      column_name: checkString(`${at}.columnName`, e.columnName, { max: 255 }),
      error_code: checkString(`${at}.errorCode`, e.errorCode, { max: 100 }),
      message: checkString(`${at}.message`, e.message, { max: MAX_MESSAGE }),
      // Raw values are kept as the file had them: not trimmed, only bounded.
      raw_value: rawValue(`${at}.rawValue`, e.rawValue),
      raw_row: checkJsonObject(`${at}.rawRow`, e.rawRow, 65_536),
      severity: checkEnum(`${at}.severity`, e.severity ?? 'error', ['error', 'warning'] as const),
    }),
  )

function rawValue(field: string, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null
  if (value.length > MAX_MESSAGE) {
    throw badUserInput(`${field} is longer than ${MAX_MESSAGE} characters`, { field })
  }
  return value
}

const countBy = <T>(items: readonly T[], key: (t: T) => string) =>
  items.reduce<Record<string, number>>((acc, t) => {
    acc[key(t)] = (acc[key(t)] ?? 0) + 1
    return acc
  }, {})

export const jobMutations = {
  createImportJob: async (_, { input }, ctx) => {
    const totalRows = checkInt('input.totalRows', input.totalRows, { min: 0 })
    if (input.configId != null) {
      for (const key of ['supplierCode', 'importType'] as const) {
        if (input[key] != null) {
          throw badUserInput(`input.${key}: give either configId or supplierCode and importType, not both`, {
            field: `input.${key}`,
          })
        }
      }
    }
    let adHoc: { supplierCode: string; importType: string } | undefined
    if (input.configId == null) {
      for (const key of ['supplierCode', 'importType'] as const) {
        if (input[key] == null) {
          throw badUserInput(`input.${key} is required for a job without configId`, { field: `input.${key}` })
        }
      }
      adHoc = {
        supplierCode: checkString('input.supplierCode', input.supplierCode!, { max: 50 }),
        importType: checkString('input.importType', input.importType!, { max: 50 }),
      }
      await requireSupplier(ctx, 'input.supplierCode', adHoc.supplierCode)
    }
    return inTransaction(ctx, async (trx) => {
      let source = adHoc
      if (input.configId != null) {
        const config = await configForShare(trx, input.configId)
        if (!config) {
          throw notFound('input.configId: no import configuration has this id', { field: 'input.configId' })
        }
        if (config.is_active === false) {
          throw badUserInput('input.configId: the configuration is inactive', { field: 'input.configId' })
        }
        source = { supplierCode: config.supplier_code, importType: config.import_type }
      }
      const row = await insertJob(trx, {
        config_id: input.configId ?? null,
        supplier_code: source!.supplierCode,
        import_type: source!.importType,
        status: 'pending',
        ...(totalRows !== null ? { total_rows: totalRows } : {}),
        created_by: ctx.caller.userId,
      })
      const job = toImportJob(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'import_job',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: job },
      })
      return job
    })
  },

  setImportJobStatus: (_, args, ctx) => {
    const to = checkEnum('status', args.status, JOB_STATUSES)
    const lastError = checkString('lastError', args.lastError, { max: MAX_MESSAGE }) ?? undefined
    if (lastError !== undefined && to !== 'failed') {
      throw badUserInput('lastError goes with status failed only', { field: 'lastError' })
    }
    const totalRows = checkInt('totalRows', args.totalRows, { min: 0 }) ?? undefined
    return inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'import_jobs',
        id: args.id,
        notFound: () => notFound('id: no import job has this id', { field: 'id' }),
        values: (before) => {
          const from = before.status as JobStatus
          // Statuses outside the state machine (free text in older rows) count as final.
          const final = !NEXT[from]?.length
          if (from === to && lastError === undefined && !(final && totalRows !== undefined)) {
            // The status it already has is a retry, not a move: nothing changes but a new row total.
            return { total_rows: totalRows }
          }
          if (!NEXT[from]?.includes(to)) {
            const allowed = final ? 'nothing (it is final)' : NEXT[from].join(' or ')
            throw badUserInput(
              `status: a ${from} job cannot become ${to}; from ${from} it can become ${allowed}`,
              { field: 'status', status: from },
            )
          }
          return transitionValues(to, { lastError, totalRows })
        },
        view: toImportJob,
        audit: { entityType: 'import_job', userId: ctx.caller.userId },
      })
      const job = toImportJob(row)
      return job
    })
  },

  recordImportProgress: (_, args, ctx) => {
    const inc: ProgressIncrements = {
      processedRows: checkInt('processedRows', args.processedRows, { min: 0 }) ?? 0,
      successfulRows: checkInt('successfulRows', args.successfulRows, { min: 0 }) ?? 0,
      failedRows: checkInt('failedRows', args.failedRows, { min: 0 }) ?? 0,
      productsCreated: checkInt('productsCreated', args.productsCreated, { min: 0 }) ?? 0,
      productsUpdated: checkInt('productsUpdated', args.productsUpdated, { min: 0 }) ?? 0,
    }
    if (Object.values(inc).every((n) => n === 0)) {
      throw badUserInput('processedRows: give at least one counter to add to', { field: 'processedRows' })
    }
    return inTransaction(ctx, async (trx) => {
      const row: ImportJobRow =
        (await addProgress(trx, args.jobId, inc)) ??
        (await refuseJob(trx, args.jobId, 'jobId', 'progress is recorded while a job is running'))
      await recordAudit(trx, {
        action: 'record_progress',
        entityType: 'import_job',
        entityId: args.jobId,
        userId: ctx.caller.userId,
        changes: { added: inc },
      })
      return toImportJob(row)
    })
  },

  appendImportLogs: (_, args, ctx) => {
    const { rows, rejected } = logRows(args.entries)
    return inTransaction(ctx, async (trx) => {
      const job = await jobForShare(trx, args.jobId)
      if (!job) throw notFound('jobId: no import job has this id', { field: 'jobId' })
      if (job.status !== 'pending' && job.status !== 'running') {
        throw badUserInput(`jobId: the job is ${job.status}; logs are appended to a pending or running job`, {
          field: 'jobId',
          status: job.status,
        })
      }
      const appended = rows.length > 0 ? await insertLogs(trx, args.jobId, rows) : 0
      if (appended > 0) {
        await recordAudit(trx, {
          action: 'append_logs',
          entityType: 'import_job',
          entityId: args.jobId,
          userId: ctx.caller.userId,
          changes: { appended, byLevel: countBy(rows, (r) => r.level) },
        })
      }
      return { job: toImportJob(job), appended, rejected }
    })
  },

  appendImportErrors: (_, args, ctx) => {
    const { rows, rejected } = errorRows(args.errors)
    const errors = rows.filter((r) => r.severity === 'error')
    const last = errors.at(-1)
    const lastError = last
      ? `${last.row_number !== null ? `row ${last.row_number}: ` : ''}${last.error_code}: ${last.message}`
      : null
    return inTransaction(ctx, async (trx) => {
      // Counters first: the UPDATE locks the job and checks its status in one statement.
      const job =
        (await bumpErrors(trx, args.jobId, errors.length, lastError)) ??
        (await refuseJob(trx, args.jobId, 'jobId', 'errors are appended to a pending or running job'))
      const appended = rows.length > 0 ? await insertErrors(trx, args.jobId, rows) : 0
      if (appended > 0) {
        await recordAudit(trx, {
          action: 'append_errors',
          entityType: 'import_job',
          entityId: args.jobId,
          userId: ctx.caller.userId,
          changes: { appended, byCode: countBy(rows, (r) => r.error_code), errorCountAdded: errors.length },
        })
      }
      return { job: toImportJob(job), appended, rejected }
    })
  },
} satisfies MutationResolvers
