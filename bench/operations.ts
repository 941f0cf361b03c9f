/**
 * The operations benchmark (`pnpm bench --ops`, tiny in --smoke): the integrity check of 1 M cross-database
 * references (target ≤ 60 s) on databases of its own (<prefix>_ops_*: products in catalog, references from
 * media and analytics, a known number of them orphans), and backup + restore drill of the benchmark data set
 * (<prefix>_* / <prefix>_smoke_*, target ≤ 120 s for the 133k set); the prefix is BENCH_DB_PREFIX (bench).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DOMAINS, type Domain, databaseUrl, migrateDatabase } from '@pm/db'
import {
  backupDatabase,
  checkIntegrity,
  MissingToolError,
  mapLimit,
  type VerifyResult,
  verifyBackup,
} from '@pm/operations'
import { LocalStorage } from '@pm/storage'
import { type BenchServer, dropDatabase, prepareDataSet, withClient } from './src/data'

export const OPS_TARGETS = { integritySeconds: 60, backupVerifySeconds: 120 }

export interface OpsBenchResult {
  references: number
  orphansInjected: number
  orphansFound: number
  integritySeconds: number
  referencesPerSecond: number
  products: number
  /** Null when pg_dump/pg_restore cannot run here (the reason is in backupSkipped). */
  backupSeconds: number | null
  verifySeconds: number | null
  backupBytes: number | null
  verified: boolean | null
  backupSkipped: string | null
}

/** The databases the references live in (smoke: only those; else all seven, every reference checked). */
const SMOKE_DOMAINS: Domain[] = ['catalog', 'media', 'analytics']
const SMOKE_REFERENCES = ['media.media_files.product_id', 'analytics.product_metrics.product_id']

async function integrityData(
  server: BenchServer,
  opsPrefix: string,
  references: number,
  domains: readonly Domain[],
  log: (m: string) => void,
) {
  const urls = Object.fromEntries(
    DOMAINS.map((d) => [d, databaseUrl(server.url, `${opsPrefix}_${d}`)]),
  ) as Record<Domain, string>
  for (const d of domains) {
    await dropDatabase(server.url, `${opsPrefix}_${d}`)
    await migrateDatabase(d, urls[d])
  }
  // Half the references from media (one image per product), half from analytics (5 days of metrics).
  const half = Math.floor(references / 2)
  const products = half
  const orphans = Math.max(10, Math.floor(references / 1_000))
  log(`ops: ${products} products, ${references} references (${orphans} orphans) into ${opsPrefix}_*`)
  await withClient(urls.catalog, (c) =>
    c.query(
      `INSERT INTO products (id, title) SELECT md5('p' || i)::uuid, 'product ' || i FROM generate_series(1, $1) i`,
      [products],
    ),
  )
  await withClient(urls.media, (c) =>
    c.query(
      `INSERT INTO media_files (file_name, product_id)
       SELECT 'img-' || i || '.jpg', CASE WHEN i <= $2 THEN md5('orphan' || i)::uuid ELSE md5('p' || i)::uuid END
         FROM generate_series(1, $1) i`,
      [half, orphans],
    ),
  )
  await withClient(urls.analytics, (c) =>
    c.query(
      `INSERT INTO product_metrics (product_id, date)
       SELECT md5('p' || (1 + (i % $2)))::uuid, DATE '2026-01-01' + (i / $2)::int FROM generate_series(0, $1 - 1) i`,
      [references - half, Math.ceil((references - half) / 5)],
    ),
  )
  for (const d of domains) await withClient(urls[d], (c) => c.query('ANALYZE'))
  return { urls, orphans, products }
}

export async function runOpsBench(o: {
  server: BenchServer
  /** The bench's database prefix (BENCH_DB_PREFIX, with _smoke in --smoke): the data set's databases. */
  prefix: string
  smoke: boolean
  products: number
  seed: number
  log: (m: string) => void
}): Promise<OpsBenchResult> {
  const { log } = o
  const references = o.smoke ? 20_000 : 1_000_000
  const domains = o.smoke ? SMOKE_DOMAINS : DOMAINS
  const opsPrefix = `${o.prefix}_ops`
  const data = await integrityData(o.server, opsPrefix, references, domains, log)
  const started = performance.now()
  const report = await checkIntegrity(data.urls, o.smoke ? { only: SMOKE_REFERENCES } : {})
  const integritySeconds = (performance.now() - started) / 1000
  log(
    `ops: integrity check of ${report.checked} references, ${report.orphans} orphans in ${integritySeconds.toFixed(1)} s`,
  )
  for (const d of domains) await dropDatabase(o.server.url, `${opsPrefix}_${d}`)

  const result: OpsBenchResult = {
    references: report.checked,
    orphansInjected: data.orphans,
    orphansFound: report.orphans,
    integritySeconds,
    referencesPerSecond: Math.round(report.checked / integritySeconds),
    products: o.products,
    backupSeconds: null,
    verifySeconds: null,
    backupBytes: null,
    verified: null,
    backupSkipped: null,
  }
  const set = await prepareDataSet(o.server.url, o.prefix, o.products, o.seed, log)
  const dir = mkdtempSync(join(tmpdir(), 'pm-bench-backups-'))
  const storage = new LocalStorage({ dir, publicUrl: 'http://127.0.0.1:1', urlSecret: 'bench'.repeat(8) })
  try {
    const backupStarted = performance.now()
    // Smoke: one database's backup and drill; else all seven.
    const backedUp: Domain[] = o.smoke ? ['catalog'] : [...DOMAINS]
    const manifests = await mapLimit(backedUp, 3, (d) =>
      backupDatabase(d, set.urls[d], { storage, stamp: 'bench' }),
    )
    result.backupSeconds = (performance.now() - backupStarted) / 1000
    result.backupBytes = manifests.reduce((n, m) => n + m.size, 0)
    const verifyStarted = performance.now()
    const verified: VerifyResult[] = await mapLimit(manifests, 3, (m) =>
      verifyBackup(m, set.urls[m.domain], { storage }),
    )
    result.verifySeconds = (performance.now() - verifyStarted) / 1000
    result.verified = verified.every((v) => v.ok)
    log(
      `ops: backup of ${o.products} products (${(result.backupBytes / 1_048_576).toFixed(1)} MB) in ${result.backupSeconds.toFixed(1)} s, verify in ${result.verifySeconds.toFixed(1)} s (${result.verified ? 'ok' : 'MISMATCH'})`,
    )
  } catch (error) {
    if (!(error instanceof MissingToolError)) throw error
    result.backupSkipped = error.message
    log(`ops: backup not measured: ${error.message}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return result
}

export function opsMarkdown(r: OpsBenchResult): string {
  const backup =
    r.backupSeconds === null
      ? `| backup + verify | not measured: ${r.backupSkipped} | ≤ ${OPS_TARGETS.backupVerifySeconds} s | |`
      : `| backup + restore drill, ${r.products} products (${((r.backupBytes ?? 0) / 1_048_576).toFixed(1)} MB of dumps) | ${r.backupSeconds.toFixed(1)} s + ${r.verifySeconds!.toFixed(1)} s = ${(r.backupSeconds + r.verifySeconds!).toFixed(1)} s, ${r.verified ? 'counts and versions match' : 'MISMATCH'} | ≤ ${OPS_TARGETS.backupVerifySeconds} s | ${r.backupSeconds + r.verifySeconds! <= OPS_TARGETS.backupVerifySeconds && r.verified ? 'met' : 'missed'} |`
  return [
    '| operation | measured | target | |',
    '|---|---|---|---|',
    `| integrity check, ${r.references} references (${r.orphansFound} of ${r.orphansInjected} orphans found) | ${r.integritySeconds.toFixed(1)} s (${r.referencesPerSecond} refs/s) | ≤ ${OPS_TARGETS.integritySeconds} s | ${r.integritySeconds <= OPS_TARGETS.integritySeconds && r.orphansFound === r.orphansInjected ? 'met' : 'missed'} |`,
    backup,
  ].join('\n')
}

export function opsMissed(r: OpsBenchResult): boolean {
  return (
    r.integritySeconds > OPS_TARGETS.integritySeconds ||
    r.orphansFound !== r.orphansInjected ||
    (r.backupSeconds !== null &&
      (r.backupSeconds + r.verifySeconds! > OPS_TARGETS.backupVerifySeconds || !r.verified))
  )
}
