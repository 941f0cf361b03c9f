import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DOMAINS } from '@pm/db'
import { createTestDatabase, type TestDatabase } from '@pm/testing'
import { runPm } from '@pm/testing/cli'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = new URL('../../../', import.meta.url).pathname
const databases: TestDatabase[] = []
let env: NodeJS.ProcessEnv

const pm = (...args: string[]) => runPm(env, ...args)

/** pm with `input` on its standard input (not a terminal). */
function pmWithInput(
  input: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(`${ROOT}node_modules/.bin/tsx`, ['apps/pm/src/main.ts', ...args], {
      cwd: ROOT,
      env,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }))
    child.stdin.end(input)
  })
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
    // The latest of media's migrations goes back.
    const latest = readdirSync(new URL('../../../migrations/media/', import.meta.url))
      .sort()
      .at(-1)!
    expect(down.stdout).toContain(`media: reverted ${latest}`)
    const behind = await pm('migrate', 'status', '--domain', 'media')
    expect(behind.code).toBe(3)
    expect(behind.stdout).toMatch(new RegExp(`pending\\s+${latest}`))
    expect((await pm('migrate', 'up', '--domain', 'media')).code).toBe(0)
    // Seven databases migrated by child processes: bounded generously, a loaded 2-core machine is slow.
  }, 240_000)

  it('runs the operations that print no result: db analyze, and backup then backup list', async (context) => {
    // The databases are migrated by the first test.
    const analyzed = await pm('db', 'analyze', '--domain', 'core')
    expect(analyzed.code).toBe(0)
    expect(analyzed.stdout).toMatch(/core: analyze in \d+ ms/)
    const storage = await mkdtemp(join(tmpdir(), 'pm-cli-backups-'))
    try {
      const backup = await runPm({ ...env, STORAGE_DIR: storage }, 'backup', '--domain', 'core')
      // pg_dump older than the server (the embedded default is PostgreSQL 18): nothing to back up with here.
      if (backup.code !== 0 && /pg_dump/.test(backup.stderr)) context.skip(backup.stderr.trim())
      expect(backup.code).toBe(0)
      expect(backup.stdout).toMatch(/core: backups\/\d{8}T\d{6}Z\/core\.dump \d+ bytes/)
      const listed = await runPm({ ...env, STORAGE_DIR: storage }, 'backup', 'list')
      expect(listed.code).toBe(0)
      expect(listed.stdout).toMatch(/core\s+\d+ bytes/)
    } finally {
      await rm(storage, { recursive: true, force: true })
    }
  }, 120_000)

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

  it('creates the first superuser, the password from standard input or a file, never the command line', async () => {
    const { default: pg } = await import('pg')
    const { verifyPassword } = await import('@pm/service-kit')
    const core = new pg.Client({ connectionString: env.DB_CORE_URL })
    await core.connect()
    try {
      const made = await pmWithInput(
        'Root-Password-42\n',
        'user',
        'create-superuser',
        '--email',
        ' Root@Example.COM ',
      )
      expect(made.stderr).toBe('')
      expect(made.code).toBe(0)
      expect(made.stdout).toMatch(/created superuser root@example\.com \(id [0-9a-f-]{36}\)/)
      const { rows } = await core.query(
        `SELECT u.email, u.role, u.is_superuser, u.is_admin, u.is_active, u.hashed_password,
                (SELECT count(*)::int FROM roles) AS roles, (SELECT count(*)::int FROM permissions) AS permissions
         FROM users u WHERE u.email = 'root@example.com'`,
      )
      expect(rows[0]).toMatchObject({
        email: 'root@example.com',
        role: 'admin',
        is_superuser: true,
        is_admin: true,
        is_active: true,
        roles: 8,
        // Every resource × action some field can require (no `execute`: no field requires it).
        permissions: 85,
      })
      expect(await verifyPassword('Root-Password-42', rows[0].hashed_password)).toBe(true)

      const file = join(tmpdir(), `pm-password-${process.pid}`)
      await writeFile(file, 'File-Password-42\n', { mode: 0o600 })
      const fromFile = await pm(
        'user',
        'create-superuser',
        '--email',
        'second@example.com',
        '--password-file',
        file,
      )
      expect(fromFile.code).toBe(0)
      const second = await core.query(`SELECT hashed_password FROM users WHERE email = 'second@example.com'`)
      expect(await verifyPassword('File-Password-42', second.rows[0].hashed_password)).toBe(true)

      const again = await pmWithInput(
        'Root-Password-42\n',
        'user',
        'create-superuser',
        '--email',
        'root@example.com',
      )
      expect(again.code).toBe(1)
      expect(again.stderr).toContain('a user with the e-mail root@example.com already exists')
      const weak = await pmWithInput('short\n', 'user', 'create-superuser', '--email', 'weak@example.com')
      expect(weak.code).toBe(1)
      expect(weak.stderr).toContain('the password must be 10 to 128 characters long')
      const badEmail = await pmWithInput('Root-Password-42\n', 'user', 'create-superuser', '--email', 'nope')
      expect(badEmail.code).toBe(1)
      expect(badEmail.stderr).toContain('--email must be an e-mail address')
      const onCommandLine = await pm(
        'user',
        'create-superuser',
        '--email',
        'x@example.com',
        '--password',
        'Root-Password-42',
      )
      expect(onCommandLine.code).toBe(2)
      expect(onCommandLine.stderr).toContain('never taken from the command line')
      const count = await core.query(`SELECT count(*)::int AS n FROM users`)
      expect(count.rows[0].n).toBe(2)
    } finally {
      await core.end()
    }
  }, 300_000)
})
