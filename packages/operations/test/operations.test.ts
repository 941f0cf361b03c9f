import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { DOMAINS, type Domain } from '@pm/db'
import { LocalStorage, type PutOptions, type Storage } from '@pm/storage'
import { createMigratedDatabase, type TestDatabase } from '@pm/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  backupDatabase,
  checkIntegrity,
  databaseHealth,
  findBackup,
  listBackups,
  MissingToolError,
  partitionUpkeep,
  pruneBackups,
  restoreDatabase,
  runMaintenance,
  safeMigrate,
  verifyBackup,
} from '../src/index'

let dbs: Record<Domain, TestDatabase>
let urls: Record<Domain, string>
let dir: string
let storage: LocalStorage

async function sql(domain: Domain, text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: urls[domain] })
  await client.connect()
  try {
    return await client.query(text, values)
  } finally {
    await client.end()
  }
}

const kept = randomUUID()
const gone = randomUUID()

beforeAll(async () => {
  const list = await Promise.all(DOMAINS.map((d) => createMigratedDatabase(d, `ops_${d}`)))
  dbs = Object.fromEntries(DOMAINS.map((d, i) => [d, list[i]!])) as Record<Domain, TestDatabase>
  urls = Object.fromEntries(DOMAINS.map((d) => [d, dbs[d].url])) as Record<Domain, string>
  dir = mkdtempSync(join(tmpdir(), 'pm-ops-'))
  storage = new LocalStorage({ dir, publicUrl: 'http://127.0.0.1:1', urlSecret: 'x'.repeat(32) })
  await sql('catalog', `INSERT INTO products (id, title) VALUES ($1, 'kept')`, [kept])
  await sql(
    'media',
    `INSERT INTO media_files (file_name, product_id) VALUES ('a.jpg', $1), ('b.jpg', $2), ('c.jpg', $2)`,
    [kept, gone],
  )
  await sql(
    'analytics',
    `INSERT INTO product_metrics (product_id, date) VALUES ($1, '2026-01-01'), ($2, '2026-01-01')`,
    [kept, gone],
  )
}, 120_000)

afterAll(async () => {
  await Promise.all(Object.values(dbs ?? {}).map((d) => d.drop()))
  rmSync(dir, { recursive: true, force: true })
})

describe('integrity', () => {
  it('finds the orphans of every reference, then fixes them by policy (dry run first)', async () => {
    const report = await checkIntegrity(urls, { batchSize: 2 })
    const media = report.references.find((r) => r.reference === 'media.media_files.product_id')!
    expect(media).toMatchObject({ checked: 3, orphans: 2, policy: 'delete' })
    expect(media.samples.map((s) => s.value)).toEqual([gone, gone])
    expect(report.orphans).toBe(3)

    const dry = await checkIntegrity(urls, {
      fix: true,
      dryRun: true,
      only: ['media.media_files.product_id'],
    })
    expect(dry.references[0]).toMatchObject({ orphans: 2, fixed: 2 })
    expect((await sql('media', 'SELECT count(*)::int AS n FROM media_files')).rows[0].n).toBe(3)

    const fixed = await checkIntegrity(urls, { fix: true })
    expect(fixed.references.find((r) => r.reference === 'analytics.product_metrics.product_id')!.fixed).toBe(
      1,
    )
    expect((await checkIntegrity(urls)).orphans).toBe(0)
    expect((await sql('media', 'SELECT count(*)::int AS n FROM media_files')).rows[0].n).toBe(1)
  })

  it('keep and flag: a fix flags the orphans in core (a dry run only counts them), a later pass clears the flags of rows valid again', async () => {
    const reference = 'imports.import_configs.supplier_code'
    const code = `GONE-${randomUUID().slice(0, 8)}`
    const { rows } = await sql(
      'imports',
      `INSERT INTO import_configs (supplier_code, import_type, config_name, connection_config)
       VALUES ($1, 'csv', 'orphaned', '{}') RETURNING id`,
      [code],
    )
    const configId = rows[0].id as string
    const flags = async () =>
      (
        await sql(
          'core',
          'SELECT row_key, missing_value, flagged_at, last_seen_at FROM flagged_references WHERE reference = $1',
          [reference],
        )
      ).rows

    const dry = await checkIntegrity(urls, { fix: true, dryRun: true, only: [reference] })
    expect(dry.references[0]).toMatchObject({ policy: 'keep_and_flag', orphans: 1, flagged: 1, fixed: 0 })
    expect(await flags()).toEqual([])

    const fixed = await checkIntegrity(urls, { fix: true, only: [reference] })
    expect(fixed.references[0]).toMatchObject({ orphans: 1, flagged: 1, fixed: 0, cleared: 0 })
    const flagged = await flags()
    expect(flagged).toMatchObject([{ row_key: configId, missing_value: code }])
    // Kept as it was.
    const kept = await sql('imports', 'SELECT supplier_code FROM import_configs WHERE id = $1', [configId])
    expect(kept.rows[0].supplier_code).toBe(code)

    // A check of a reference still orphaned keeps its flag (and when it was first flagged).
    const checked = await checkIntegrity(urls, { only: [reference] })
    expect(checked.references[0]).toMatchObject({ orphans: 1, flagged: 0, cleared: 0 })
    const still = await flags()
    expect(still).toHaveLength(1)
    expect(still[0].flagged_at).toEqual(flagged[0].flagged_at)

    // The supplier exists again: the next pass clears the flag.
    await sql('catalog', `INSERT INTO suppliers (code, name) VALUES ($1, 'back')`, [code])
    const valid = await checkIntegrity(urls, { only: [reference] })
    expect(valid.references[0]).toMatchObject({ orphans: 0, cleared: 1 })
    expect(await flags()).toEqual([])
  })

  it('a killed connection is a clear error', async () => {
    const killer = setInterval(() => {
      sql(
        'media',
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pm-integrity' AND datname = current_database()`,
      ).catch(() => {})
    }, 5)
    try {
      await expect(
        (async () => {
          // Until a run is caught mid-way (the kill loop races each run's connections).
          for (;;) await checkIntegrity(urls, { batchSize: 1, only: ['media.media_files.product_id'] })
        })(),
      ).rejects.toThrow(/media: the database connection was lost|media database .* is unreachable/)
    } finally {
      clearInterval(killer)
    }
  })
})

describe('optimizer', () => {
  it('reports tables, indexes, cache and how to enable pg_stat_statements', async () => {
    const report = await databaseHealth('catalog', urls.catalog)
    expect(report.tables.map((t) => t.table)).toContain('products')
    expect(report.statementsAvailable).toBe(false)
    expect(report.statementsNote).toMatch(/shared_preload_libraries/)
    expect(Array.isArray(report.duplicateIndexes)).toBe(true)
  })

  it('suggests an index for a sequentially scanned column, with its EXPLAIN', async () => {
    await sql(
      'media',
      'DROP INDEX idx_media_files_product_id, idx_media_files_product_display_order, uq_media_files_product_file_hash',
    )
    await sql(
      'media',
      `INSERT INTO media_files (file_name, product_id) SELECT 'x', gen_random_uuid() FROM generate_series(1, 2000)`,
    )
    await sql('media', 'ANALYZE media_files')
    for (let i = 0; i < 3; i++)
      await sql('media', 'SELECT count(*) FROM media_files WHERE file_name = $1', ['x'])
    const client = new pg.Client({ connectionString: urls.media })
    await client.connect()
    await client.query('SELECT pg_stat_force_next_flush()').catch(() => {})
    await client.end()
    const report = await databaseHealth('media', urls.media)
    const suggestion = report.indexSuggestions.find((s) => s.column === 'product_id')
    expect(suggestion?.explain).toMatch(/Seq Scan on media_files/)
    expect(suggestion?.statement).toMatch(/CREATE INDEX CONCURRENTLY/)
  })

  it('vacuums, analyzes and reindexes (concurrently) a table or a database', async () => {
    const v = await runMaintenance('media', urls.media, 'vacuum', 'media_files')
    expect(v).toMatchObject({ action: 'vacuum', table: 'media_files' })
    await runMaintenance('media', urls.media, 'analyze')
    await runMaintenance('media', urls.media, 'reindex', 'media_files')
    await expect(runMaintenance('media', urls.media, 'vacuum', 'nope; DROP TABLE x')).rejects.toThrow(
      /no table/,
    )
  })
})

describe('partitions', () => {
  it('moves default-partition rows into their month, creates months ahead, drops months past retention', async () => {
    await sql(
      'imports',
      `WITH job AS (INSERT INTO import_jobs (import_type, supplier_code) VALUES ('csv', 'S1') RETURNING id)
       INSERT INTO import_logs (job_id, log_level, message, created_at)
       SELECT id, 'info', 'old', '2020-01-15'::timestamp FROM job
       UNION ALL SELECT id, 'info', 'recent', NOW() - INTERVAL '4 months' FROM job`,
    )
    const now = new Date()
    const result = await partitionUpkeep(urls.imports, { logRetentionMonths: 12, monthsAhead: 2 }, now)
    expect(result.expiredDefaultRows).toBe(1)
    expect(result.movedMonths).toHaveLength(1)
    const left = await sql('imports', 'SELECT count(*)::int AS n FROM import_logs_default')
    expect(left.rows[0].n).toBe(0)
    const later = new Date(Date.UTC(now.getUTCFullYear() + 2, now.getUTCMonth(), 1))
    const dropped = await partitionUpkeep(urls.imports, { logRetentionMonths: 12, monthsAhead: 1 }, later)
    expect(dropped.dropped.length).toBeGreaterThan(0)
  })
})

describe('backups', () => {
  // pg_dump refuses a server of a newer major version (the embedded default is PostgreSQL 18, Debian's client
  // tools are 15): then these tests have nothing to run with, and say so (skipped with the reason).
  let missingTools = ''
  const withTools = async (context: { skip: (note?: string) => never }, run: () => Promise<void>) => {
    if (missingTools) context.skip(missingTools)
    try {
      await run()
    } catch (error) {
      if (!(error instanceof MissingToolError)) throw error
      missingTools = error.message
      context.skip(missingTools)
    }
  }
  it('backs up with a manifest, verifies by restoring into a scratch database, restores into a new one', async (context) =>
    withTools(context, async () => {
      const m = await backupDatabase('media', urls.media, { storage, stamp: '20260101T000000Z' })
      expect(m).toMatchObject({ domain: 'media', backup: '20260101T000000Z' })
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/)
      expect(m.migrationVersion).toMatch(/^\d+$/)
      expect(m.rowCounts.media_files).toBeGreaterThan(0)
      const v = await verifyBackup(await findBackup(storage, 'media'), urls.media, { storage })
      expect(v).toMatchObject({ ok: true, mismatches: [] })
      const restored = await restoreDatabase(m, urls.media, { storage, target: `${dbs.media.name}_r` })
      const client = new pg.Client({ connectionString: restored.url })
      await client.connect()
      const n = (await client.query('SELECT count(*)::int AS n FROM media_files')).rows[0].n
      await client.end()
      expect(n).toBe(m.rowCounts.media_files)
      const { dropDatabase } = await import('../src/backup')
      await dropDatabase('media', urls.media, restored.database)
    }))

  it('refuses a corrupted backup, and a missing pg_dump, clearly', async (context) =>
    withTools(context, async () => {
      const m = await findBackup(storage, 'media')
      await storage.put(m.key, Buffer.from('PGDMP this is not a dump'))
      await expect(verifyBackup(m, urls.media, { storage })).rejects.toThrow(/corrupted/)
      await expect(
        restoreDatabase({ ...m, sha256: (await storage.head(m.key))!.sha256 ?? '' }, urls.media, { storage }),
      ).rejects.toThrow(/not a readable pg_dump archive|corrupted/)
      await expect(
        backupDatabase('media', urls.media, { storage, env: { ...process.env, PG_BIN_DIR: '/nonexistent' } }),
      ).rejects.toThrow(/pg_dump was not found: .*apt-get install -y postgresql-client/)
    }))

  it('a full disk during a backup is a clear error that keeps nothing and touches no earlier backup', async (context) =>
    withTools(context, async () => {
      const earlier = await backupDatabase('media', urls.media, { storage, stamp: '20260102T000000Z' })
      const keys = async () => {
        const found: string[] = []
        for await (const o of storage.list('backups/')) found.push(o.key)
        return found.sort()
      }
      const before = await keys()

      // The storage's disk fills up while the dump is being stored: its writes fail with ENOSPC mid-stream.
      const full: Storage = Object.create(storage, {
        put: {
          value: (key: string, body: Readable | Buffer | string, opts?: PutOptions) => {
            let written = 0
            const disk = new Transform({
              transform(chunk: Buffer, _encoding, done) {
                written += chunk.length
                if (written <= 4096) return done(null, chunk)
                done(
                  Object.assign(new Error('ENOSPC: no space left on device, write'), {
                    code: 'ENOSPC',
                    errno: -28,
                    syscall: 'write',
                  }),
                )
              },
            })
            const source =
              typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body
            return storage.put(key, source.pipe(disk), opts)
          },
        },
      })
      await expect(
        backupDatabase('media', urls.media, { storage: full, stamp: '20260103T000000Z' }),
      ).rejects.toThrow(
        /media: no space left on device in the backup storage .*nothing was kept, earlier backups are untouched/,
      )
      expect(await keys()).toEqual(before)

      // The temporary dump's disk is full (a real pg_dump writing to /dev/full, which answers ENOSPC).
      const bin = mkdtempSync(join(tmpdir(), 'pm-full-bin-'))
      const real = (tool: string) =>
        execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim()
      writeFileSync(
        join(bin, 'pg_dump'),
        `#!/bin/sh\nfor a in "$@"; do shift; case "$a" in --file=*) set -- "$@" --file=/dev/full;; *) set -- "$@" "$a";; esac; done\nexec ${process.env.PG_BIN_DIR ? join(process.env.PG_BIN_DIR, 'pg_dump') : real('pg_dump')} "$@"\n`,
        { mode: 0o755 },
      )
      symlinkSync(
        process.env.PG_BIN_DIR ? join(process.env.PG_BIN_DIR, 'pg_restore') : real('pg_restore'),
        join(bin, 'pg_restore'),
      )
      try {
        await expect(
          backupDatabase('media', urls.media, {
            storage,
            stamp: '20260104T000000Z',
            env: { ...process.env, PG_BIN_DIR: bin },
          }),
        ).rejects.toThrow(
          /media: no space left on device for the backup's temporary file .*BACKUP_TMP_DIR.*nothing was kept/,
        )
      } finally {
        rmSync(bin, { recursive: true, force: true })
      }
      expect(await keys()).toEqual(before)

      // The earlier backup still restores, and the next backup succeeds.
      expect(
        await verifyBackup(await findBackup(storage, 'media', earlier.backup), urls.media, { storage }),
      ).toMatchObject({ ok: true })
      const next = await backupDatabase('media', urls.media, { storage, stamp: '20260105T000000Z' })
      expect(next.size).toBeGreaterThan(0)
    }))

  it('keeps 30 days of backups', async (context) =>
    withTools(context, async () => {
      await backupDatabase('core', urls.core, { storage, stamp: '20200101T000000Z' })
      const pruned = await pruneBackups(storage, 30)
      expect(pruned).toContain('20200101T000000Z')
      expect((await listBackups(storage)).map((b) => b.backup)).not.toContain('20200101T000000Z')
    }))

  it('migrate --safe restores the backup when a migration fails', async (context) =>
    withTools(context, async () => {
      const migrationsDir = mkdtempSync(join(tmpdir(), 'pm-migr-'))
      const { cpSync, writeFileSync } = await import('node:fs')
      cpSync(
        new URL('../../../migrations/code2asin', import.meta.url).pathname,
        join(migrationsDir, 'code2asin'),
        {
          recursive: true,
        },
      )
      writeFileSync(
        join(migrationsDir, 'code2asin', '900_good.sql'),
        '-- migrate:up\nCREATE TABLE safe_probe (id int);\n-- migrate:down\nDROP TABLE safe_probe;\n',
      )
      writeFileSync(
        join(migrationsDir, 'code2asin', '901_bad.sql'),
        '-- migrate:up\nSELECT 1/0;\n-- migrate:down\n',
      )
      await sql('code2asin', `INSERT INTO code2asin_jobs (supplier_code) VALUES ('S1')`).catch(() => {})
      const before = (await sql('code2asin', 'SELECT count(*)::int AS n FROM code2asin_jobs')).rows[0].n
      await expect(safeMigrate(urls, ['code2asin'], { storage, migrationsDir })).rejects.toThrow()
      const probe = await sql('code2asin', `SELECT to_regclass('safe_probe') IS NULL AS gone`)
      expect(probe.rows[0].gone).toBe(true)
      expect((await sql('code2asin', 'SELECT count(*)::int AS n FROM code2asin_jobs')).rows[0].n).toBe(before)
      const versions = await sql('code2asin', 'SELECT max(version) AS v FROM pm.schema_migrations')
      expect(versions.rows[0].v).not.toBe('900')
      rmSync(migrationsDir, { recursive: true, force: true })
    }))
})
