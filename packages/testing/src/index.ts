import { randomBytes } from 'node:crypto'
import { type Domain, databaseUrl, migrateDatabase } from '@pm/db'
import pg from 'pg'
import { inject } from 'vitest'

export { freePort } from './ports'

declare module 'vitest' {
  export interface ProvidedContext {
    testServerUrl: string
  }
}

export interface TestDatabase {
  url: string
  name: string
  drop(): Promise<void>
}

export function testServerUrl(): string {
  // Outside vitest (the import benchmark drives a stack too), the server the caller names.
  return process.env.PM_STACK_SERVER_URL?.trim() || inject('testServerUrl')
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl(testServerUrl(), 'postgres') })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** A fresh, uniquely named, empty database on the test server. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `t_${prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_')}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
  await admin((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`))
  return {
    name,
    url: databaseUrl(testServerUrl(), name),
    drop: () =>
      admin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)).then(
        () => {},
      ),
  }
}

/** A fresh database of one domain, migrated to head. */
export async function createMigratedDatabase(domain: Domain, prefix: string = domain): Promise<TestDatabase> {
  const database = await createTestDatabase(prefix)
  await migrateDatabase(domain, database.url)
  return database
}
