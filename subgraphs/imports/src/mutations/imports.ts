import { type ConnectorSettings, loadConnectorSettings } from '@pm/connectors'
import {
  badUserInput,
  checkInt,
  inTransaction,
  notFound,
  recordAudit,
  updateAudited,
  userError,
} from '@pm/service-kit'
import { createStorage, loadStorageConfig, type Storage } from '@pm/storage'
import type { Context } from '../context'
import { insertFile, jobWithFile } from '../db/engine'
import { type ImportConfigRow, toImportJob } from '../db/mappers'
import {
  configById,
  configForShare,
  insertJob,
  insertLogs,
  NOW_UTC,
  setJobBytesTotal,
  transitionValues,
  workerStale,
} from '../db/writes'
import type { ImportRow, RawRecord, RowIssue } from '../engine'
import type { MutationResolvers } from '../generated/graphql'
import { CatalogRefusal, dryRun, supplierIdOf } from '../run/catalog'
import { engineSettings } from '../run/import-job'
import { compileConfig, mappingWarnings, openRecords, rowErrorOf } from '../run/mapping'
import { enqueueImport } from '../run/queue'
import {
  checkSource,
  hashStream,
  type ImportSource,
  type OpenedFile,
  openFile,
  sourceError,
  uploadOwner,
} from '../run/source'

const MAX_PREVIEW = 100

/** One storage client and connector settings per environment (the process's, or a test stack's). */
const perEnv = new WeakMap<object, { storage: Storage; settings: ConnectorSettings }>()
export function engineEnv(env: NodeJS.ProcessEnv) {
  let found = perEnv.get(env)
  if (!found) {
    found = { storage: createStorage(loadStorageConfig(env)), settings: loadConnectorSettings(env) }
    perEnv.set(env, found)
  }
  return found
}

async function activeConfig(ctx: Context, configId: string): Promise<ImportConfigRow> {
  const config = await configById(ctx.db, configId)
  if (!config) throw notFound('configId: no import configuration has this id', { field: 'configId' })
  if (config.is_active === false) {
    throw badUserInput('configId: the configuration is inactive', { field: 'configId' })
  }
  return config
}

/** A configuration that cannot run is refused before any file is read. */
async function compiled(ctx: Context, config: ImportConfigRow) {
  try {
    return await compileConfig(ctx.db, config)
  } catch (error) {
    if (error instanceof CatalogRefusal)
      throw badUserInput(`configId: ${error.message}`, { field: 'configId' })
    throw error
  }
}

async function opened(ctx: Context, config: ImportConfigRow, source: ImportSource): Promise<OpenedFile> {
  if (source.kind === 'connection' && !config.connection_config) {
    throw badUserInput('source.fromConnection: the configuration has no connection', {
      field: 'source.fromConnection',
    })
  }
  try {
    return await openFile(engineEnv(ctx.env), config, source, uploadOwner(ctx.caller))
  } catch (error) {
    throw sourceError(error, source) ?? error
  }
}

const conflictWith = (jobId: string, sha256: string) =>
  userError(
    'CONFLICT',
    `source: this file (SHA-256 ${sha256}) was already imported for this configuration by job ${jobId}; pass force: true to import it again`,
    { field: 'source', jobId },
  )

const issueOf = (e: ReturnType<typeof rowErrorOf>) => ({
  column: e.column_name,
  rule: e.error_code,
  message: e.message,
  rawValue: e.raw_value,
  severity: e.severity,
})

const jobNotFound = () => notFound('jobId: no import job has this id', { field: 'jobId' })

export const importMutations = {
  previewImport: async (_, args, ctx) => {
    const limit = checkInt('limit', args.limit ?? 20, { min: 1, max: MAX_PREVIEW })!
    const source = checkSource(args.source)
    const config = await activeConfig(ctx, args.configId)
    const compiledImport = await compiled(ctx, config)
    const file = await opened(ctx, config, source)
    const read: { record: RawRecord; row?: ImportRow; issues: RowIssue[] }[] = []
    let parsed: Awaited<ReturnType<typeof openRecords>>
    try {
      try {
        parsed = await openRecords(file.stream, config, file.fileName)
      } catch (error) {
        throw badUserInput(`source: the file cannot be read: ${(error as Error).message}`, {
          field: 'source',
        })
      }
      for await (const record of parsed.records) {
        const mapped = record.issue ? { issues: [record.issue] } : compiledImport.map(record)
        read.push({ record, ...mapped })
        if (read.length >= limit) break
      }
    } finally {
      file.stream.destroy()
      await file.close().catch(() => {})
    }
    const going = read.filter((r) => r.row && !r.issues.some((i) => i.severity !== 'warning'))
    const verdicts =
      going.length > 0
        ? await dryRun(
            ctx.peers,
            await supplierIdOf(ctx.peers, config.supplier_code),
            going.map((r) => r.row!),
            {
              createBrands: config.create_brands,
              createCategories: config.create_categories,
            },
          ).catch((error) => {
            if (error instanceof CatalogRefusal)
              throw badUserInput(`configId: ${error.message}`, { field: 'configId' })
            throw error
          })
        : []
    const verdictOf = new Map(going.map((r, i) => [r, verdicts[i]!]))
    const columns = parsed.columns() ?? []
    return {
      format: parsed.format,
      encoding: parsed.encoding ?? null,
      delimiter: parsed.delimiter ?? null,
      columns,
      missingColumns: compiledImport.missingColumns(columns),
      warnings: [...mappingWarnings(compiledImport.columns), ...parsed.warnings],
      rows: read.map((r) => {
        const verdict = verdictOf.get(r)
        const issues = r.issues.map((i) => issueOf(rowErrorOf(r.record, i, compiledImport.columns)))
        if (verdict?.error) issues.push(issueOf(rowErrorOf(r.record, verdict.error, compiledImport.columns)))
        return {
          rowNumber: r.record.rowNumber,
          verdict: verdict?.status ?? 'FAILED',
          values: r.record.values,
          mapped: r.row ?? null,
          issues,
        }
      }),
    }
  },

  startImport: async (_, args, ctx) => {
    const source = checkSource(args.source)
    const force = args.force === true
    const config = await activeConfig(ctx, args.configId)
    await compiled(ctx, config)
    let upload: OpenedFile | undefined
    let fileName: string | undefined
    if (source.kind === 'upload' || source.kind === 'path') {
      const file = await opened(ctx, config, source)
      fileName = file.fileName
      try {
        // An upload's hash is known; a server-side file is hashed now, so a duplicate is refused here.
        let sha256: string
        if (source.kind === 'upload') {
          file.stream.destroy()
          sha256 = file.sha256!
          upload = file
        } else sha256 = (await hashStream(file.stream)).sha256
        if (!force) {
          const earlier = await jobWithFile(ctx.db, config.id, sha256, null)
          if (earlier) throw conflictWith(earlier.id, sha256)
        }
      } finally {
        await file.close().catch(() => {})
      }
    }
    return inTransaction(ctx, async (trx) => {
      const locked = await configForShare(trx, config.id)
      if (!locked || locked.is_active === false) {
        throw badUserInput('configId: the configuration is inactive', { field: 'configId' })
      }
      const row = await insertJob(trx, {
        config_id: config.id,
        supplier_code: locked.supplier_code,
        import_type: locked.import_type,
        status: 'pending',
        created_by: ctx.caller.userId,
        source: JSON.stringify({ ...source, ...(fileName ? { fileName } : {}) }),
        force,
      })
      if (upload) {
        await insertFile(trx, {
          job_id: row.id,
          file_name: upload.fileName.slice(0, 500),
          file_hash: upload.sha256!,
          file_size_bytes: upload.size ?? null,
          mime_type: upload.mimeType?.slice(0, 100) ?? null,
          source: 'upload',
          storage_type: engineEnv(ctx.env).storage.constructor.name.toLowerCase().includes('s3')
            ? 's3'
            : 'local',
          object_key: upload.objectKey!,
        })
        if (upload.size !== undefined) await setJobBytesTotal(trx, row.id, upload.size)
      }
      await enqueueImport(trx, row.id)
      const job = toImportJob(row)
      await recordAudit(trx, {
        action: 'start_import',
        entityType: 'import_job',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: { configId: config.id, source, force } },
      })
      return job
    })
  },

  cancelImport: (_, { jobId }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'import_jobs',
        id: jobId,
        notFound: jobNotFound,
        values: (before) => {
          if (before.status === 'pending') return transitionValues('cancelled', {})
          if (before.status === 'running') {
            return before.cancel_requested_at !== null ? {} : { cancel_requested_at: NOW_UTC }
          }
          throw badUserInput(
            `jobId: the job is ${before.status}; only a pending or running job can be cancelled`,
            { field: 'jobId', status: before.status },
          )
        },
        view: toImportJob,
        afterUpdate: async (row) => {
          await insertLogs(trx, jobId, [
            {
              level: 'warning',
              message:
                row.status === 'cancelled'
                  ? 'import cancelled before it started'
                  : 'cancel requested: the import stops after its current batch',
              row_number: null,
              details: null,
            },
          ])
        },
        audit: { entityType: 'import_job', action: 'cancel_import', userId: ctx.caller.userId },
      })
      return toImportJob(row)
    }),

  resumeImport: (_, { jobId }, ctx) => {
    const { leaseSeconds } = engineSettings(ctx.env)
    return inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'import_jobs',
        id: jobId,
        notFound: jobNotFound,
        values: async (before) => {
          if (!before.config_id || !before.source) {
            throw badUserInput('jobId: the job was not started by startImport: there is nothing to resume', {
              field: 'jobId',
            })
          }
          if (before.status === 'running') {
            if (!(await workerStale(trx, jobId, leaseSeconds))) {
              throw badUserInput(
                `jobId: the job is running and its worker answered less than ${leaseSeconds} s ago; it needs no resume`,
                { field: 'jobId', status: before.status },
              )
            }
          } else if (before.status !== 'failed') {
            throw badUserInput(
              `jobId: the job is ${before.status}; a failed job, or a running one whose worker stopped, can be resumed`,
              { field: 'jobId', status: before.status },
            )
          }
          return {
            status: before.status === 'failed' ? 'pending' : 'running',
            runner_id: null,
            heartbeat_at: null,
            completed_at: null,
            duration_seconds: null,
          }
        },
        view: toImportJob,
        afterUpdate: async (_row, before) => {
          await insertLogs(trx, jobId, [
            {
              level: 'info',
              message: `resume requested after row ${before.checkpoint_row}`,
              row_number: null,
              details: { status: before.status },
            },
          ])
          await enqueueImport(trx, jobId)
          return { checkpointRow: before.checkpoint_row }
        },
        audit: { entityType: 'import_job', action: 'resume_import', userId: ctx.caller.userId },
      })
      return toImportJob(row)
    })
  },
} satisfies MutationResolvers
