import { createTestDatabase, type TestDatabase } from '@pm/testing'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createDomainDatabase, type PoolSettings, PoolTimeoutError } from '../src'

let database: TestDatabase
const open: Array<{ destroy(): Promise<void> }> = []

const settings = (overrides: Partial<PoolSettings>): PoolSettings => ({
  size: 3,
  maxOverflow: 2,
  acquireTimeoutMs: 30_000,
  recycleMs: 3_600_000,
  idleTimeoutMs: 10_000,
  prePingIdleMs: 1_000,
  ...overrides,
})

function connect(overrides: Partial<PoolSettings>) {
  const handle = createDomainDatabase({ domain: 'core', url: database.url, pool: settings(overrides) })
  open.push(handle)
  return handle
}

async function backends(): Promise<number[]> {
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    const { rows } = await client.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pm-core' ORDER BY pid`,
      [database.name],
    )
    return rows.map((r) => r.pid as number)
  } finally {
    await client.end()
  }
}

async function terminateBackends() {
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    await client.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pm-core'`,
      [database.name],
    )
  } finally {
    await client.end()
  }
}

beforeAll(async () => {
  database = await createTestDatabase('pool')
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.destroy()))
})
afterAll(async () => {
  await database.drop()
})

describe('DomainPool', () => {
  it('never exceeds size + overflow under 200 concurrent queries', async () => {
    const handle = connect({ size: 3, maxOverflow: 2 })
    let peak = 0
    const sampler = setInterval(() => {
      peak = Math.max(peak, handle.pool.pool.totalCount)
    }, 1)
    let serverPeak = 0
    const serverSampler = (async () => {
      for (let i = 0; i < 10; i++) {
        serverPeak = Math.max(serverPeak, (await backends()).length)
        await new Promise((r) => setTimeout(r, 30))
      }
    })()
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        sql<{ n: number }>`SELECT ${i}::int AS n, pg_sleep(0.002)`.execute(handle.db),
      ),
    )
    await serverSampler
    clearInterval(sampler)
    expect(results.map((r) => r.rows[0]!.n)).toEqual(Array.from({ length: 200 }, (_, i) => i))
    expect(peak).toBeLessThanOrEqual(5)
    expect(peak).toBeGreaterThan(1)
    expect(serverPeak).toBeLessThanOrEqual(5)
    const stats = handle.stats()
    expect(stats).toMatchObject({ max: 5, acquires: 200, acquireTimeouts: 0, queries: 200, waiting: 0 })
    expect(stats.acquireWaitMsMax).toBeGreaterThan(0)
  })

  it('fails an acquire that waits too long with a clear error, then recovers', async () => {
    const handle = connect({ size: 1, maxOverflow: 0, acquireTimeoutMs: 300 })
    const held = await handle.pool.connect()
    const attempt = sql`SELECT 1`.execute(handle.db)
    await expect(attempt).rejects.toThrow(PoolTimeoutError)
    await expect(attempt).rejects.toThrow(
      /db_core: no connection available within 300 ms \(1\/1 in use, \d+ waiting\)/,
    )
    expect(handle.stats().acquireTimeouts).toBe(1)
    held.release()
    const { rows } = await sql<{ ok: number }>`SELECT 1 AS ok`.execute(handle.db)
    expect(rows).toEqual([{ ok: 1 }])
  })

  it('never hands out a connection that died while idle', async () => {
    const handle = connect({ size: 2, maxOverflow: 0 })
    await Promise.all([
      sql`SELECT pg_sleep(0.05)`.execute(handle.db),
      sql`SELECT pg_sleep(0.05)`.execute(handle.db),
    ])
    const before = await backends()
    expect(before).toHaveLength(2)
    // Asked at once after the kill: the close may still be in flight on the sockets.
    await terminateBackends()
    const results = await Promise.all([
      sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(handle.db),
      sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(handle.db),
    ])
    for (const { rows } of results) expect(before).not.toContain(rows[0]!.pid)
  })

  it('pings a connection idle longer than prePingIdleMs and replaces it when dead', async () => {
    const handle = connect({ size: 1, maxOverflow: 0, prePingIdleMs: 0 })
    const first = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(handle.db)
    // Remove pg-pool's own idle error listener so that only the pre-ping can notice the death.
    const [idle] = (handle.pool.pool as unknown as { _idle: { client: pg.Client }[] })._idle
    idle!.client.removeAllListeners('error')
    idle!.client.on('error', () => {})
    await terminateBackends()
    await new Promise((r) => setTimeout(r, 50))
    const second = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(handle.db)
    expect(second.rows[0]!.pid).not.toBe(first.rows[0]!.pid)
    expect(handle.stats().deadConnectionsDiscarded).toBeGreaterThanOrEqual(1)
  })

  it('recycles connections older than recycleMs', async () => {
    const handle = connect({ size: 1, maxOverflow: 0, recycleMs: 1_000 })
    const first = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(handle.db)
    await new Promise((r) => setTimeout(r, 1_500))
    const second = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(handle.db)
    expect(second.rows[0]!.pid).not.toBe(first.rows[0]!.pid)
  })

  it('writes and reads TIMESTAMP columns as UTC whatever the process time zone', async () => {
    const handle = connect({})
    const saved = process.env.TZ
    process.env.TZ = 'Asia/Tokyo'
    try {
      const instant = new Date('2026-01-01T00:30:00.000Z')
      const { rows } = await sql<{ text: string; value: Date }>`
        SELECT ${instant}::timestamp::text AS text, ${instant}::timestamp AS value`.execute(handle.db)
      expect(rows[0]).toEqual({ text: '2026-01-01 00:30:00', value: instant })
    } finally {
      process.env.TZ = saved
    }
  })
})
