import { availableParallelism } from 'node:os'
import { IMPORT_PHASES, type ImportPhase } from './import'

export const SCENARIOS = ['q1', 'q2', 'q3', 'q4', 'mixed'] as const
export type ScenarioId = (typeof SCENARIOS)[number]
export const TARGETS = ['ours', 'uncached', 'floor', 'peer'] as const
export type TargetId = (typeof TARGETS)[number]

export interface BenchOptions {
  products: number
  seed: number
  seconds: number
  warmupSeconds: number
  concurrency: number[]
  scenarios: ScenarioId[]
  /** The mixed workload's measured seconds per target and concurrency (--mixed-seconds; default --seconds). */
  mixedSeconds: number
  /** The mixed workload's concurrencies (--mixed-concurrency; default 1,8,32, smoke 1,4). */
  mixedConcurrency: number[]
  /** Only the mixed workload (--mixed): with --smoke, none of the other scenarios either. */
  mixedOnly: boolean
  targets: TargetId[]
  smoke: boolean
  /** Profiles our gateway and the Q1 subgraphs during an extra Q1 run and summarises the profiles. */
  profile: boolean
  /** Generates the data set again even when the bench databases hold one of the same size and seed. */
  reload: boolean
  /** Database name prefix: bench_<domain>, bench_floor (smoke: bench_smoke_…). */
  prefix: string
  /** GATEWAY_WORKERS for our gateways (ours and uncached): a count, or "auto" (one per core). */
  workers: number | 'auto'
  /** Rows of the import scenario's supplier CSV; 0: the scenario is not run. */
  importRows: number
  /** Parts of the import scenario that run (--import-phases; default csv, rerun, xlsx). */
  importPhases: ImportPhase[]
  /** Only the import scenario (--import): no query scenarios, no bench data set. */
  importOnly: boolean
  /** The analytics scenario (bench/analytics.ts): with --analytics (alone) and in --smoke. */
  analytics: boolean
  analyticsOnly: boolean
  /** Only the operations scenario (bench/operations.ts); --smoke runs its tiny version too. */
  opsOnly: boolean
  /** Images of the media scenario (bench/media.ts); 0: the scenario is not run. */
  mediaImages: number
  /** Only the media scenario (--media). */
  mediaOnly: boolean
  /** Only the metrics overhead scenario (--metrics-overhead, bench/metrics-overhead.ts); smoke runs a tiny one. */
  metricsOverhead: boolean
  /** Rounds of that scenario, each one stack with metrics on and one off (default 4; smoke 1). */
  rounds: number
  /** Products of the export scenario's feeds (bench/export.ts); 0: the scenario is not run. */
  exportProducts: number
  /** Only the export scenario (--export). */
  exportOnly: boolean
}

export const USAGE = `pnpm bench [options]

  --products N        catalog size (default 133149); generated once into bench_<domain>, reused after
  --seed N            data set seed (default 42)
  --seconds S         measured seconds per scenario, target and concurrency (default 15)
  --warmup S          warm-up seconds before each measurement (default 3; smoke 0)
  --concurrency LIST  e.g. 1,32 (default)
  --scenarios LIST    q1,q2,q3,q4,mixed (default: all)
  --mixed             only the mixed workload (same as --scenarios mixed): details by id and EAN over every
                      product, supplier pages (filters, orders), title searches, the import dashboard and 2 %
                      writes (prices, stocks), one seeded sequence for every target (src/mixed.ts)
  --mixed-seconds S   its measured seconds per target and concurrency (default: --seconds)
  --mixed-concurrency LIST  its concurrencies (default 1,8,32; smoke 1,4)
  --targets LIST      ours,uncached,floor,peer (default: all that apply)
                        ours      our gateway as deployed: fetch cache on (L1 in process, L2 in Redis
                                  when REDIS_URL is set), GATEWAY_WORKERS from --workers; Q1-Q4, mixed
                        uncached  our gateway with GATEWAY_CACHE=false, same subgraphs, own process; Q1-Q3, mixed
                        floor     one hand-written SQL statement per request (bench/floor.ts); Q1, Q2, mixed
                        peer      Hive Gateway on the same subgraphs (bench/peer.ts); Q1-Q3, mixed
  --workers N|auto    GATEWAY_WORKERS of ours and uncached (default 1; "auto" = one per core);
                      above 1, ours needs REDIS_URL (its workers share invalidations through it)
  --smoke             ~2,000 products, 1.5 s per run, concurrency 1 and 4 (mixed too), import of 2,000 rows (CI)
  --import            only the import scenario: a generated supplier CSV (1 % bad rows) uploaded, imported
                      and imported again (force), with the worker's peak RSS
  --export            only the export scenario: CSV then XLSX feeds of 133,149 products read through the
                      gateway by the exports worker (its own process; RSS sampled)
  --export-products N products of those feeds (default 133149; smoke 1000)
  --import-rows N     rows of that CSV (default 133149; smoke 2000)
  --import-phases P   which parts run, comma-separated: csv (the import), rerun (needs csv), xlsx
                      (default csv,rerun,xlsx)
  --asin              only the code2asin scenario (bench/asin.ts): 10,000 products matched against a loopback
                      SP-API at a high rate (≤ 60 s), then searches at 5/s (measured rate within 10 %)
  --analytics         only the analytics scenario (bench/analytics.ts): supplier and catalogue figures and
                      reports (CSV, PDF, XLSX) over a data set of --products in bench_analytics_* (smoke: tiny)
  --ops               only the operations scenario (bench/operations.ts): integrity check of 1 M cross-
                      database references (smoke 20,000), backup + restore drill of the data set
  --media             only the media scenario: generated 2000×2000 JPEGs uploaded and processed into every
                      thumbnail (images/s), a product page's p95 idle and meanwhile
  --media-images N    images of that scenario (default 1000; smoke 4)
  --metrics-overhead  only Q1 with METRICS_ENABLED=true vs false, --rounds rounds in turn (at the highest
                      --concurrency, --seconds each): what metrics collection costs (target ≤ 5 %), as
                      throughput and as CPU per request of the gateway and the subgraphs
  --rounds N          rounds of --metrics-overhead (default 6; smoke 1)
  --profile           profile our gateway and the Q1 subgraphs during an extra Q1 run (top self time);
                      one gateway process only: not with --workers above 1
  --reload            generate the data set again even when one of the same size and seed is there

With Q2 and ours, also "Q2 Redis cold vs warm": a gateway of its own with no L1 (GATEWAY_CACHE_L1_MB=0)
and a fresh GATEWAY_CACHE_NAME asks 300 EANs no other scenario uses (smoke: 40) once each at
concurrency 1, cold, then again, served from Redis; needs REDIS_URL, else reported as not measured.

Environment: DATABASE_URL or TEST_DATABASE_URL (a server where bench_* databases may be created),
else an embedded PostgreSQL in .data/bench-postgres (port BENCH_PG_PORT, default 54339); BENCH_DB_PREFIX
names the databases (default bench: bench_<domain>, bench_smoke_<domain>). REDIS_URL is
passed to our gateways. The bench keeps its PostgreSQL connections under 100 (subgraph pools set with
DB_<DOMAIN>_POOL_SIZE and DB_POOL_MAX_OVERFLOW, floor pool FLOOR_POOL_SIZE=8: see src/connections.ts).`

/** Smoke runs: 23 of 1.5 s take what 17 of 2 s took before uncached was measured too. */
const SMOKE_SECONDS = 1.5

export class UsageError extends Error {
  override name = 'UsageError'
}

function list<T extends string>(raw: string, allowed: readonly T[], name: string): T[] {
  const items = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
  for (const item of items) {
    if (!allowed.includes(item as T))
      throw new UsageError(`--${name}: "${item}" is not one of ${allowed.join(', ')}`)
  }
  if (items.length === 0) throw new UsageError(`--${name} needs at least one of ${allowed.join(', ')}`)
  return [...new Set(items)] as T[]
}

function importPhases(raw: string | true | undefined): ImportPhase[] {
  if (raw === undefined) return [...IMPORT_PHASES]
  const given = String(raw)
    .split(',')
    .map((p) => p.trim())
  const bad = given.filter((p) => !(IMPORT_PHASES as readonly string[]).includes(p))
  if (raw === true || given.length === 0 || bad.length > 0)
    throw new UsageError(`--import-phases takes ${IMPORT_PHASES.join(', ')} (comma-separated)`)
  if (given.includes('rerun') && !given.includes('csv'))
    throw new UsageError('--import-phases: rerun needs csv')
  return IMPORT_PHASES.filter((p) => given.includes(p))
}

function positive(raw: string | true, name: string, { integer = true, zero = false } = {}): number {
  const value = Number(raw)
  if (
    raw === true ||
    !Number.isFinite(value) ||
    value < 0 ||
    (value === 0 && !zero) ||
    (integer && !Number.isInteger(value))
  ) {
    throw new UsageError(
      `--${name} must be a ${zero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}`,
    )
  }
  return value
}

/** How many gateway processes --workers means ("auto": one per core, as the gateway counts them). */
export function resolveWorkers(workers: number | 'auto'): number {
  return workers === 'auto' ? availableParallelism() : workers
}

/** --workers: a positive integer or "auto". */
function workerCount(raw: string | true | undefined): number | 'auto' {
  if (raw === undefined) return 1
  if (typeof raw === 'string' && raw.trim().toLowerCase() === 'auto') return 'auto'
  if (raw === true || !/^\d+$/.test(raw.trim()) || Number(raw) < 1)
    throw new UsageError('--workers must be a positive integer or "auto"')
  return Number(raw)
}

export function parseOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): BenchOptions {
  const flags = new Map<string, string | true>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`)
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined]
    if (inline !== undefined) flags.set(name, inline)
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.set(name, argv[++i]!)
    else flags.set(name, true)
  }
  const known = [
    'products',
    'seed',
    'seconds',
    'warmup',
    'concurrency',
    'scenarios',
    'targets',
    'workers',
    'smoke',
    'import-rows',
    'import-phases',
    'media-images',
    'export-products',
    'mixed-seconds',
    'mixed-concurrency',
    'rounds',
  ]
  for (const name of flags.keys()) {
    if (
      ![
        ...known,
        'profile',
        'reload',
        'help',
        'import',
        'analytics',
        'ops',
        'media',
        'metrics-overhead',
        'export',
        'mixed',
      ].includes(name)
    )
      throw new UsageError(`unknown option --${name}`)
  }
  if (flags.has('help')) throw new UsageError('')
  const smoke = flags.get('smoke') === true
  const get = (name: string) => flags.get(name)
  const products =
    get('products') !== undefined ? positive(get('products')!, 'products') : smoke ? 2000 : 133_149
  const seconds =
    get('seconds') !== undefined
      ? positive(get('seconds')!, 'seconds', { integer: false })
      : smoke
        ? SMOKE_SECONDS
        : 15
  const warmupSeconds =
    get('warmup') !== undefined
      ? positive(get('warmup')!, 'warmup', { integer: false, zero: true })
      : smoke
        ? 0
        : 3
  const concurrencyRaw = get('concurrency')
  const concurrency =
    concurrencyRaw === undefined
      ? smoke
        ? [1, 4]
        : [1, 32]
      : String(concurrencyRaw)
          .split(',')
          .map((c) => positive(c.trim(), 'concurrency'))
  const mixedOnly = flags.get('mixed') === true
  if (mixedOnly && get('scenarios') !== undefined)
    throw new UsageError('--mixed is --scenarios mixed: give one or the other')
  const scenarios = mixedOnly
    ? (['mixed'] as ScenarioId[])
    : get('scenarios') !== undefined
      ? list(String(get('scenarios')), SCENARIOS, 'scenarios')
      : [...SCENARIOS]
  const mixedConcurrencyRaw = get('mixed-concurrency')
  const mixedConcurrency =
    mixedConcurrencyRaw === undefined
      ? smoke
        ? [1, 4]
        : [1, 8, 32]
      : String(mixedConcurrencyRaw)
          .split(',')
          .map((c) => positive(c.trim(), 'mixed-concurrency'))
  const mixedSeconds =
    get('mixed-seconds') !== undefined
      ? positive(get('mixed-seconds')!, 'mixed-seconds', { integer: false })
      : seconds
  const targets =
    get('targets') !== undefined ? list(String(get('targets')), TARGETS, 'targets') : [...TARGETS]
  const seed = get('seed') !== undefined ? positive(get('seed')!, 'seed') : 42
  const workers = workerCount(get('workers'))
  const profile = flags.get('profile') === true
  // Said here rather than by the gateway failing to start minutes later, after the data set is loaded.
  if (resolveWorkers(workers) > 1 && targets.includes('ours') && !env.REDIS_URL?.trim())
    throw new UsageError(
      '--workers above 1 needs REDIS_URL: the workers of ours share invalidations through it',
    )
  if (profile && resolveWorkers(workers) > 1)
    throw new UsageError('--profile samples one gateway process: use it with --workers 1')
  return {
    products,
    seed,
    seconds,
    warmupSeconds,
    concurrency,
    scenarios: SCENARIOS.filter((s) => scenarios.includes(s)),
    mixedSeconds,
    mixedConcurrency,
    mixedOnly,
    targets: TARGETS.filter((t) => targets.includes(t)),
    smoke,
    profile,
    reload: flags.get('reload') === true,
    // BENCH_DB_PREFIX: another set of databases, e.g. for runs that must not share bench_* with others.
    prefix: `${env.BENCH_DB_PREFIX?.trim() || 'bench'}${smoke ? '_smoke' : ''}`,
    workers,
    importRows:
      get('import-rows') !== undefined
        ? positive(get('import-rows')!, 'import-rows')
        : smoke && !mixedOnly
          ? 2_000
          : flags.get('import') === true
            ? 133_149
            : 0,
    importPhases: importPhases(get('import-phases')),
    importOnly: flags.get('import') === true,
    analytics: smoke || flags.get('analytics') === true,
    analyticsOnly: flags.get('analytics') === true,
    opsOnly: flags.get('ops') === true,
    mediaImages:
      get('media-images') !== undefined
        ? positive(get('media-images')!, 'media-images')
        : smoke
          ? 4
          : flags.get('media') === true
            ? 1000
            : 0,
    mediaOnly: flags.get('media') === true,
    metricsOverhead: flags.get('metrics-overhead') === true,
    rounds: get('rounds') !== undefined ? positive(get('rounds')!, 'rounds') : smoke ? 1 : 6,
    exportProducts:
      get('export-products') !== undefined
        ? positive(get('export-products')!, 'export-products')
        : smoke
          ? 1_000
          : flags.get('export') === true
            ? 133_149
            : 0,
    exportOnly: flags.get('export') === true,
  }
}
