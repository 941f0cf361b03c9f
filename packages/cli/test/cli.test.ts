import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { DOMAINS } from '@pm/db'
import { createTestDatabase, type TestDatabase } from '@pm/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = new URL('../../../', import.meta.url).pathname
const databases: TestDatabase[] = []
let env: NodeJS.ProcessEnv

async function pm(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      `${ROOT}node_modules/.bin/tsx`,
      ['packages/cli/src/main.ts', ...args],
      { cwd: ROOT, env },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

beforeAll(async () => {
  env = { PATH: process.env.PATH, HOME: process.env.HOME }
  for (const domain of DOMAINS) {
    const database = await createTestDatabase(`cli_${domain}`)
    databases.push(database)
    env[`DB_${domain.toUpperCase()}_URL`] = database.url
  }
})
afterAll(() => Promise.all(databases.map((d) => d.drop())))

describe('pm', () => {
  it('migrates all seven databases up, reports status, steps down one domain', async () => {
    const up = await pm('migrate', 'up')
    expect(up.code).toBe(0)
    expect(up.stdout).toMatch(/catalog: applied 001_initial_schema\.sql/)
    const status = await pm('migrate', 'status')
    expect(status.code).toBe(0)
    expect(status.stdout).toContain('all 7 databases at head')
    const down = await pm('migrate', 'down', '--domain', 'media', '--steps', '1')
    expect(down.code).toBe(0)
    expect(down.stdout).toMatch(/media: reverted 003_/)
    const behind = await pm('migrate', 'status', '--domain', 'media')
    expect(behind.code).toBe(3)
    expect(behind.stdout).toMatch(/pending\s+003_/)
    expect((await pm('migrate', 'up', '--domain', 'media')).code).toBe(0)
  })

  it('explains bad usage with exit code 2', async () => {
    const bad = await pm('migrate', 'up', '--domain', 'shoes')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--domain must be one of core, catalog, imports')
    expect((await pm('migrate', 'sideways')).code).toBe(2)
  })

  it('names an unreachable server by domain and host, never its password', async () => {
    const saved = env
    env = { ...env, DB_CORE_URL: 'postgres://admin:T0psecret@127.0.0.1:1/db_core' }
    try {
      const res = await pm('migrate', 'status', '--domain', 'core')
      expect(res.code).toBe(1)
      expect(res.stderr).toContain('core database (127.0.0.1:1/db_core) is unreachable')
      expect(res.stderr + res.stdout).not.toContain('T0psecret')
    } finally {
      env = saved
    }
  })
})
