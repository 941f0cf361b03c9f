import type { Domain } from '@pm/db'
import pg from 'pg'
import { checkTable, withClient } from './connect'

export type MaintenanceAction = 'vacuum' | 'analyze' | 'reindex'
export const MAINTENANCE_ACTIONS: readonly MaintenanceAction[] = ['vacuum', 'analyze', 'reindex']

export interface MaintenanceOutcome {
  domain: Domain
  action: MaintenanceAction
  /** null: the whole database. */
  table: string | null
  durationMs: number
  bytesBefore: number
  bytesAfter: number
  deadTuplesBefore: number
  deadTuplesAfter: number
}

async function figures(client: pg.Client, table: string | null) {
  const { rows } = await client.query(
    `SELECT COALESCE(sum(pg_total_relation_size(relid)), 0) AS bytes, COALESCE(sum(n_dead_tup), 0) AS dead
       FROM pg_stat_user_tables WHERE schemaname = 'public' AND ($1::text IS NULL OR relname = $1)`,
    [table],
  )
  return { bytes: Number(rows[0].bytes), dead: Number(rows[0].dead) }
}

/**
 * VACUUM (ANALYZE), ANALYZE or REINDEX … CONCURRENTLY of one table or of the whole database: none of them
 * blocks reads or writes. The figures before and after are the outcome recorded.
 */
export async function runMaintenance(
  domain: Domain,
  url: string,
  action: MaintenanceAction,
  table: string | null = null,
): Promise<MaintenanceOutcome> {
  return withClient(domain, url, async (client) => {
    if (table) await checkTable(client, domain, table)
    const target = table ? pg.escapeIdentifier(table) : ''
    const before = await figures(client, table)
    const started = performance.now()
    if (action === 'vacuum') await client.query(`VACUUM (ANALYZE) ${target}`)
    else if (action === 'analyze') await client.query(`ANALYZE ${target}`)
    else if (table) await client.query(`REINDEX TABLE CONCURRENTLY ${target}`)
    else {
      const db = await client.query<{ name: string }>('SELECT current_database() AS name')
      await client.query(`REINDEX DATABASE CONCURRENTLY ${pg.escapeIdentifier(db.rows[0]!.name)}`)
    }
    const durationMs = Math.round(performance.now() - started)
    // The statistics collector reports the vacuum's effect shortly after it ends.
    await client.query('SELECT pg_stat_clear_snapshot()')
    const after = await figures(client, table)
    return {
      domain,
      action,
      table,
      durationMs,
      bytesBefore: before.bytes,
      bytesAfter: after.bytes,
      deadTuplesBefore: before.dead,
      deadTuplesAfter: after.dead,
    }
  })
}
