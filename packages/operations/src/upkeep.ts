import type { Domain } from '@pm/db'
import pg from 'pg'
import { OperationError, withClient } from './connect'

/** import_logs months kept (older partitions are detached and dropped). */
export const DEFAULT_LOG_RETENTION_MONTHS = 12
/** Months past the current one whose import_logs partitions exist ahead of time. */
export const DEFAULT_PARTITION_MONTHS_AHEAD = 2

export interface UpkeepSettings {
  logRetentionMonths: number
  monthsAhead: number
}

export function upkeepSettings(env: NodeJS.ProcessEnv = process.env): UpkeepSettings {
  const int = (name: string, fallback: number, min: number) => {
    const raw = env[name]?.trim()
    if (!raw) return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min)
      throw new OperationError(`${name} must be an integer of at least ${min}, got "${raw}"`)
    return n
  }
  return {
    logRetentionMonths: int('IMPORT_LOG_RETENTION_MONTHS', DEFAULT_LOG_RETENTION_MONTHS, 1),
    monthsAhead: int('IMPORT_LOG_PARTITIONS_AHEAD', DEFAULT_PARTITION_MONTHS_AHEAD, 1),
  }
}

export interface PartitionUpkeep {
  created: number
  /** Rows moved out of the default partition into their month's partition. */
  movedMonths: string[]
  /** Rows older than the retention deleted from the default partition. */
  expiredDefaultRows: number
  dropped: string[]
}

const monthStart = (d: Date, shift = 0) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + shift, 1))
const ymd = (d: Date) => d.toISOString().slice(0, 10)

/**
 * import_logs upkeep (db_imports): partitions created ahead, rows sitting in the default partition moved into
 * their month's partition (created for them), months older than the retention detached and dropped, each a
 * short transaction of its own.
 */
export async function partitionUpkeep(
  url: string,
  settings: UpkeepSettings,
  now = new Date(),
  log: (line: string) => void = () => {},
): Promise<PartitionUpkeep> {
  const cutoff = monthStart(now, -settings.logRetentionMonths)
  return withClient('imports', url, async (client) => {
    const result: PartitionUpkeep = { created: 0, movedMonths: [], expiredDefaultRows: 0, dropped: [] }
    const expired = await client.query(`DELETE FROM import_logs_default WHERE created_at < $1`, [cutoff])
    result.expiredDefaultRows = expired.rowCount ?? 0
    const { rows } = await client.query<{ m: Date }>(
      `SELECT DISTINCT date_trunc('month', created_at) AS m FROM import_logs_default ORDER BY 1`,
    )
    for (const { m } of rows) {
      const month = ymd(new Date(Date.UTC(m.getFullYear(), m.getMonth(), 1)))
      const created = await client.query<{ n: number }>(
        'SELECT ensure_import_logs_partitions(0, $1::date) AS n',
        [month],
      )
      result.created += Number(created.rows[0]!.n)
      result.movedMonths.push(month.slice(0, 7))
      log(`imports: import_logs rows of ${month.slice(0, 7)} moved out of the default partition`)
    }
    const ahead = await client.query<{ n: number }>(
      'SELECT ensure_import_logs_partitions($1, $2::date) AS n',
      [settings.monthsAhead, ymd(monthStart(now))],
    )
    result.created += Number(ahead.rows[0]!.n)
    const partitions = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'import_logs'::regclass AND c.relname ~ '^import_logs_y[0-9]{4}m[0-9]{2}$' ORDER BY 1`,
    )
    for (const { name } of partitions.rows) {
      const [, y, mo] = /y(\d{4})m(\d{2})$/.exec(name)!
      if (new Date(Date.UTC(Number(y), Number(mo) - 1, 1)) >= cutoff) continue
      await client.query(`ALTER TABLE import_logs DETACH PARTITION ${pg.escapeIdentifier(name)}`)
      await client.query(`DROP TABLE ${pg.escapeIdentifier(name)}`)
      result.dropped.push(name)
      log(`imports: ${name} detached and dropped (older than ${settings.logRetentionMonths} months)`)
    }
    log(`imports: ${result.created} import_logs partitions created`)
    return result
  })
}

export interface ExpiredRows {
  notifications: number
  refreshTokens: number
  loginAttempts: number
}

/**
 * db_core's expiring rows: notifications past their expires_at (7 days by default), refresh tokens expired
 * for a day, password attempts older than a day (the throttle looks 15 minutes back).
 */
export async function cleanExpired(url: string, domain: Domain = 'core'): Promise<ExpiredRows> {
  return withClient(domain, url, async (client) => {
    const n = await client.query('DELETE FROM notifications WHERE expires_at < NOW()')
    const t = await client.query(`DELETE FROM refresh_tokens WHERE expires_at < NOW() - INTERVAL '1 day'`)
    const l = await client.query(`DELETE FROM login_attempts WHERE attempted_at < NOW() - INTERVAL '1 day'`)
    return { notifications: n.rowCount ?? 0, refreshTokens: t.rowCount ?? 0, loginAttempts: l.rowCount ?? 0 }
  })
}
