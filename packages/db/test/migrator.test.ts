import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase, type TestDatabase } from '@pm/testing'
import pg from 'pg'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DatabaseUnavailableError, getMigrationStatus, MigrationError, runMigrations } from '../src'

const databases: TestDatabase[] = []
let dir: string

function writeMigration(name: string, up: string, down: string) {
  writeFileSync(
    join(dir, 'core', name),
    `-- a test migration\n-- migrate:up\n${up}\n\n-- migrate:down\n${down}\n`,
  )
}

async function query<T = Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text)).rows as T[]
  } finally {
    await client.end()
  }
}

async function freshDatabase() {
  const database = await createTestDatabase('migrator')
  databases.push(database)
  return database.url
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pm-migrations-'))
  mkdirSync(join(dir, 'core'))
  writeMigration('001_first.sql', 'CREATE TABLE a (id int PRIMARY KEY);', 'DROP TABLE a;')
  // The sleep widens the window in which a second migrator could interleave.
  writeMigration('002_second.sql', 'CREATE TABLE b (id int); SELECT pg_sleep(0.3);', 'DROP TABLE b;')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))
afterAll(async () => {
  await Promise.all(databases.map((d) => d.drop()))
})

describe('runMigrations', () => {
  it('applies, reports status, reverts by steps', async () => {
    const url = await freshDatabase()
    const opts = { connectionString: url, domain: 'core' as const, migrationsDir: dir }
    expect((await getMigrationStatus(opts)).map((s) => s.state)).toEqual(['pending', 'pending'])
    expect(await runMigrations({ ...opts, direction: 'up', steps: 1 })).toEqual({
      applied: ['001_first.sql'],
    })
    expect((await getMigrationStatus(opts)).map((s) => s.state)).toEqual(['applied', 'pending'])
    expect(await runMigrations({ ...opts, direction: 'up' })).toEqual({ applied: ['002_second.sql'] })
    expect(await runMigrations({ ...opts, direction: 'up' })).toEqual({ applied: [] })
    expect(await runMigrations({ ...opts, direction: 'down' })).toEqual({ applied: ['002_second.sql'] })
    expect(await runMigrations({ ...opts, direction: 'down', steps: 5 })).toEqual({
      applied: ['001_first.sql'],
    })
    const tables = await query(url, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
    expect(tables).toEqual([])
  })

  it('lets only one of two racing migrators apply each file', async () => {
    const url = await freshDatabase()
    const opts = {
      connectionString: url,
      domain: 'core' as const,
      migrationsDir: dir,
      direction: 'up' as const,
    }
    const [first, second] = await Promise.all([runMigrations(opts), runMigrations(opts)])
    expect([...first.applied, ...second.applied].sort()).toEqual(['001_first.sql', '002_second.sql'])
    const history = await query(url, 'SELECT version FROM pm.schema_migrations ORDER BY version')
    expect(history).toEqual([{ version: '001' }, { version: '002' }])
  })

  it('rolls a broken file back entirely and names it', async () => {
    const url = await freshDatabase()
    writeMigration(
      '003_broken.sql',
      'CREATE TABLE c (id int);\nINSERT INTO c SELECT id FROM nowhere;',
      'DROP TABLE c;',
    )
    const run = runMigrations({ connectionString: url, domain: 'core', migrationsDir: dir, direction: 'up' })
    await expect(run).rejects.toThrow(MigrationError)
    await expect(run).rejects.toThrow(
      /003_broken\.sql \(up\) failed \(line 4\): relation "nowhere" does not exist/,
    )
    const tables = await query<{ tablename: string }>(
      url,
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
    )
    expect(tables.map((t) => t.tablename)).toEqual(['a', 'b'])
    const states = await getMigrationStatus({ connectionString: url, domain: 'core', migrationsDir: dir })
    expect(states.map((s) => s.state)).toEqual(['applied', 'applied', 'pending'])
  })

  it('refuses to run when an applied file was edited', async () => {
    const url = await freshDatabase()
    const opts = { connectionString: url, domain: 'core' as const, migrationsDir: dir }
    await runMigrations({ ...opts, direction: 'up' })
    writeMigration('001_first.sql', 'CREATE TABLE a (id bigint PRIMARY KEY);', 'DROP TABLE a;')
    expect((await getMigrationStatus(opts))[0]!.state).toBe('changed')
    await expect(runMigrations({ ...opts, direction: 'up' })).rejects.toThrow(/001_first\.sql was edited/)
  })

  it('names an unreachable server by domain and host, without its password', async () => {
    const run = runMigrations({
      connectionString: 'postgres://admin:s3cret-pass@127.0.0.1:1/db_core',
      domain: 'core',
      migrationsDir: dir,
      direction: 'up',
    })
    await expect(run).rejects.toThrow(DatabaseUnavailableError)
    const error = await run.catch((e: Error) => e)
    expect((error as Error).message).toContain('core database (127.0.0.1:1/db_core) is unreachable')
    expect((error as Error).message).not.toContain('s3cret')
  })
})
