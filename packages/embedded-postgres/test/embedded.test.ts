import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePort } from '@pm/testing'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { EmbeddedPostgresError, type EmbeddedServer, startEmbeddedPostgres } from '../src/index'

const TIMEOUT = 60_000

const servers: EmbeddedServer[] = []
const tempDirs: string[] = []
const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const server of servers.splice(0).reverse()) await server.stop().catch(() => {})
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  for (const dir of tempDirs.splice(0)) await fs.rm(dir, { recursive: true, force: true })
}, TIMEOUT)

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pm-embedded-pg-'))
  tempDirs.push(dir)
  return dir
}

/**
 * A data directory that does not exist yet. Its parent is a fresh temp dir opened up to 0755 like an ordinary
 * project folder: as root, postgres runs as the `postgres` user, which cannot enter a 0700 mkdtemp folder.
 */
async function freshDataDir(): Promise<string> {
  const parent = await tempDir()
  await fs.chmod(parent, 0o755)
  return path.join(parent, 'data')
}

const isRoot = process.getuid?.() === 0

async function start(dataDir: string, port: number, lines?: string[]): Promise<EmbeddedServer> {
  const server = await startEmbeddedPostgres({ dataDir, port, log: (line) => lines?.push(line) })
  servers.push(server)
  return server
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(sql)).rows
  } finally {
    await client.end()
  }
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  const content = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')
  return Number.parseInt(content.split('\n')[0] ?? '', 10)
}

describe('startEmbeddedPostgres', () => {
  it(
    'initialises on first run, keeps data across restarts',
    async () => {
      const dataDir = await freshDataDir()
      const port = await freePort()
      const lines: string[] = []

      const coldStart = Date.now()
      const first = await start(dataDir, port, lines)
      const coldMs = Date.now() - coldStart
      expect(first.ownedByThisProcess).toBe(true)
      expect(first.port).toBe(port)
      expect(first.dataDir).toBe(dataDir)
      expect(first.url).toBe(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`)
      expect(lines.some((line) => /initialis/i.test(line))).toBe(true)

      await query(first.url, 'CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)')
      await query(first.url, "INSERT INTO items VALUES (1, 'kept')")
      const [encoding] = await query<{ server_encoding: string }>(first.url, 'SHOW server_encoding')
      expect(encoding?.server_encoding).toBe('UTF8')
      const [listen] = await query<{ listen_addresses: string }>(first.url, 'SHOW listen_addresses')
      expect(listen?.listen_addresses).toBe('127.0.0.1')

      const stopStart = Date.now()
      await first.stop()
      const stopMs = Date.now() - stopStart
      expect(await portAnswers(port)).toBe(false)
      expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false)

      lines.length = 0
      const warmStart = Date.now()
      const second = await start(dataDir, port, lines)
      const warmMs = Date.now() - warmStart
      expect(second.ownedByThisProcess).toBe(true)
      expect(lines.some((line) => /initialis/i.test(line))).toBe(false)
      expect(await query(second.url, 'SELECT id, name FROM items')).toEqual([{ id: 1, name: 'kept' }])
      await second.stop()

      // Speed is the benchmark's business; what matters here is that the warm start reused the data directory.
      console.info(`embedded postgres timings: cold ${coldMs} ms, warm ${warmMs} ms, stop ${stopMs} ms`)
    },
    TIMEOUT,
  )

  it(
    'attaches to a server already running from the same dataDir',
    async () => {
      const dataDir = await tempDir() // exists and is empty: initdb fills it in place
      const port = await freePort()
      const a = await start(dataDir, port)
      const lines: string[] = []
      const b = await start(dataDir, port, lines)

      expect(a.ownedByThisProcess).toBe(true)
      expect(b.ownedByThisProcess).toBe(false)
      expect(b.url).toBe(a.url)
      expect(lines.some((line) => /attached/i.test(line))).toBe(true)
      expect(await query(b.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }])

      await b.stop()
      await b.stop()
      expect(await query(a.url, 'SELECT 2 AS two')).toEqual([{ two: 2 }])

      await a.stop()
      expect(await portAnswers(port)).toBe(false)
    },
    TIMEOUT,
  )

  it(
    'rejects attaching when the running server uses another port',
    async () => {
      const dataDir = await freshDataDir()
      const port = await freePort()
      await start(dataDir, port)
      const otherPort = await freePort()
      const error = await startEmbeddedPostgres({ dataDir, port: otherPort }).catch((err: unknown) => err)
      expect(error).toBeInstanceOf(EmbeddedPostgresError)
      expect((error as Error).message).toContain(`EMBEDDED_PG_PORT=${port}`)
    },
    TIMEOUT,
  )

  it(
    'lets concurrent starts share one server: one owner, the others attach',
    async () => {
      const dataDir = await freshDataDir()
      const port = await freePort()
      const started = await Promise.all(
        Array.from({ length: 4 }, () => startEmbeddedPostgres({ dataDir, port })),
      )
      servers.push(...started)
      expect(started.filter((server) => server.ownedByThisProcess)).toHaveLength(1)
      for (const server of started) expect(await query(server.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }])
    },
    TIMEOUT,
  )

  it(
    'recovers from a stale postmaster.pid after the server was killed',
    async () => {
      const dataDir = await freshDataDir()
      const port = await freePort()
      const first = await start(dataDir, port)
      await query(first.url, 'CREATE TABLE survivors (id int)')
      await query(first.url, 'INSERT INTO survivors VALUES (42)')

      const pid = await postmasterPid(dataDir)
      process.kill(pid, 'SIGKILL')
      await waitUntil(() => !isAlive(pid), 'the postmaster is gone')
      await waitUntil(async () => !(await portAnswers(port)), 'the port refuses connections')
      expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(true)

      const lines: string[] = []
      const second = await start(dataDir, port, lines)
      expect(second.ownedByThisProcess).toBe(true)
      expect(lines.some((line) => /stale postmaster\.pid/i.test(line))).toBe(true)
      expect(await query(second.url, 'SELECT id FROM survivors')).toEqual([{ id: 42 }])
      await first.stop() // its process is already dead: a no-op
      await second.stop()
    },
    TIMEOUT,
  )

  it(
    'recovers when the pid in postmaster.pid now belongs to a non-postgres process',
    async () => {
      const dataDir = await freshDataDir()
      const port = await freePort()
      await (await start(dataDir, port)).stop()

      const sleeper: ChildProcess = spawn('sleep', ['60'], { stdio: 'ignore' })
      cleanups.push(() => {
        sleeper.kill('SIGKILL')
      })
      await new Promise((resolve) => sleeper.once('spawn', resolve))
      const fakeLock = [sleeper.pid, dataDir, '0', port, '', '127.0.0.1', '0 0', 'ready', ''].join('\n')
      await fs.writeFile(path.join(dataDir, 'postmaster.pid'), fakeLock)

      const lines: string[] = []
      const server = await start(dataDir, port, lines)
      expect(server.ownedByThisProcess).toBe(true)
      expect(lines.some((line) => /stale postmaster\.pid/i.test(line))).toBe(true)
      expect(await query(server.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }])
    },
    TIMEOUT,
  )

  it(
    'fails fast with EmbeddedPostgresError when the port is taken by something else',
    async () => {
      const port = await freePort()
      const blocker = net.createServer()
      await new Promise<void>((resolve) => blocker.listen(port, resolve))
      cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
      const dataDir = await freshDataDir()

      const error = await startEmbeddedPostgres({ dataDir, port }).catch((err: unknown) => err)

      expect(error).toBeInstanceOf(EmbeddedPostgresError)
      expect((error as Error).message).toContain(String(port))
      expect((error as Error).message).toContain('EMBEDDED_PG_PORT')
      expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(false)
    },
    TIMEOUT,
  )

  it(
    'rejects with the last lines of the postgres log when postgres cannot start',
    async () => {
      const dataDir = await freshDataDir()
      const port = await freePort()
      await (await start(dataDir, port)).stop()
      await fs.appendFile(path.join(dataDir, 'postgresql.conf'), '\nthis line is not valid configuration\n')

      const error = await startEmbeddedPostgres({ dataDir, port }).catch((err: unknown) => err)
      expect(error).toBeInstanceOf(EmbeddedPostgresError)
      expect((error as Error).message).toMatch(/syntax error/i)
      expect((error as Error).message).toContain('postgresql.conf')
      expect(await portAnswers(port)).toBe(false)
    },
    TIMEOUT,
  )

  it(
    'stop() is idempotent',
    async () => {
      const dataDir = await freshDataDir()
      const port = await freePort()
      const server = await start(dataDir, port)
      await Promise.all([server.stop(), server.stop()])
      await server.stop()
      expect(await portAnswers(port)).toBe(false)
      expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false)
    },
    TIMEOUT,
  )

  it.skipIf(!isRoot)('as root, explains when the postgres user cannot reach the data folder', async () => {
    const privateParent = await tempDir() // mkdtemp: 0700, owned by root
    const dataDir = path.join(privateParent, 'data')
    const error = await startEmbeddedPostgres({ dataDir, port: await freePort() }).catch(
      (err: unknown) => err,
    )
    expect(error).toBeInstanceOf(EmbeddedPostgresError)
    expect((error as Error).message).toContain(`chmod o+x ${privateParent}`)
  })

  it('rejects a relative dataDir', async () => {
    await expect(startEmbeddedPostgres({ dataDir: 'relative/data', port: 5432 })).rejects.toBeInstanceOf(
      EmbeddedPostgresError,
    )
  })
})
