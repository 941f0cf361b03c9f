import type { Readable } from 'node:stream'
import type { ConnectorSettings } from '@pm/connectors'
import type { DB } from '@pm/db/types/imports'
import { claimJobLease } from '@pm/jobs'
import { envSchemas, type Logger, type Peers, queryPeer, withPeerUrl } from '@pm/service-kit'
import type { Storage } from '@pm/storage'
import { GraphQLError } from 'graphql'
import type { Kysely } from 'kysely'
import {
  appendLogs,
  commitBatch,
  errorsByCode,
  finishJob,
  insertFile,
  jobFile,
  jobWithFile,
  setBytesTotal,
  upsertStatistics,
} from '../db/engine'
import type { ImportConfigRow, ImportJobRow } from '../db/mappers'
import { type ErrorRow, type ImportsTrx, insertLogs, type LogRow, NOW_UTC } from '../db/writes'
import { type ImportRow, type RawRecord, SourceError } from '../engine'
import { reportJobEnd } from './analytics'
import { BatchOutOfTurn, CatalogRefusal, sendBatch, supplierIdOf } from './catalog'
import { compileConfig, mappingWarnings, openRecords, rowErrorOf, type SourceColumns } from './mapping'
import { MediaHandoff } from './media'
import { retryUnavailable } from './retry'
import { type ImportSource, openFile } from './source'

export interface EngineDeps {
  db: Kysely<DB>
  storage: Storage
  peers: Peers
  settings: ConnectorSettings
  logger: Logger
  /** Rows sent to catalog per batch (IMPORT_BATCH_ROWS, default 2,000). */
  batchRows: number
  /**
   * Batches sent to catalog and not yet recorded (IMPORT_BATCHES_IN_FLIGHT, default 2): the next batch goes while
   * the one before is being written, so catalog prepares it meanwhile; catalog still writes them in file order.
   */
  batchesInFlight: number
  /**
   * The catalog instances the batches are written through, in turn (IMPORT_CATALOG_URLS; empty: `peers`' catalog):
   * with two, the instance that prepares the next batch is not the one whose transaction writes the current one.
   */
  catalogUrls: readonly string[]
  /** A running job whose heartbeat is older than this has lost its worker (IMPORT_LEASE_SECONDS, default 60). */
  leaseSeconds: number
  /**
   * An XLSX's shared strings: kept in memory up to `memoryBytes` (IMPORT_XLSX_SHARED_STRINGS_MEMORY_MB, default
   * 16), the rest spilled to a temporary file; a shared strings part over `maxPartBytes`
   * (IMPORT_XLSX_SHARED_STRINGS_MAX_MB, default 512) fails the job (SOURCE_TOO_LARGE).
   */
  sharedStrings?: { memoryBytes: number; maxPartBytes: number }
  /** Tells the gateways' caches that imports (and catalog, analytics) changed behind their back. */
  invalidate?: (domains: readonly ('imports' | 'catalog' | 'analytics' | 'media')[]) => Promise<void>
  /** Narrower: only the answers of these entities of a subgraph (and its answers tied to none). */
  invalidateEntities?: (domain: 'catalog', entities: string[]) => Promise<void>
}

/**
 * What the batches written since the last invalidation changed in catalog, as catalog declared it (entity tags),
 * so the gateways drop only those answers (other suppliers' pages stay cached). A batch whose call failed or was
 * retried may have been written without an answer: then all of catalog goes.
 */
class CatalogChanges {
  private readonly tags = new Set<string>()
  private whole = false

  add(changed: string[] | undefined) {
    if (changed === undefined) this.whole = true
    else for (const tag of changed) this.tags.add(tag)
  }

  unknown() {
    this.whole = true
  }

  async flush(deps: EngineDeps) {
    const whole = this.whole || !deps.invalidateEntities
    const tags = [...this.tags]
    this.whole = false
    this.tags.clear()
    if (whole) await invalidate(deps, ['catalog'])
    else if (tags.length > 0) {
      try {
        await deps.invalidateEntities!('catalog', tags)
      } catch (error) {
        deps.logger.warn('gateway cache not invalidated', { error: String(error) })
      }
    }
  }
}

/** Catalog answers cached by the gateways are made stale at most this often during an import (and at its end). */
const CATALOG_INVALIDATE_MS = 5_000

export function engineSettings(env: NodeJS.ProcessEnv) {
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name]?.trim()
    if (!raw) return fallback
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${name} must be an integer from ${min} to ${max}`)
    }
    return value
  }
  const urls = (name: string) =>
    (env[name] ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map((part) => {
        const parsed = envSchemas.httpUrl.safeParse(part)
        if (!parsed.success) throw new Error(`${name}: "${part}" is not an http(s) URL`)
        return parsed.data
      })
  return {
    batchRows: int('IMPORT_BATCH_ROWS', 2_000, 1, 5_000),
    batchesInFlight: int('IMPORT_BATCHES_IN_FLIGHT', 2, 1, 4),
    catalogUrls: urls('IMPORT_CATALOG_URLS'),
    leaseSeconds: int('IMPORT_LEASE_SECONDS', 60, 2, 3_600),
    sharedStrings: {
      memoryBytes: int('IMPORT_XLSX_SHARED_STRINGS_MEMORY_MB', 16, 0, 1_024) * 1024 * 1024,
      maxPartBytes: int('IMPORT_XLSX_SHARED_STRINGS_MAX_MB', 512, 1, 4_096) * 1024 * 1024,
    },
  }
}

/** The job's file was already imported for its configuration (and force was not asked for). */
class DuplicateFile extends Error {
  constructor(
    readonly sha256: string,
    readonly jobId: string,
  ) {
    super(`this file (SHA-256 ${sha256}) was already imported for this configuration by job ${jobId}`)
  }
}

/** The job is no longer this runner's (cancelled as pending, taken over after a lost lease). */
class LostJob extends Error {}

/** Catalog unavailable: a batch is tried this many times, backing off, before the job fails (resumable). */
const BATCH_ATTEMPTS = 5

const now = () => performance.now()

interface Batch {
  first: number
  last: number
  processed: number
  rows: ImportRow[]
  /** Source row number and raw values of each row of `rows`. */
  sources: RawRecord[]
  localFailures: number
  errors: ErrorRow[]
}

const newBatch = (): Batch => ({
  first: 0,
  last: 0,
  processed: 0,
  rows: [],
  sources: [],
  localFailures: 0,
  errors: [],
})

const log = (level: string, message: string, details?: Record<string, unknown>): LogRow => ({
  level,
  message,
  row_number: null,
  details: details ?? null,
})

/** Counts the batch's own rows (not the whole job's), e.g. "rows 1–2000". */
const span = (b: Batch) => (b.first === b.last ? `row ${b.first}` : `rows ${b.first}–${b.last}`)

const NOTIFY = `mutation($input: CreateNotificationInput!) { createNotification(input: $input) { id } }`

/**
 * Runs (or resumes) one import job to its end: claims it, gets its file into storage, streams it through the
 * parser and the mapping, writes it to catalog in batches and records each batch with the checkpoint. A
 * job already final or held by a live runner is left alone (the latter throws, so the queue retries later).
 */
export async function runImportJob(deps: EngineDeps, jobId: string, signal?: AbortSignal): Promise<void> {
  const { db } = deps
  const lease = await claimJobLease({
    db,
    table: 'import_jobs',
    label: 'import',
    jobId,
    leaseSeconds: deps.leaseSeconds,
    logger: deps.logger,
    signal,
    now: NOW_UTC,
  })
  if (!lease) return
  const { job, runner } = lease
  const started = now()
  deps.logger.info('import job claimed', { jobId, checkpoint: job.checkpoint_row })
  const catalogChanges = new CatalogChanges()
  try {
    await execute(deps, job, runner, lease.stopped, started, catalogChanges)
  } catch (error) {
    if (error instanceof LostJob) {
      // The worker is stopping: the lease is handed back and the queue runs the job again from its checkpoint.
      if (lease.interrupted()) await lease.handBack()
      deps.logger.warn('import job lost to another runner', { jobId })
      return
    }
    const message =
      error instanceof DuplicateFile || error instanceof SourceError || error instanceof CatalogRefusal
        ? error.message
        : error instanceof GraphQLError
          ? error.message
          : (error as { code?: string })?.code && (error as Error).message
            ? (error as Error).message
            : 'the import stopped on an internal error; see the worker log, then resume it'
    if (
      !(error instanceof DuplicateFile || error instanceof SourceError || error instanceof CatalogRefusal)
    ) {
      deps.logger.error('import job failed', { jobId, error: String((error as Error)?.stack ?? error) })
    }
    const code =
      error instanceof DuplicateFile
        ? 'DUPLICATE_FILE'
        : error instanceof SourceError
          ? `SOURCE_${error.code}`
          : error instanceof CatalogRefusal
            ? `CATALOG_${error.code}`
            : error instanceof GraphQLError
              ? String(error.extensions.code ?? 'INTERNAL_SERVER_ERROR')
              : String((error as { code?: string })?.code ?? 'INTERNAL_SERVER_ERROR')
    // Catalog's cached answers go before anyone can see the job ended (as on completion).
    await catalogChanges.flush(deps)
    const ended = await db.transaction().execute(async (trx) => {
      const row = await finishJob(trx, jobId, runner, 'failed', { lastError: `${code}: ${message}` })
      if (!row) return undefined
      await trx
        .insertInto('import_errors')
        .values({
          job_id: jobId,
          row_number: error instanceof SourceError ? (error.rowNumber ?? null) : null,
          error_code: code,
          message,
          severity: 'error',
        })
        .execute()
      await appendLogsIn(trx, jobId, [log('error', `import failed: ${message}`, { code })])
      return row
    })
    if (ended) {
      await notify(deps, ended, 'ERROR', `Import failed: ${message}`)
      await reportJobEnd(deps, ended)
    }
  } finally {
    lease.end()
    await invalidate(deps, ['imports'])
    // What the last window's batches changed (all of catalog if a batch's outcome is unknown).
    await catalogChanges.flush(deps)
  }
}

const appendLogsIn = (trx: ImportsTrx, jobId: string, rows: LogRow[]) => insertLogs(trx, jobId, rows)

async function loadConfig(db: Kysely<DB>, job: ImportJobRow): Promise<ImportConfigRow> {
  const config = job.config_id
    ? await db.selectFrom('import_configs').selectAll().where('id', '=', job.config_id).executeTakeFirst()
    : undefined
  if (!config) throw new CatalogRefusal('the job has no import configuration to run with', 'BAD_USER_INPUT')
  return config
}

/** The job's file in storage: the upload it names, or the source copied there once (so a resume reads it again). */
async function ensureFile(deps: EngineDeps, job: ImportJobRow, config: ImportConfigRow, logs: LogRow[]) {
  const existing = await jobFile(deps.db, job.id)
  if (existing?.object_key) return { file: existing, downloadMs: 0 }
  const source = job.source as ImportSource | null
  if (!source) throw new CatalogRefusal('the job has no source file', 'BAD_USER_INPUT')
  const start = now()
  const opened = await openFile(deps, config, source, 'service')
  let stored: { key: string; sha256: string; size: number }
  try {
    if (opened.objectKey) {
      stored = { key: opened.objectKey, sha256: opened.sha256!, size: opened.size ?? 0 }
      opened.stream.destroy()
    } else {
      const key = `imports/${job.id}/${opened.fileName.replace(/[^\w.-]+/g, '_').slice(0, 200) || 'file'}`
      const info = await deps.storage.put(key, opened.stream, {
        ...(opened.mimeType ? { contentType: opened.mimeType } : {}),
        metadata: { 'import-job': job.id },
      })
      stored = { key, sha256: info.sha256, size: info.size }
    }
  } finally {
    await opened.close().catch(() => {})
  }
  if (!job.force && job.config_id) {
    const earlier = await jobWithFile(deps.db, job.config_id, stored.sha256, job.id)
    if (earlier) throw new DuplicateFile(stored.sha256, earlier.id)
  }
  const file = await insertFile(deps.db, {
    job_id: job.id,
    file_name: opened.fileName.slice(0, 500),
    file_hash: stored.sha256,
    file_size_bytes: stored.size,
    mime_type: opened.mimeType?.slice(0, 100) ?? null,
    source: opened.origin,
    storage_type: deps.storage.constructor.name.toLowerCase().includes('s3') ? 's3' : 'local',
    object_key: stored.key,
  })
  logs.push(
    log('info', `file ${file.file_name} (${stored.size} bytes) fetched from ${opened.origin}`, {
      sha256: stored.sha256,
    }),
  )
  return { file, downloadMs: Math.round(now() - start) }
}

async function execute(
  deps: EngineDeps,
  job: ImportJobRow,
  runner: string,
  stopped: () => boolean,
  started: number,
  catalogChanges: CatalogChanges,
) {
  const { db } = deps
  const config = await loadConfig(db, job)
  const logs: LogRow[] = [
    job.checkpoint_row > 0
      ? log('info', `import resumed after row ${job.checkpoint_row}`, { runner })
      : log('info', 'import started', { runner, configId: config.id, supplierCode: job.supplier_code }),
  ]
  const compiled = await compileConfig(db, config)
  for (const warning of mappingWarnings(compiled.columns)) logs.push(log('warning', warning))
  const { file, downloadMs } = await ensureFile(deps, job, config, logs)
  if (file.file_size_bytes !== null) await setBytesTotal(db, job.id, Number(file.file_size_bytes))
  const supplierId = await supplierIdOf(deps.peers, job.supplier_code)
  const stream: Readable = await deps.storage.get(file.object_key!)
  const parseStart = now()
  const source = await openRecords(stream, config, file.file_name, {
    ...(deps.sharedStrings ? { sharedStrings: deps.sharedStrings } : {}),
  })
  logs.push(
    log('info', `reading ${source.format.toUpperCase()}`, {
      format: source.format,
      ...(source.encoding ? { encoding: source.encoding } : {}),
      ...(source.delimiter ? { delimiter: source.delimiter } : {}),
    }),
  )
  if (!file.file_format) {
    await db
      .updateTable('import_files')
      .set({ file_format: source.format, encoding: source.encoding ?? null })
      .where('id', '=', file.id)
      .execute()
  }
  await appendLogs(db, job.id, logs)

  const columns: SourceColumns = compiled.columns
  const options = {
    userId: job.created_by,
    jobId: job.id,
    createBrands: config.create_brands,
    createCategories: config.create_categories,
  }
  // Time with at least one batch in catalog (batches overlap): what the statistics call persisting.
  let persistMs = 0
  let sending = 0
  let sendingSince = 0
  const timed = async <T>(work: () => Promise<T>): Promise<T> => {
    if (sending++ === 0) sendingSince = now()
    try {
      return await work()
    } finally {
      if (--sending === 0) persistMs += now() - sendingSince
    }
  }
  // The image URLs of each committed catalog batch go to media before the batch's checkpoint is recorded: a
  // resumed job sends them again, and media keeps each URL of a product once.
  const media = new MediaHandoff(deps.peers, deps.logger)
  let warningsLogged = 0
  let cancelled = false
  let lastRow = job.checkpoint_row
  let lastCatalogBump = now()

  /** The catalog instances batches are written through, one after the other (see EngineDeps.catalogUrls). */
  const writers =
    deps.catalogUrls.length > 0
      ? deps.catalogUrls.map((url) => withPeerUrl(deps.peers, 'catalog', url))
      : [deps.peers]
  let batchesSent = 0

  /**
   * Writes the batch through catalog, through instance `turn` of `writers` (retried while catalog is unavailable,
   * each time through the next instance: the batch's lock and receipt are PostgreSQL's, whichever writes it).
   */
  const write = (batch: Batch, turn: number, after: number | undefined) => {
    let attempt = 0
    return timed(() =>
      withRetries(
        deps,
        () =>
          sendBatch(writers[(turn + attempt++) % writers.length]!, supplierId, batch.rows, {
            ...options,
            batch: batch.first,
            ...(after === undefined ? {} : { after }),
          }),
        () => catalogChanges.unknown(),
      ),
    )
  }

  /**
   * One batch: written through catalog while the batches before it may still be in flight (catalog writes them in
   * file order: `before.first` is the last batch sent, which this one must follow), then, once the batch before
   * is recorded, its failures, image URLs and checkpoint recorded in turn. Resolves to whether a cancel was asked.
   */
  const flush = async (
    batch: Batch,
    before: { first: number | undefined; recorded: Promise<boolean> } | undefined,
  ): Promise<boolean> => {
    const errors = batch.errors
    const counts = { created: 0, updated: 0, unchanged: 0, failed: batch.localFailures }
    let result: Awaited<ReturnType<typeof sendBatch>> | undefined
    if (batch.rows.length > 0) {
      const turn = batchesSent++
      try {
        try {
          result = await write(batch, turn, before?.first)
        } catch (error) {
          // Sent ahead of the batch it follows, which had not reached catalog: again once that one is recorded.
          if (!(error instanceof BatchOutOfTurn) || !before) throw error
          await before.recorded
          result = await write(batch, turn, before.first)
        }
      } catch (error) {
        catalogChanges.unknown()
        // Settles after the batches before it, whatever they do: the job ends once all of them are recorded.
        await before?.recorded.catch(() => {})
        throw error
      }
      catalogChanges.add(result.changed)
    }
    // From here on in file order: a failed batch before this one fails it too, unrecorded (a resumed job
    // replays it from catalog's receipt).
    const cancelBefore = before ? await before.recorded : false
    if (result) {
      counts.created = result.created
      counts.updated = result.updated
      counts.unchanged = result.unchanged
      counts.failed += result.failed
      for (const failure of result.failures) {
        const record = batch.sources[failure.index]!
        errors.push(rowErrorOf(record, failure.error, columns))
      }
      if (result.imageRows.length > 0) {
        await media.hand(
          result.imageRows.map((r) => ({
            productId: r.productId,
            urls: batch.rows[r.index]!.imageUrls ?? [],
          })),
        )
      }
    }
    errors.sort((a, b) => (a.row_number ?? 0) - (b.row_number ?? 0))
    const newWarnings = source.warnings.slice(warningsLogged)
    warningsLogged = source.warnings.length
    const committed = await db.transaction().execute((trx) =>
      commitBatch(trx, job.id, runner, {
        checkpoint: batch.last,
        processed: batch.processed,
        ...counts,
        bytesRead: source.bytesRead(),
        errors,
        logs: [
          ...newWarnings.map((w) => log('warning', w)),
          log(
            'info',
            `${span(batch)}: ${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.failed} failed`,
            { ...counts, checkpoint: batch.last },
          ),
        ],
      }),
    )
    if (!committed) throw new LostJob()
    lastRow = batch.last
    const catalogToo = now() - lastCatalogBump >= CATALOG_INVALIDATE_MS
    if (catalogToo) lastCatalogBump = now()
    await invalidate(deps, catalogToo && media.queued > 0 ? ['imports', 'media'] : ['imports'])
    if (catalogToo) await catalogChanges.flush(deps)
    return cancelBefore || committed.cancelRequested
  }

  const inFlight = deps.batchesInFlight
  let batch = newBatch()
  /** The batches sent and not yet waited for, oldest first; the last one resolves after all the others. */
  const unrecorded: Promise<boolean>[] = []
  let lastSent: number | undefined
  /** Sends the batch read so far, once fewer than `inFlight` are unrecorded; true when a cancel was asked. */
  const send = async () => {
    const ready = batch
    batch = newBatch()
    while (unrecorded.length >= inFlight) if (await unrecorded.shift()) return true
    const previous = unrecorded.at(-1)
    const flushed = flush(ready, previous ? { first: lastSent, recorded: previous } : undefined)
    if (ready.rows.length > 0) lastSent = ready.first
    // Awaited by a later send or at the end; handled now so a failure is never reported as unhandled.
    flushed.catch(() => {})
    unrecorded.push(flushed)
    return false
  }
  const inflight = () => unrecorded.at(-1)
  try {
    for await (const record of source.records) {
      if (record.rowNumber <= job.checkpoint_row) continue
      if (batch.processed === 0) batch.first = record.rowNumber
      batch.last = record.rowNumber
      batch.processed++
      const { row, issues } = record.issue ? { row: undefined, issues: [record.issue] } : compiled.map(record)
      const failing = issues.filter((i) => i.severity !== 'warning')
      for (const issue of issues) batch.errors.push(rowErrorOf(record, issue, columns))
      if (!row || failing.length > 0) batch.localFailures++
      else {
        batch.rows.push(row)
        batch.sources.push(record)
      }
      if (batch.processed >= deps.batchRows) {
        if (await send()) {
          cancelled = true
          break
        }
        if (stopped()) throw new LostJob()
      }
    }
    if (!cancelled && batch.processed > 0 && (await send())) cancelled = true
    // A cancel asked for during the last batches comes too late: every row is written, the job completes.
    if (!cancelled) await inflight()
  } finally {
    // The batches already sent are recorded (what catalog wrote is counted) before the job ends either way.
    await inflight()?.catch(() => {})
    stream.destroy()
  }
  // What the batches changed leaves the gateways' caches before the job is seen ended: a caller that reads the
  // catalogue once the job says completed (or cancelled) sees the rows it wrote, not answers cached before.
  await catalogChanges.flush(deps)
  if (cancelled) {
    const ended = await db.transaction().execute(async (trx) => {
      const row = await finishJob(trx, job.id, runner, 'cancelled', {})
      if (row) await appendLogsIn(trx, job.id, [log('warning', `import cancelled after row ${lastRow}`)])
      return row
    })
    if (ended) {
      await writeStatistics(deps, ended, {
        downloadMs,
        persistMs,
        started,
        parseStart,
        bytes: source.bytesRead(),
      })
      await notify(deps, ended, 'WARNING', `Import cancelled after row ${lastRow}: what was written stays`)
      await reportJobEnd(deps, ended)
    }
    return
  }
  const totals = await db
    .selectFrom('import_jobs')
    .select(['processed_rows'])
    .where('id', '=', job.id)
    .executeTakeFirstOrThrow()
  const images = media.summary()
  const ended = await db.transaction().execute(async (trx) => {
    const row = await finishJob(trx, job.id, runner, 'completed', { totalRows: totals.processed_rows ?? 0 })
    if (row) {
      await appendLogsIn(trx, job.id, [
        ...source.warnings.slice(warningsLogged).map((w) => log('warning', w)),
        ...(media.notHandedCount > 0 ? [log('warning', images!, imageDetails(media))] : []),
        log('info', `import completed: ${row.processed_rows} rows${images ? `; ${images}` : ''}`, {
          created: row.products_created,
          updated: row.products_updated,
          unchanged: row.products_unchanged,
          failed: row.failed_rows,
          ...imageDetails(media),
        }),
      ])
    }
    return row
  })
  if (!ended) throw new LostJob()
  // Media's pending files are new answers of Product.media: the gateways' cached ones go.
  if (media.queued > 0) await invalidate(deps, ['media'])
  deps.logger.info('import job completed', { jobId: job.id, rows: ended.processed_rows })
  await writeStatistics(deps, ended, {
    downloadMs,
    persistMs,
    started,
    parseStart,
    bytes: source.bytesRead(),
  })
  await notify(
    deps,
    ended,
    ended.failed_rows ? 'WARNING' : 'SUCCESS',
    `Import completed: ${ended.products_created} created, ${ended.products_updated} updated, ${ended.products_unchanged} unchanged, ${ended.failed_rows} failed`,
  )
  await reportJobEnd(deps, ended)
}

/** What the job's log records of its image URLs: how many media took, how many not and why. */
const imageDetails = (media: MediaHandoff) => ({
  imageUrlsHanded: media.handed,
  imageUrlsQueued: media.queued,
  imageUrlsKnown: media.known,
  imageUrlsNotHanded: media.notHandedCount,
  ...(media.notHanded.size > 0 ? { imageUrlsNotHandedReasons: Object.fromEntries(media.notHanded) } : {}),
})

/** Catalog unavailable: wait and try the same batch again (its receipt makes a retry safe). */
function withRetries<T>(deps: EngineDeps, work: () => Promise<T>, onRetry?: () => void): Promise<T> {
  return retryUnavailable(work, {
    attempts: BATCH_ATTEMPTS,
    backoffMs: 500,
    onRetry: (attempt) => {
      onRetry?.()
      deps.logger.warn('catalog unavailable; batch retried', { attempt })
    },
  })
}

async function invalidate(deps: EngineDeps, domains: ('imports' | 'catalog' | 'media')[]) {
  try {
    await deps.invalidate?.(domains)
  } catch (error) {
    deps.logger.warn('gateway cache not invalidated', { error: String(error) })
  }
}

async function writeStatistics(
  deps: EngineDeps,
  job: ImportJobRow,
  t: { downloadMs: number; persistMs: number; started: number; parseStart: number; bytes: number },
) {
  const { byCode, warnings } = await errorsByCode(deps.db, job.id)
  const totalMs = Math.round(now() - t.started)
  const rows = job.processed_rows ?? 0
  await upsertStatistics(deps.db, {
    job_id: job.id,
    products_unchanged: job.products_unchanged,
    warning_count: warnings,
    errors_by_code: JSON.stringify(byCode),
    file_count: 1,
    bytes_processed: t.bytes,
    download_duration_ms: t.downloadMs,
    parse_duration_ms: Math.max(0, Math.round(now() - t.parseStart - t.persistMs)),
    persist_duration_ms: Math.round(t.persistMs),
    total_duration_ms: totalMs,
    rows_per_second: totalMs > 0 ? (rows / (totalMs / 1_000)).toFixed(2) : null,
  })
}

/** Tells the job's creator how it ended (core's notifications); a failure to notify is logged only. */
async function notify(deps: EngineDeps, job: ImportJobRow, type: string, message: string) {
  if (!job.created_by) return
  try {
    await queryPeer(deps.peers, 'core', NOTIFY, {
      input: {
        userId: job.created_by,
        title: `Import ${job.status}: ${job.supplier_code}`.slice(0, 255),
        message,
        type,
        metadata: { importJobId: job.id, status: job.status },
      },
    })
  } catch (error) {
    deps.logger.warn('import notification not delivered', { jobId: job.id, error: String(error) })
  }
}
