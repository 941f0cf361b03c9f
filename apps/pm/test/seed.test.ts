import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { DOMAINS } from '@pm/db'
import { createTestDatabase, type TestDatabase } from '@pm/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = new URL('../../../', import.meta.url).pathname
const databases: TestDatabase[] = []
let env: NodeJS.ProcessEnv

async function pm(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      `${ROOT}node_modules/.bin/tsx`,
      ['apps/pm/src/main.ts', ...args],
      { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

async function count(domain: string, table: string): Promise<number> {
  const client = new pg.Client({ connectionString: env[`DB_${domain.toUpperCase()}_URL`] })
  await client.connect()
  try {
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${table}`)
    return rows[0].n
  } finally {
    await client.end()
  }
}

beforeAll(async () => {
  env = { PATH: process.env.PATH, HOME: process.env.HOME }
  for (const domain of DOMAINS) {
    // Empty, unmigrated databases: pm seed migrates them first.
    const database = await createTestDatabase(`cliseed_${domain}`)
    databases.push(database)
    env[`DB_${domain.toUpperCase()}_URL`] = database.url
  }
})
afterAll(() => Promise.all(databases.map((d) => d.drop())))

describe('pm seed', () => {
  it('migrates and loads the seven databases, then refuses a second load, then --reset reloads', async () => {
    const first = await pm('seed', '--products', '500')
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/catalog: applied 001_initial_schema\.sql/)
    expect(first.stdout).toMatch(/db_catalog\.products\s+500 rows\s+[\d,]+ ms/)
    expect(first.stdout).toMatch(/db_media\.media_thumbnails\s+[\d,]+ rows/)
    expect(first.stdout).toMatch(/seeded 500 products, \d+ rows in \d+ tables of 7 databases in [\d.]+ s/)
    expect(await count('catalog', 'products')).toBe(500)
    expect(await count('imports', 'import_jobs')).toBe(240)
    expect(await count('core', 'users')).toBe(8)

    const again = await pm('seed', '--products', '500')
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('db_catalog already has 500 products')
    expect(again.stderr).toContain('--reset')
    expect(await count('catalog', 'products')).toBe(500)

    const reset = await pm('seed', '--products', '300', '--seed', '7', '--reset')
    expect(reset.code).toBe(0)
    expect(reset.stdout).toContain('!!! --reset: EMPTYING EVERY TABLE of the seven databases')
    expect(reset.stdout).toMatch(/!!! \d+ tables emptied/)
    expect(reset.stdout).toContain('(seed 7)')
    expect(await count('catalog', 'products')).toBe(300)
    expect(await count('catalog', 'pm.schema_migrations')).toBeGreaterThan(0)
  })

  it('explains bad usage with exit code 2', async () => {
    const zero = await pm('seed', '--products', '0')
    expect(zero.code).toBe(2)
    expect(zero.stderr).toContain('--products must be a positive integer')
    const word = await pm('seed', '--products', 'many')
    expect(word.code).toBe(2)
    expect(word.stderr).toContain('--products must be a non-negative integer')
  })
})
