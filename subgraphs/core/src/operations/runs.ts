import type { DatabaseOf, Domain } from '@pm/db'
import { ConfigError, DOMAINS, loadDatabaseConfig } from '@pm/db'
import { addJobInTransaction } from '@pm/jobs'
import { OperationError, type OperationKind, type OperationRequest, runOperation } from '@pm/operations'
import type { Logger } from '@pm/service-kit'
import type { Storage } from '@pm/storage'
import { type Kysely, sql, type Transaction } from 'kysely'

type CoreDb = Kysely<DatabaseOf<'core'>>

/** The worker task that runs one operation run ({ runId }). */
export const OPERATION_TASK = 'operations:run'

export interface OperationRunRow {
  id: string
  kind: string
  domain: string | null
  target_table: string | null
  dry_run: boolean
  status: string
  progress: number
  result: unknown
  error: string | null
  source: string
  requested_by: string | null
  created_at: Date
  started_at: Date | null
  finished_at: Date | null
}

export type OperationRun = ReturnType<typeof toOperationRun>

/**
 * A DatabaseHealth: one domain's part of the latest `report` run's JSON result (written by the report
 * operation), with the domain in upper case.
 */
export type DatabaseHealthReport = Record<string, unknown> & { domain: string }

/** A ReferenceIntegrity as an integrity_check run's JSON result records it, its policy in upper case. */
export type ReferenceIntegrityResult = Record<string, unknown> & {
  policy: string
  flagged: number
  cleared: number
}

/** OperationRun as the schema shows it. */
export function toOperationRun(row: OperationRunRow) {
  return {
    id: row.id,
    kind: row.kind.toUpperCase(),
    domain: row.domain?.toUpperCase() ?? null,
    table: row.target_table,
    dryRun: row.dry_run,
    status: row.status.toUpperCase(),
    progress: row.progress,
    result: row.result ?? {},
    error: row.error,
    source: row.source.toUpperCase(),
    requestedBy: row.requested_by,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  }
}

export interface NewRun extends OperationRequest {
  source: 'api' | 'cli' | 'schedule'
  requestedBy?: string | null
}

export async function insertRun(db: CoreDb | Transaction<DatabaseOf<'core'>>, run: NewRun) {
  return (await db
    .insertInto('operation_runs')
    .values({
      kind: run.kind,
      domain: run.domain ?? null,
      target_table: run.table ?? null,
      dry_run: Boolean(run.dryRun),
      source: run.source,
      requested_by: run.requestedBy ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()) as OperationRunRow
}

/**
 * Records a run and queues it in the same transaction (graphile-worker's add_jobs in db_core): both commit or
 * neither. SERVICE_UNAVAILABLE when no operations worker ever ran on this database.
 */
export async function queueRun(db: CoreDb, run: NewRun): Promise<OperationRunRow> {
  return db.transaction().execute(async (trx) => {
    const row = await insertRun(trx, run)
    await addJobInTransaction(
      trx,
      'core',
      { task: OPERATION_TASK, payload: { runId: row.id }, jobKey: `operation:${row.id}`, maxAttempts: 3 },
      { workerName: 'operations worker' },
    )
    return row
  })
}

/**
 * The domains' database URLs, from the worker's environment (DB_<DOMAIN>_URL or DATABASE_URL, as every
 * service reads them): operations connect to each database directly (pg_dump, VACUUM, statistics views).
 */
export function operationUrls(env: NodeJS.ProcessEnv): Record<Domain, string> {
  const config = loadDatabaseConfig(env)
  if (config.mode !== 'external') {
    throw new ConfigError(
      'operations need every database URL: set DATABASE_URL or DB_<DOMAIN>_URL for the core worker (pnpm start gives them itself)',
    )
  }
  return Object.fromEntries(DOMAINS.map((d) => [d, config.domains[d].url])) as Record<Domain, string>
}

export interface RunDeps {
  db: CoreDb
  storage: Storage
  env: NodeJS.ProcessEnv
  logger: Logger
  /** After a run that wrote into databases (integrity fix): drop the gateway's cached answers of them. */
  invalidate?: (domains: Domain[]) => Promise<void>
}

class Cancelled extends Error {}

/**
 * Runs one recorded operation: claims it (pending, or running after a dead worker), runs it with progress
 * and checkpoint written to its row after every step (a resumed run skips the steps done), and records the
 * outcome. A cancel request stops it after the current step; a worker stop releases it to resume later.
 */
export async function executeRun(
  deps: RunDeps,
  runId: string,
  signal?: AbortSignal,
): Promise<OperationRunRow | undefined> {
  const { db, logger } = deps
  const claimed = (await db
    .updateTable('operation_runs')
    .set({ status: 'running', started_at: sql`COALESCE(started_at, NOW())` })
    .where('id', '=', runId)
    .where('status', 'in', ['pending', 'running'])
    .returningAll()
    .executeTakeFirst()) as OperationRunRow | undefined
  if (!claimed) return undefined
  const cancel = new AbortController()
  const stop = signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal
  const kind = claimed.kind as OperationKind
  try {
    const result = await runOperation(
      {
        kind,
        domain: (claimed.domain as Domain | null) ?? null,
        table: claimed.target_table,
        dryRun: claimed.dry_run,
      },
      {
        urls: operationUrls(deps.env),
        storage: deps.storage,
        env: deps.env,
        signal: stop,
        checkpoint: (claimed.result ?? {}) as Record<string, unknown>,
        log: (line) => logger.info(line, { runId, kind }),
        ...(deps.invalidate ? { invalidate: deps.invalidate } : {}),
        progress: async (partial, done, total) => {
          const row = await db
            .updateTable('operation_runs')
            .set({
              result: JSON.stringify(partial),
              progress: total > 0 ? Math.min(99, Math.round((done / total) * 100)) : sql`progress`,
            })
            .where('id', '=', runId)
            .returning('status')
            .executeTakeFirst()
          if (row?.status === 'cancelled') cancel.abort(new Cancelled())
        },
      },
    )
    return (await db
      .updateTable('operation_runs')
      .set({ status: 'completed', progress: 100, result: JSON.stringify(result), finished_at: sql`NOW()` })
      .where('id', '=', runId)
      .where('status', '=', 'running')
      .returningAll()
      .executeTakeFirst()) as OperationRunRow | undefined
  } catch (error) {
    if (cancel.signal.aborted) {
      await db
        .updateTable('operation_runs')
        .set({ finished_at: sql`NOW()` })
        .where('id', '=', runId)
        .execute()
      return undefined
    }
    // The worker is stopping: the job is released and resumes from the checkpoint.
    if (signal?.aborted) throw error
    const known =
      error instanceof OperationError ||
      error instanceof ConfigError ||
      (error as Error)?.name?.endsWith('Error')
    const message = known ? (error as Error).message : 'unexpected error'
    logger.error('operation run failed', { runId, kind, error: (error as Error)?.message })
    await db
      .updateTable('operation_runs')
      .set({ status: 'failed', error: message.slice(0, 2_000), finished_at: sql`NOW()` })
      .where('id', '=', runId)
      .execute()
    return undefined
  }
}
