import { createInterface } from 'node:readline'
import { PassThrough } from 'node:stream'
import { type AllowPrivate, ConnectorError, connectorFromConfig } from '@pm/connectors'
import type { DB } from '@pm/db/types/exports'
import { claimJobLease } from '@pm/jobs'
import { GraphQueryError, type Logger, queryGraph } from '@pm/service-kit'
import type { Storage } from '@pm/storage'
import { RuleConfigError } from '@pm/transform'
import { type Kysely, type Selectable, sql } from 'kysely'
import {
  compileMapping,
  type GraphProduct,
  platformMapping,
  productSelection,
  type Row,
} from '../engine/mapping'
import { ShopError, type ShopOptions, shopConnector } from '../engine/shops'
import { CONTENT_TYPES, type FeedFormat, FORMATS, feedWriter } from '../engine/writers'

export interface ExportDeps {
  db: Kysely<DB>
  storage: Storage
  /** The gateway, queried as the signed SERVICE caller. */
  graph: { url: string; secret: string }
  logger: Logger
  /** Products asked of the graph per page (EXPORT_PAGE_SIZE, default 500, at most 1,000: the list's bound for service callers). */
  pageSize: number
  /** A running job whose heartbeat is older than this has lost its worker (EXPORT_LEASE_SECONDS). */
  leaseSeconds: number
  /** Outbound pushes (shops, SFTP/FTP): FETCH_ALLOW_PRIVATE. */
  allowPrivate: AllowPrivate
  shop?: ShopOptions
  /** Tells the gateways' caches that exports changed behind their back. */
  invalidate?: () => Promise<void>
}

/** What a job selects, as startExport stored it. */
export interface ExportSelection {
  supplierId?: string
  categoryId?: string
  status?: string
  productIds?: string[]
  /** Products changed at or after this time (the platform's last completed export when asked). */
  updatedSince?: string
}

type JobRow = Selectable<DB['export_jobs']>

/** The job is no longer this runner's: cancelled, or taken over after a lost lease. */
class LostJob extends Error {}
/** Why a job fails, meant for its users (the message is kept on the job). */
class ExportFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const partKey = (jobId: string, part: number) =>
  `exports/${jobId}/parts/${String(part).padStart(6, '0')}.jsonl`
export const feedKey = (jobId: string, format: FeedFormat) => `exports/${jobId}/feed.${format}`

const PRODUCTS = (
  selection: string,
) => `query ExportProducts($filter: ProductFilter, $first: Int!, $after: String, $count: Boolean!) {
  products(filter: $filter, first: $first, after: $after) {
    totalCount @include(if: $count)
    edges { node { ${selection} } }
    pageInfo { hasNextPage endCursor }
  }
}`

interface Page {
  products: {
    totalCount?: number
    edges: { node: GraphProduct }[]
    pageInfo: { hasNextPage: boolean; endCursor: string | null }
  }
}

/**
 * Runs (or resumes) one export job to its end: claims it with a lease, reads the selected products through the
 * gateway one keyset page at a time (the next page asked while this one is written), maps each product with the
 * platform's field mappings, stages each page in storage and commits it with its items and the cursor in one
 * transaction (a resumed job starts after the last committed page: no product twice), then assembles the feed
 * file (csv, xlsx, json or xml) from the staged pages, streamed, and delivers it (SFTP/FTP, or a shop's API,
 * item by item). A cancelled job stops at the next page and keeps no file.
 */
export async function runExportJob(deps: ExportDeps, jobId: string, signal?: AbortSignal): Promise<void> {
  const { db } = deps
  const lease = await claimJobLease({
    db,
    table: 'export_jobs',
    label: 'export',
    jobId,
    leaseSeconds: deps.leaseSeconds,
    logger: deps.logger,
    signal,
    claim: { phase: sql`COALESCE(phase, 'collect')` },
    // A job with no format has its items recorded by a caller: no worker runs it.
    runnable: (eb) => eb('format', 'is not', null),
  })
  if (!lease) return
  const { job, runner } = lease
  try {
    await execute(deps, job, runner, lease.stopped, signal)
  } catch (error) {
    // The worker stopping aborts a call in flight (a shop's): the job is interrupted, not failed.
    if (error instanceof LostJob || signal?.aborted) {
      if (lease.interrupted()) await lease.handBack()
      await cleanUpIfCancelled(deps, jobId, runner)
      return
    }
    const known = error instanceof ExportFailure
    const code = known
      ? error.code
      : error instanceof ShopError
        ? 'SHOP_REFUSED'
        : error instanceof ConnectorError
          ? `DELIVERY_${error.code}`
          : error instanceof GraphQueryError
            ? 'GRAPH_ERROR'
            : error instanceof RuleConfigError
              ? 'BAD_MAPPING'
              : 'INTERNAL_SERVER_ERROR'
    const message =
      known ||
      error instanceof ShopError ||
      error instanceof ConnectorError ||
      error instanceof GraphQueryError
        ? (error as Error).message
        : error instanceof RuleConfigError
          ? `the platform's field mappings are invalid: ${error.message}`
          : 'the export stopped on an internal error; see the worker log'
    if (code === 'INTERNAL_SERVER_ERROR') {
      deps.logger.error('export job failed', { jobId, error: String((error as Error)?.stack ?? error) })
    }
    await db.transaction().execute(async (trx) => {
      const failed = await trx
        .updateTable('export_jobs')
        .set({
          status: 'failed',
          completed_at: sql`NOW()`,
          last_error: `${code}: ${message}`.slice(0, 10_000),
          runner_id: null,
        })
        .where('id', '=', jobId)
        .where('runner_id', '=', runner)
        .where('status', '=', 'running')
        .returning(['id'])
        .executeTakeFirst()
      if (!failed) return
      // Products never sent (or sent without an answer) get the job's error: every item ends with a verdict;
      // resumeExport takes them up again.
      const unsent = await trx
        .updateTable('export_job_items')
        .set({
          status: 'failed',
          error_message: sql`CASE WHEN sent_at IS NULL THEN ${`not exported: ${message}`.slice(0, 10_000)}
            ELSE ${`not confirmed by the shop: ${message}`.slice(0, 10_000)} END`,
          processed_at: sql`NOW()`,
        })
        .where('job_id', '=', jobId)
        .where('status', '=', 'pending')
        .executeTakeFirst()
      const n = Number(unsent.numUpdatedRows)
      if (n > 0) {
        await trx
          .updateTable('export_jobs')
          .set({ failed_items: sql`COALESCE(failed_items, 0) + ${n}` })
          .where('id', '=', jobId)
          .execute()
      }
    })
    // The staged pages stay: resumeExport goes on from them.
  } finally {
    lease.end()
    await deps.invalidate?.().catch(() => {})
  }
}

async function deletePrefix(storage: Storage, prefix: string) {
  try {
    for await (const o of storage.list(prefix)) await storage.delete(o.key)
  } catch {}
}

/** The job's feed file, whatever its format (the staged pages are kept). */
async function deleteFeeds(storage: Storage, jobId: string) {
  for (const format of FORMATS) await storage.delete(feedKey(jobId, format)).catch(() => {})
}

async function cleanUpIfCancelled(deps: ExportDeps, jobId: string, runner: string) {
  const current = await deps.db
    .selectFrom('export_jobs')
    .select(['status', 'parts'])
    .where('id', '=', jobId)
    .executeTakeFirst()
  if (current?.status === 'cancelled') {
    // No feed stays, nor a page staged but not committed; the committed pages do, for resumeExport (they go
    // when the job completes).
    await deleteFeeds(deps.storage, jobId)
    try {
      for await (const o of deps.storage.list(`exports/${jobId}/parts/`)) {
        const part = Number(/(\d+)\.jsonl$/.exec(o.key)?.[1])
        if (!(part < current.parts)) await deps.storage.delete(o.key)
      }
    } catch {}
    // This runner has let go: resumeExport may start another one.
    await deps.db
      .updateTable('export_jobs')
      .set({ runner_id: null })
      .where('id', '=', jobId)
      .where('runner_id', '=', runner)
      .execute()
    deps.logger.info('export job cancelled', { jobId })
  } else {
    deps.logger.warn('export job lost to another runner', { jobId })
  }
}

async function execute(
  deps: ExportDeps,
  job: JobRow,
  runner: string,
  stop: () => boolean,
  signal?: AbortSignal,
) {
  const { db } = deps
  const format = job.format as FeedFormat
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new ExportFailure('BAD_FORMAT', `unknown feed format ${job.format}`)
  }
  const platform = job.platform_id
    ? await db.selectFrom('export_platforms').selectAll().where('id', '=', job.platform_id).executeTakeFirst()
    : undefined
  if (!platform) throw new ExportFailure('NOT_FOUND', 'the job has no export platform')
  const mapping = platformMapping(platform.field_mappings)
  const compiled = compileMapping(mapping)
  const config = (platform.config ?? {}) as Record<string, unknown>
  const shop = shopConnector(platform.platform_type, config, {
    allowPrivate: deps.allowPrivate,
    ...deps.shop,
  })
  /** Commits a step only while the job is still this runner's and running; else LostJob. */
  const own = async (
    work: (
      trx: Parameters<Parameters<ReturnType<Kysely<DB>['transaction']>['execute']>[0]>[0],
    ) => Promise<void>,
    set: Record<string, unknown>,
  ) => {
    await db.transaction().execute(async (trx) => {
      const mine = await trx
        .updateTable('export_jobs')
        .set({ ...set, heartbeat_at: sql`NOW()` })
        .where('id', '=', job.id)
        .where('runner_id', '=', runner)
        .where('status', '=', 'running')
        .returning(['id'])
        .executeTakeFirst()
      if (!mine) throw new LostJob()
      await work(trx)
    })
  }

  let phase = job.phase ?? 'collect'
  if (phase === 'collect') {
    const selection = (job.selection ?? {}) as ExportSelection
    const filter: Record<string, unknown> = {}
    if (selection.supplierId) filter.supplierId = selection.supplierId
    if (selection.categoryId) filter.categoryId = selection.categoryId
    // Stored as the product's stored status ('out_of_stock'); ProductFilter takes the enum name.
    if (selection.status) filter.status = selection.status.toUpperCase()
    if (selection.productIds) filter.ids = selection.productIds
    if (selection.updatedSince) filter.updatedSince = selection.updatedSince
    const query = PRODUCTS(productSelection(mapping))
    const fetchPage = (after: string | null) =>
      queryGraph<Page>(deps.graph.url, deps.graph.secret, query, {
        filter,
        first: deps.pageSize,
        after,
        count: after === null,
      })
    let part = job.parts
    let next: Promise<Page> | undefined = fetchPage(job.page_cursor)
    // A page asked ahead must not be left rejecting unobserved when the job stops.
    next.catch(() => {})
    while (next) {
      const page: Page = await next
      const { edges, pageInfo, totalCount } = page.products
      next = pageInfo.hasNextPage && pageInfo.endCursor ? fetchPage(pageInfo.endCursor) : undefined
      next?.catch(() => {})
      if (stop()) throw new LostJob()
      // The page's items as columns: one INSERT … SELECT FROM unnest(arrays) of four parameters, whatever
      // the page size (no statement of thousands of parameters to build and parse for each page).
      const lines: string[] = []
      const ids: string[] = []
      const statuses: string[] = []
      const errors: (string | null)[] = []
      const rows: (string | null)[] = []
      let ok = 0
      let failed = 0
      for (const { node } of edges) {
        const mapped = compiled.map(node)
        ids.push(node.id)
        if ('error' in mapped) {
          failed++
          statuses.push('failed')
          errors.push(mapped.error.slice(0, 10_000))
          rows.push(null)
          continue
        }
        const line = JSON.stringify(mapped.row)
        lines.push(line)
        // A feed-only job has written the row once its page is committed; a push job sends it later.
        if (!shop) ok++
        statuses.push(shop ? 'pending' : 'success')
        errors.push(null)
        rows.push(line)
      }
      if (lines.length > 0) {
        await deps.storage.put(partKey(job.id, part), `${lines.join('\n')}\n`, {
          contentType: 'application/x-ndjson',
        })
      }
      const staged = lines.length > 0 ? part + 1 : part
      await own(
        async (trx) => {
          if (ids.length === 0) return
          await sql`
            INSERT INTO export_job_items (job_id, product_id, status, error_message, exported_data, processed_at)
            SELECT ${job.id}::uuid, p, s, e, d::jsonb, CASE WHEN s <> 'pending' THEN NOW() END
            FROM unnest(${ids}::uuid[], ${statuses}::text[], ${errors}::text[], ${rows}::text[]) AS t(p, s, e, d)
          `.execute(trx)
        },
        {
          page_cursor: pageInfo.endCursor,
          parts: staged,
          ...(totalCount !== undefined ? { total_items: totalCount } : {}),
          success_items: sql`COALESCE(success_items, 0) + ${ok}`,
          failed_items: sql`COALESCE(failed_items, 0) + ${failed}`,
        },
      )
      part = staged
    }
    // The exact count (products created or removed while paging are what the pages held).
    await own(async () => {}, {
      phase: 'assemble',
      total_items: sql`(SELECT COUNT(*)::int FROM export_job_items WHERE job_id = ${job.id})`,
    })
    job.parts = part
    phase = 'assemble'
  }

  if (phase === 'assemble') {
    const key = feedKey(job.id, format)
    const out = new PassThrough({ highWaterMark: 1 << 20 })
    const writer = feedWriter(format, compiled.targets, out, { title: platform.name, kinds: compiled.kinds })
    const stored = deps.storage.put(key, out, {
      contentType: CONTENT_TYPES[format],
      metadata: { 'export-job': job.id },
    })
    stored.catch(() => {})
    try {
      for (let p = 0; p < job.parts; p++) {
        if (stop()) throw new LostJob()
        const lines = createInterface({
          input: await deps.storage.get(partKey(job.id, p)),
          crlfDelay: Infinity,
        })
        for await (const line of lines) {
          if (line) await writer.write(JSON.parse(line) as Row)
        }
      }
      await writer.end()
    } catch (error) {
      out.destroy(error as Error)
      await stored.catch(() => {})
      throw error
    }
    const info = await stored
    job.file_key = key
    await own(async () => {}, {
      phase: 'deliver',
      file_key: key,
      file_size: info.size,
      file_sha256: info.sha256,
    })
    phase = 'deliver'
  }

  if (phase === 'deliver') {
    if (shop) {
      for (;;) {
        if (stop()) throw new LostJob()
        const batch = await db
          .selectFrom('export_job_items')
          .select(['id', 'exported_data', 'sent_at'])
          .where('job_id', '=', job.id)
          .where('status', '=', 'pending')
          .orderBy('id')
          .limit(shop.batchSize)
          .execute()
        if (batch.length === 0) break
        // Stamped and committed before the call: if this runner dies before the verdicts are committed, the
        // next run knows these items may be on the shop already, and the connector looks them up there.
        await own(async (trx) => {
          await trx
            .updateTable('export_job_items')
            .set({ sent_at: sql`NOW()` })
            .where(
              'id',
              'in',
              batch.map((b) => b.id),
            )
            .execute()
        }, {})
        const verdicts = await shop.push(
          batch.map((b) => ({ itemId: b.id, row: b.exported_data as Row, maybeSent: b.sent_at !== null })),
          signal,
        )
        const ok = verdicts.filter((v) => v.ok).length
        await own(
          async (trx) => {
            for (const v of verdicts) {
              await trx
                .updateTable('export_job_items')
                .set({
                  status: v.ok ? 'success' : 'failed',
                  error_message: v.error?.slice(0, 10_000) ?? null,
                  response_data: JSON.stringify(v.response),
                  processed_at: sql`NOW()`,
                })
                .where('id', '=', v.itemId)
                .where('status', '=', 'pending')
                .execute()
            }
          },
          {
            success_items: sql`COALESCE(success_items, 0) + ${ok}`,
            failed_items: sql`COALESCE(failed_items, 0) + ${verdicts.length - ok}`,
          },
        )
      }
    }
    let deliveredTo: string | null = null
    const destination = config.destination as Record<string, unknown> | undefined
    if (destination && job.file_key) {
      const connector = connectorFromConfig(destination, { allowPrivate: deps.allowPrivate })
      if (!connector.put) throw new ExportFailure('BAD_DESTINATION', 'the destination cannot receive files')
      const name =
        typeof config.file_name === 'string' && config.file_name
          ? config.file_name
          : `${platform.name.replace(/[^\w.-]+/g, '_').slice(0, 100) || 'feed'}.${format}`
      try {
        await connector.put(name, await deps.storage.get(job.file_key))
      } finally {
        await connector.close().catch(() => {})
      }
      deliveredTo = `${String(destination.type)}://${String(destination.host)}/${[destination.path, name]
        .filter(Boolean)
        .join('/')
        .replace(/\/+/g, '/')
        .replace(/^\//, '')}`
    }
    await own(async () => {}, {
      phase: 'done',
      status: 'completed',
      completed_at: sql`NOW()`,
      runner_id: null,
      delivered_to: deliveredTo,
    })
    await deletePrefix(deps.storage, `exports/${job.id}/parts/`)
  }
}
