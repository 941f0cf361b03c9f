export const SCENARIOS = ['q1', 'q2', 'q3', 'q4'] as const
export type ScenarioId = (typeof SCENARIOS)[number]
export const TARGETS = ['ours', 'floor', 'peer'] as const
export type TargetId = (typeof TARGETS)[number]

export interface BenchOptions {
  products: number
  seed: number
  seconds: number
  warmupSeconds: number
  concurrency: number[]
  scenarios: ScenarioId[]
  targets: TargetId[]
  smoke: boolean
  /** Profiles our gateway and the Q1 subgraphs during an extra Q1 run and summarises the profiles. */
  profile: boolean
  /** Generates the data set again even when the bench databases hold one of the same size and seed. */
  reload: boolean
  /** Database name prefix: bench_<domain>, bench_floor (smoke: bench_smoke_…). */
  prefix: string
}

export const USAGE = `pnpm bench [options]

  --products N        catalog size (default 133149); generated once into bench_<domain>, reused after
  --seed N            data set seed (default 42)
  --seconds S         measured seconds per scenario, target and concurrency (default 15)
  --warmup S          warm-up seconds before each measurement (default 3; smoke 0)
  --concurrency LIST  e.g. 1,32 (default)
  --scenarios LIST    q1,q2,q3,q4 (default: all)
  --targets LIST      ours,floor,peer (default: all that apply)
  --smoke             ~2,000 products, 2 s per scenario, concurrency 1 and 4 (CI)
  --profile           profile our gateway and the Q1 subgraphs during an extra Q1 run (top self time)
  --reload            generate the data set again even when one of the same size and seed is there

Databases: DATABASE_URL or TEST_DATABASE_URL (a server where bench_* databases may be created),
else an embedded PostgreSQL in .data/bench-postgres (port BENCH_PG_PORT, default 54339).`

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

export function parseOptions(argv: readonly string[]): BenchOptions {
  const flags = new Map<string, string | true>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`)
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined]
    if (inline !== undefined) flags.set(name, inline)
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.set(name, argv[++i]!)
    else flags.set(name, true)
  }
  const known = ['products', 'seed', 'seconds', 'warmup', 'concurrency', 'scenarios', 'targets', 'smoke']
  for (const name of flags.keys()) {
    if (![...known, 'profile', 'reload', 'help'].includes(name))
      throw new UsageError(`unknown option --${name}`)
  }
  if (flags.has('help')) throw new UsageError('')
  const smoke = flags.get('smoke') === true
  const get = (name: string) => flags.get(name)
  const products =
    get('products') !== undefined ? positive(get('products')!, 'products') : smoke ? 2000 : 133_149
  const seconds =
    get('seconds') !== undefined ? positive(get('seconds')!, 'seconds', { integer: false }) : smoke ? 2 : 15
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
  const scenarios =
    get('scenarios') !== undefined ? list(String(get('scenarios')), SCENARIOS, 'scenarios') : [...SCENARIOS]
  const targets =
    get('targets') !== undefined ? list(String(get('targets')), TARGETS, 'targets') : [...TARGETS]
  const seed = get('seed') !== undefined ? positive(get('seed')!, 'seed') : 42
  return {
    products,
    seed,
    seconds,
    warmupSeconds,
    concurrency,
    scenarios: SCENARIOS.filter((s) => scenarios.includes(s)),
    targets: TARGETS.filter((t) => targets.includes(t)),
    smoke,
    profile: flags.get('profile') === true,
    reload: flags.get('reload') === true,
    prefix: smoke ? 'bench_smoke' : 'bench',
  }
}
