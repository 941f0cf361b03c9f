import { execFileSync } from 'node:child_process'
import path from 'node:path'
import {
  createDomainDatabases,
  DOMAINS,
  type Domain,
  type DomainDatabases,
  type DomainKyselys,
  databaseUrl,
  describeUrl,
  destroyDomainDatabases,
  domainKyselys,
  loadDatabaseConfig,
  migrateDatabase,
  type PoolSettings,
  type PreparedDatabases,
  prepareDatabases,
} from '@pm/db'
import pg from 'pg'

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..')

/**
 * Result files are committed: written in the repository's style (tables aligned) so `pnpm lint` stays clean.
 * Best effort: a result is never lost to the formatter.
 */
export function formatResultFiles(files: readonly string[]) {
  try {
    const biome = path.join(REPO_ROOT, 'node_modules/@biomejs/biome/bin/biome')
    execFileSync(process.execPath, [biome, 'format', '--write', ...files], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
    })
  } catch {}
}

export interface BenchServer {
  /** postgres://…/postgres of the server holding the bench databases. */
  url: string
  description: string
  embedded?: PreparedDatabases['embedded']
  stop(): Promise<void>
}

/** DATABASE_URL or TEST_DATABASE_URL when set, else an embedded server of our own (.data/bench-postgres). */
export async function startBenchServer(log: (m: string) => void): Promise<BenchServer> {
  const configured = process.env.DATABASE_URL?.trim() || process.env.TEST_DATABASE_URL?.trim()
  if (configured) {
    const url = databaseUrl(configured, 'postgres')
    return { url, description: `external ${describeUrl(url)}`, stop: async () => {} }
  }
  const port = process.env.BENCH_PG_PORT?.trim() || '54339'
  // The embedded default of the one database start-up, on the benchmarks' own data folder and port.
  const prepared = await prepareDatabases({
    config: loadDatabaseConfig({
      EMBEDDED_PG_DATA_DIR: path.join(REPO_ROOT, '.data/bench-postgres'),
      EMBEDDED_PG_PORT: port,
    }),
    migrate: false,
    log,
  })
  return {
    url: databaseUrl(prepared.domains.core.url, 'postgres'),
    description: `embedded 127.0.0.1:${port} (.data/bench-postgres)`,
    ...(prepared.embedded ? { embedded: prepared.embedded } : {}),
    stop: () => prepared.stop(),
  }
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => {})
  }
}

export type DomainUrls = Record<Domain, string>

export function benchDatabaseUrls(serverUrl: string, prefix: string): DomainUrls {
  return Object.fromEntries(DOMAINS.map((d) => [d, databaseUrl(serverUrl, `${prefix}_${d}`)])) as DomainUrls
}

/** Pools of the bench process itself (loading, parameters, statement counts): small, the services own the rest. */
export const BENCH_POOL: PoolSettings = {
  size: 4,
  maxOverflow: 4,
  acquireTimeoutMs: 60_000,
  recycleMs: 3_600_000,
  idleTimeoutMs: 10_000,
  prePingIdleMs: 1_000,
}

export type BenchDatabases = DomainDatabases

export function openDatabases(urls: DomainUrls): BenchDatabases {
  return createDomainDatabases(
    Object.fromEntries(DOMAINS.map((d) => [d, { domain: d, url: urls[d], pool: BENCH_POOL }])) as Parameters<
      typeof createDomainDatabases
    >[0],
  )
}

export async function closeDatabases(dbs: BenchDatabases): Promise<void> {
  await destroyDomainDatabases(dbs)
}

interface DataSetMarker {
  pmBench: 1
  products: number
  seed: number
  generator: string
  loadSeconds?: number
}

const MARKER_PREFIX = 'pm-bench '

/** The data set a bench database holds, from its COMMENT (written last, so a half-loaded set has none). */
export async function readMarker(serverUrl: string, database: string): Promise<DataSetMarker | undefined> {
  const comment = await withClient(serverUrl, async (c) => {
    const { rows } = await c.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [database],
    )
    return rows[0]?.comment ?? undefined
  })
  if (!comment?.startsWith(MARKER_PREFIX)) return undefined
  try {
    return JSON.parse(comment.slice(MARKER_PREFIX.length)) as DataSetMarker
  } catch {
    return undefined
  }
}

export async function writeMarker(serverUrl: string, database: string, marker: object): Promise<void> {
  await withClient(serverUrl, (c) =>
    c.query(
      `COMMENT ON DATABASE ${pg.escapeIdentifier(database)} IS ${pg.escapeLiteral(MARKER_PREFIX + JSON.stringify(marker))}`,
    ),
  )
}

export async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  await withClient(serverUrl, (c) =>
    c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`),
  )
}

type LoadDataSet = (
  dbs: DomainKyselys,
  options: { products: number; seed: number; log?: (m: string) => void },
) => Promise<unknown>

/** The scale generator when @pm/seed has it, else the demo seed (slower, holds the whole set in memory). */
async function generator(): Promise<{ name: string; load: LoadDataSet }> {
  // Loaded only when a data set is generated: the package pulls in all of its generators.
  const seedPackage = await import('@pm/seed')
  const loadDataSet = (seedPackage as Record<string, unknown>).loadDataSet
  if (typeof loadDataSet === 'function') return { name: 'loadDataSet', load: loadDataSet as LoadDataSet }
  return {
    name: 'seedDemoData',
    load: (dbs, options) => seedPackage.seedDemoData(dbs, options),
  }
}

export interface DataSetInfo {
  urls: DomainUrls
  products: number
  seed: number
  generator: string
  reused: boolean
  /** Generating and loading the data set, including ANALYZE (from the marker when reused) */
  loadSeconds?: number
}

/**
 * The bench databases at head, holding the data set of `products`/`seed`: reused when their markers say
 * so, else dropped, recreated, migrated and loaded.
 */
export async function prepareDataSet(
  serverUrl: string,
  prefix: string,
  products: number,
  seed: number,
  log: (m: string) => void,
  reload = false,
): Promise<DataSetInfo> {
  const urls = benchDatabaseUrls(serverUrl, prefix)
  const gen = await generator()
  const markers = await Promise.all(DOMAINS.map((d) => readMarker(serverUrl, `${prefix}_${d}`)))
  const matches =
    !reload && markers.every((m) => m?.products === products && m.seed === seed && m.generator === gen.name)
  if (matches) {
    for (const d of DOMAINS) await migrate(d, urls[d], log)
    log(
      `data set: ${products} products (seed ${seed}, ${markers[0]!.generator}) already in ${prefix}_*, reused`,
    )
    const loadSeconds = markers[0]!.loadSeconds
    return {
      urls,
      products,
      seed,
      generator: markers[0]!.generator,
      reused: true,
      ...(loadSeconds ? { loadSeconds } : {}),
    }
  }
  log(`data set: loading ${products} products (seed ${seed}) into ${prefix}_* with ${gen.name}`)
  for (const d of DOMAINS) {
    await dropDatabase(serverUrl, `${prefix}_${d}`)
    await migrate(d, urls[d], log)
  }
  const started = performance.now()
  const dbs = openDatabases(urls)
  try {
    await gen.load(domainKyselys(dbs), { products, seed, log: (m) => log(`  ${m}`) })
  } finally {
    await closeDatabases(dbs)
  }
  // Fresh tables have no statistics yet (loadDataSet analyses on its own; the demo seed does not).
  if (gen.name !== 'loadDataSet')
    await Promise.all(DOMAINS.map((d) => withClient(urls[d], (c) => c.query('ANALYZE'))))
  const loadSeconds = (performance.now() - started) / 1000
  const marker: DataSetMarker = { pmBench: 1, products, seed, generator: gen.name, loadSeconds }
  for (const d of DOMAINS) await writeMarker(serverUrl, `${prefix}_${d}`, marker)
  log(`data set: loaded in ${loadSeconds.toFixed(1)} s`)
  return { urls, products, seed, generator: gen.name, reused: false, loadSeconds }
}

async function migrate(domain: Domain, url: string, log: (m: string) => void): Promise<void> {
  const { applied } = await migrateDatabase(domain, url)
  if (applied.length > 0) log(`${domain}: applied ${applied.join(', ')}`)
}
