import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDomainDatabase, type DomainDatabase } from '@pm/db'
import { type DomainJobs, jobQueue } from '@pm/jobs'
import type { Logger } from '@pm/service-kit'
import { domainsWithJobs, startDomainWorker } from '@pm/stack'
import { LocalStorage } from '@pm/storage'
import { createMigratedDatabase, type TestDatabase } from '@pm/testing'
import { runPm as pm } from '@pm/testing/cli'
import { TEST_POOL } from '@pm/testing/subgraph'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet }

let testDatabase: TestDatabase
let database: DomainDatabase<'imports'>
let dir: string

beforeAll(async () => {
  testDatabase = await createMigratedDatabase('imports', 'cli_worker')
  database = createDomainDatabase({
    domain: 'imports',
    url: testDatabase.url,
    pool: TEST_POOL,
  })
  dir = mkdtempSync(join(tmpdir(), 'pm-cli-worker-'))
})

afterAll(async () => {
  await database?.destroy()
  await testDatabase?.drop()
  rmSync(dir, { recursive: true, force: true })
})

describe('pm worker', () => {
  it('explains its usage, and refuses a domain that has no jobs or a WORKER_NICE that is not a nice value', async () => {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME }
    const usage = await pm(env, 'worker')
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('pm worker --domain D, where D is one of core, catalog')
    const withJobs = await domainsWithJobs()
    const without = (['core', 'catalog', 'analytics'] as const).find((d) => !withJobs.includes(d))!
    const none = await pm({ ...env, DATABASE_URL: testDatabase.url }, 'worker', '--domain', without)
    expect(none.code).toBe(1)
    expect(none.stderr).toContain(`the ${without} domain has no background jobs`)
    const badNice = await pm(
      {
        ...env,
        DATABASE_URL: testDatabase.url,
        GATEWAY_SIGNING_SECRET: 'x'.repeat(32),
        STORAGE_DIR: dir,
        WORKER_NICE: 'low',
      },
      'worker',
      '--domain',
      'imports',
    )
    expect(badNice.code).toBe(1)
    expect(badNice.stderr).toContain('WORKER_NICE: must be an integer from 0 to 19')
  }, 180_000) // three `pm` processes started one after the other: ~12 s quiet, over 60 s on a loaded 2-core machine

  it("runs a domain's tasks with its database, storage and peers; WORKER_CONCURRENCY sets how many at once", async () => {
    const seen: Array<{ importJobs: number; stored: string; domain: string }> = []
    let running = 0
    let most = 0
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const jobs: DomainJobs<'imports'> = {
      tasks: (ctx) => ({
        async probe(payload: { n: number }) {
          running++
          most = Math.max(most, running)
          const count = await ctx.database.db
            .selectFrom('import_jobs')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
          const stored = await ctx.storage.put(`probe/${payload.n}.txt`, `job ${payload.n}`)
          seen.push({ importJobs: Number(count.n), stored: stored.key, domain: ctx.domain })
          if (seen.length === 2) release()
          await gate
          running--
        },
      }),
    }
    const worker = await startDomainWorker({
      domain: 'imports',
      jobs,
      url: testDatabase.url,
      database,
      storage: new LocalStorage({ dir, publicUrl: 'http://127.0.0.1:9' }),
      peers: {},
      env: { WORKER_CONCURRENCY: '2' },
      logger: quiet,
    })
    const queue = jobQueue('imports', testDatabase.url)
    try {
      await queue.add('probe', { n: 1 })
      await queue.add('probe', { n: 2 })
      await gate
      expect(most).toBe(2)
      expect(seen.map((s) => s.stored).sort()).toEqual(['probe/1.txt', 'probe/2.txt'])
      expect(seen.every((s) => s.importJobs === 0 && s.domain === 'imports')).toBe(true)
    } finally {
      await queue.close()
      await worker.stop()
    }
    await expect(
      startDomainWorker({
        domain: 'imports',
        jobs,
        url: testDatabase.url,
        database,
        storage: new LocalStorage({ dir, publicUrl: 'http://127.0.0.1:9' }),
        peers: {},
        env: { WORKER_CONCURRENCY: 'lots' },
        logger: quiet,
      }),
    ).rejects.toThrow(/WORKER_CONCURRENCY/)
  })
})
