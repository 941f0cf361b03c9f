import type { DB } from '@pm/db/types/exports'
import { type Insertable, sql, type Transaction } from 'kysely'

/** The SQL of the mutations; every function runs inside the mutation's transaction. */
export type ExportsTrx = Transaction<DB>

/** TIMESTAMP columns hold UTC: the transaction's start time, whatever the session's zone. */
export const NOW_UTC = sql<Date>`(now() AT TIME ZONE 'UTC')`

// ---------------------------------------------------------------- platforms

export async function platformNameTaken(trx: ExportsTrx, name: string, exceptId: string | null) {
  let query = trx.selectFrom('export_platforms').select('id').where('name', '=', name)
  if (exceptId) query = query.where('id', '<>', exceptId)
  return (await query.executeTakeFirst()) !== undefined
}

export function insertPlatform(trx: ExportsTrx, values: Insertable<DB['export_platforms']>) {
  return trx.insertInto('export_platforms').values(values).returningAll().executeTakeFirstOrThrow()
}

/** FOR SHARE: the platform cannot be deactivated while a job for it is being created. */
export function platformForShare(trx: ExportsTrx, id: string) {
  return trx.selectFrom('export_platforms').selectAll().where('id', '=', id).forShare().executeTakeFirst()
}

// ---------------------------------------------------------------- jobs and items

export function insertJob(trx: ExportsTrx, values: Insertable<DB['export_jobs']>) {
  return trx.insertInto('export_jobs').values(values).returningAll().executeTakeFirstOrThrow()
}

/** When the platform's last completed feed export started (UTC, RFC 3339 with microseconds); null when none. */
export async function lastExportStart(trx: ExportsTrx, platformId: string): Promise<string | null> {
  const last = await trx
    .selectFrom('export_jobs')
    .select(sql<string>`to_char(MAX(started_at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('since'))
    .where('platform_id', '=', platformId)
    .where('status', '=', 'completed')
    .where('format', 'is not', null)
    .executeTakeFirst()
  return last?.since ?? null
}

/** Whether the job's runner answered within the lease (its heartbeat is newer than `leaseSeconds`). */
export async function runnerLive(trx: ExportsTrx, jobId: string, leaseSeconds: number): Promise<boolean> {
  const { rows } = await sql<{ live: boolean }>`
    SELECT heartbeat_at > NOW() - make_interval(secs => ${leaseSeconds}) AS live
    FROM export_jobs WHERE id = ${jobId}::uuid`.execute(trx)
  return rows[0]?.live === true
}

/**
 * The items a failure gave up on (a row to send, no answer of the shop) become pending again; returns how many.
 */
export async function reopenUnsentItems(trx: ExportsTrx, jobId: string): Promise<number> {
  const reopened = await trx
    .updateTable('export_job_items')
    .set({ status: 'pending', error_message: null, processed_at: null })
    .where('job_id', '=', jobId)
    .where('status', '=', 'failed')
    .where('response_data', 'is', null)
    .where('exported_data', 'is not', null)
    .executeTakeFirst()
  return Number(reopened.numUpdatedRows)
}

/** Every item of a job in one statement, whatever their number (one uuid[] parameter). */
export async function insertItems(trx: ExportsTrx, jobId: string, productIds: readonly string[]) {
  const result = await sql`
    INSERT INTO export_job_items (job_id, product_id)
    SELECT ${jobId}::uuid, p FROM unnest(${[...productIds]}::uuid[]) AS p`.execute(trx)
  return Number(result.numAffectedRows ?? 0)
}

export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled'

/** The columns that move a job (locked and checked): running stamps started_at, a final status completed_at. */
export function transitionValues(to: JobStatus) {
  return {
    status: to,
    ...(to === 'running' ? { started_at: NOW_UTC } : {}),
    ...(to !== 'running' && to !== 'pending' ? { completed_at: NOW_UTC } : {}),
  }
}

export async function pendingItemCount(trx: ExportsTrx, jobId: string): Promise<number> {
  const row = await trx
    .selectFrom('export_job_items')
    .select(sql<string>`count(*)`.as('n'))
    .where('job_id', '=', jobId)
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/**
 * Counts one processed item on its running job in one statement (col = col + 1 under the row lock), and
 * completes the job when that was its last pending item; undefined when the job is not running.
 */
export function countItemResult(trx: ExportsTrx, jobId: string, result: 'success' | 'failed') {
  const done = sql<boolean>`COALESCE(success_items, 0) + COALESCE(failed_items, 0) + 1 >= COALESCE(total_items, 0)`
  return trx
    .updateTable('export_jobs')
    .set({
      ...(result === 'success'
        ? { success_items: sql<number>`COALESCE(success_items, 0) + 1` }
        : { failed_items: sql<number>`COALESCE(failed_items, 0) + 1` }),
      status: sql<string>`CASE WHEN ${done} THEN 'completed' ELSE status END`,
      completed_at: sql<Date>`CASE WHEN ${done} THEN ${NOW_UTC} ELSE completed_at END`,
    })
    .where('id', '=', jobId)
    .where('status', '=', 'running')
    .returningAll()
    .executeTakeFirst()
}
