import pg from 'pg'
import { databaseUrl, describeUrl } from './config'
import type { Domain } from './domains'
import { DatabaseUnavailableError } from './pool'

/** Creates the database a URL names when it is missing; true when it was created. */
export async function ensureDatabase(domain: Domain, url: string): Promise<boolean> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1))
  if (!name) throw new Error(`${domain}: ${describeUrl(url)} names no database`)
  // Connect to the server's maintenance database: the target may not exist yet.
  const client = new pg.Client({
    connectionString: databaseUrl(url, 'postgres'),
    connectionTimeoutMillis: 10_000,
  })
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    await client.end().catch(() => {})
    throw new DatabaseUnavailableError(domain, url, error)
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (rowCount) return false
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`)
      return true
    } catch (error) {
      // Another process created it between our check and our CREATE.
      if ((error as { code?: string }).code === '42P04') return false
      throw error
    }
  } finally {
    await client.end().catch(() => {})
  }
}
