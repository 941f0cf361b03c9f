import type { DB } from '@pm/db/types/analytics'
import { type Logger, type Peers, queryPeer } from '@pm/service-kit'
import type { Storage } from '@pm/storage'
import { GraphQLError } from 'graphql'
import { type Kysely, sql } from 'kysely'
import { CONTENT_TYPES, render } from './render'
import { reportData } from './sources'
import {
  checkReportParameters,
  REPORT_FORMATS,
  REPORT_TYPES,
  type ReportFormat,
  type ReportType,
} from './types'

export interface ReportDeps {
  db: Kysely<DB>
  peers: Peers
  storage: Storage
  logger: Logger
  invalidate: (domains?: readonly string[]) => Promise<void>
}

/** Where a report's file is kept. */
export const reportKey = (id: string, format: ReportFormat) => `reports/${id}.${format}`

/** Generated files are larger than any sane report past this (the put fails, the report with it). */
const MAX_REPORT_BYTES = 512 * 1024 * 1024

const NOTIFY = `mutation($input: CreateNotificationInput!) { createNotification(input: $input) { id } }`

class Cancelled extends Error {}

/**
 * Generates one report: claims it (pending → running), reads its data, writes the file to storage in one put
 * (a failed put keeps nothing), then marks it completed with the file's key, size and row count — or failed
 * with a message a user can act on. A report cancelled meanwhile is left cancelled and its file removed. Its
 * creator is told the outcome (core's notifications).
 */
export async function runReport(deps: ReportDeps, reportId: string, signal?: AbortSignal): Promise<void> {
  const { db } = deps
  const report = await db
    .updateTable('reports')
    .set({ status: 'running', started_at: sql<Date>`coalesce(started_at, now())` })
    .where('id', '=', reportId)
    .where('status', 'in', ['pending', 'running'])
    .returningAll()
    .executeTakeFirst()
  if (!report) return
  const format = (REPORT_FORMATS as readonly string[]).includes(report.format ?? '')
    ? (report.format as ReportFormat)
    : 'csv'
  const key = reportKey(report.id, format)
  const stillRunning = async (rows: number) => {
    signal?.throwIfAborted()
    const row = await db
      .updateTable('reports')
      .set({ row_count: rows })
      .where('id', '=', reportId)
      .where('status', '=', 'running')
      .returning('id')
      .executeTakeFirst()
    if (!row) throw new Cancelled()
  }
  try {
    if (!(REPORT_TYPES as readonly string[]).includes(report.report_type)) {
      throw new ReportError(`unknown report type "${report.report_type}": one of ${REPORT_TYPES.join(', ')}`)
    }
    const type = report.report_type as ReportType
    const parameters = checkReportParameters(
      type,
      (report.parameters ?? {}) as Record<string, unknown>,
      'parameters',
    )
    const data = await reportData(deps, type, parameters, stillRunning)
    await stillRunning(data.rows.length)
    const stream = render(format, {
      data,
      name: report.name,
      parameters: parameters as Record<string, unknown>,
      generatedAt: new Date(),
    })
    const info = await deps.storage.put(key, stream, {
      contentType: CONTENT_TYPES[format],
      maxBytes: MAX_REPORT_BYTES,
      metadata: { report: report.id },
    })
    const done = await db
      .updateTable('reports')
      .set({
        status: 'completed',
        bucket_name: deps.storage.driver,
        object_key: key,
        file_size_bytes: info.size,
        row_count: data.rows.length,
        completed_at: sql<Date>`now()`,
      })
      .where('id', '=', reportId)
      .where('status', '=', 'running')
      .returningAll()
      .executeTakeFirst()
    if (!done) throw new Cancelled()
    deps.logger.info('report completed', { reportId, rows: data.rows.length, bytes: info.size })
    await notify(
      deps,
      report.created_by,
      report.id,
      'SUCCESS',
      `Report ready: ${report.name}`,
      `${data.rows.length} rows, ${format.toUpperCase()}`,
    )
  } catch (error) {
    if (error instanceof Cancelled) {
      await deps.storage.delete(key).catch(() => {})
      return
    }
    if (signal?.aborted) throw error
    const message = failureMessage(error)
    deps.logger.warn('report failed', { reportId, error: String(error) })
    await deps.storage.delete(key).catch(() => {})
    const failed = await db
      .updateTable('reports')
      .set({ status: 'failed', error_message: message, completed_at: sql<Date>`now()`, object_key: null })
      .where('id', '=', reportId)
      .where('status', '=', 'running')
      .returning('id')
      .executeTakeFirst()
    if (failed)
      await notify(deps, report.created_by, report.id, 'ERROR', `Report failed: ${report.name}`, message)
  } finally {
    await deps.invalidate()
  }
}

/** A refusal of the report's own content (its type or parameters): the message is for its user. */
class ReportError extends Error {}

function failureMessage(error: unknown): string {
  if (error instanceof ReportError) return error.message
  if (error instanceof GraphQLError) {
    const code = String(error.extensions.code ?? '')
    if (code === 'BAD_USER_INPUT') return error.message
    if (code === 'SERVICE_UNAVAILABLE') return `${error.message}; ask for the report again later`
  }
  if ((error as { code?: string })?.code === 'PAYLOAD_TOO_LARGE') return 'the report is too large to store'
  return 'the report could not be generated (internal error); ask for it again later'
}

async function notify(
  deps: ReportDeps,
  userId: string | null,
  reportId: string,
  type: 'SUCCESS' | 'ERROR',
  title: string,
  message: string,
) {
  if (!userId) return
  try {
    await queryPeer(deps.peers, 'core', NOTIFY, {
      input: { userId, title: title.slice(0, 255), message, type, metadata: { reportId } },
    })
  } catch (error) {
    deps.logger.warn('report notification not delivered', { reportId, error: String(error) })
  }
}
