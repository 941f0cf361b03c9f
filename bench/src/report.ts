import type { Domain } from '@pm/db'
import type { CacheRatio } from './cache-metrics'
import type { Measurement } from './load'
import type { RunMemory } from './mixed'
import type { ScenarioId, TargetId } from './options'
import type { GroupUsage } from './services'

export const SCENARIO_TITLES: Record<ScenarioId, string> = {
  q1: 'Q1 product page',
  q2: 'Q2 product detail',
  q3: 'Q3 import dashboard',
  q4: 'Q4 bulk upsert 1,000',
  mixed: 'Mixed workload',
}

export interface RunResult {
  scenario: ScenarioId
  target: TargetId
  concurrency: number
  measurement: Measurement
  /** SQL statements per operation (floor: its one statement), from the counting stack */
  statementsPerOp: number | null
  /** Subgraph fetches per operation (the plan's), from the counting stack */
  fetchesPerOp: number | null
  /** The target's front process: our gateway, Hive Gateway or the floor server */
  front: GroupUsage
  /** The seven subgraph processes */
  subgraphs: GroupUsage
  /** PostgreSQL backends serving the bench databases (null when the server's processes are not visible) */
  postgres: GroupUsage | null
  /** The load generator (this process) */
  loadgenCpuSeconds: number
  /** Busy CPU of the whole machine minus all of the above: other work on the machine during the run */
  otherCpuSeconds: number
  /** ours: the fetch cache's lookups during the measured seconds, from /metrics (null: not readable) */
  cache?: CacheRatio | null
  /** The mixed workload: peak resident memory of the front's processes and of the subgraphs */
  memory?: RunMemory
}

/** One pass of "Q2 Redis cold vs warm": each EAN asked once, one request at a time. */
export interface ColdWarmPass {
  requests: number
  p50: number
  p95: number
  p99: number
  max: number
  mean: number
  errors: number
  firstError?: string
  cache: CacheRatio | null
}

export type ColdWarm =
  | {
      measured: true
      eans: number
      cold: ColdWarmPass
      warm: ColdWarmPass
      /** cold p50 / warm p50 */
      ratio: number
      /** Warm answers equal to the cold answer for the same EAN */
      same: number
      firstDifference?: string
    }
  | { measured: false; reason: string }

export interface StatementCount {
  scenario: ScenarioId
  target: 'ours' | 'peer'
  items: number | null
  statements: number
  fetches: number
  bySubgraph: Partial<Record<Domain, number>>
  errors?: string
}

export interface TargetCheck {
  name: string
  /** true met, false missed, null not measured */
  met: boolean | null
  detail: string
}

export interface BenchReport {
  startedAt: string
  finishedAt: string
  command: string
  machine: Record<string, string | number>
  options: Record<string, unknown>
  dataSet: Record<string, unknown>
  parameters: Record<string, unknown>
  statementCounts: StatementCount[]
  answerChecks: {
    scenario: ScenarioId
    target: TargetId
    compared: number
    same: number
    firstDifference?: string
  }[]
  runs: RunResult[]
  coldWarm: ColdWarm
  connections: Record<string, unknown>
  targets: TargetCheck[]
  skipped: string[]
}

const f = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits)

function find(runs: RunResult[], scenario: ScenarioId, target: TargetId, concurrency: number) {
  return runs.find((r) => r.scenario === scenario && r.target === target && r.concurrency === concurrency)
}

/** "p50 2.10× · req/s 0.40×" for one of our gateways' rows against another target's run. */
function ratio(ours: RunResult, other: RunResult | undefined): string {
  if (!other) return ''
  return `p50 ${f(ours.measurement.p50 / other.measurement.p50, 2)}× · req/s ${f(ours.measurement.rps / other.measurement.rps, 2)}×`
}

const pct = (share: number) => (Number.isNaN(share) ? '–' : `${(100 * share).toFixed(1)}%`)

/** "97.0% (L1 95.0%, L2 2.0%)": shares of all the run's lookups. */
export function hitText(cache: CacheRatio | null | undefined): string {
  if (cache === undefined) return ''
  if (cache === null) return 'not read'
  if (cache.lookups === 0) return 'no lookups'
  return `${pct(cache.hit)} (L1 ${pct(cache.l1)}, L2 ${pct(cache.l2)})`
}

const OUR_GATEWAYS: readonly TargetId[] = ['ours', 'uncached']

export function markdownTable(runs: RunResult[]): string {
  const head =
    '| scenario | target | c | req/s | p50 ms | p95 ms | p99 ms | errors | SQL/op | fetches/op | front CPU s | front RSS MB | subgraphs CPU s | subgraphs RSS MB | PG CPU s | other CPU s | cache hits | vs floor | vs peer |\n' +
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|---|'
  const rows = runs.map((r) => {
    const m = r.measurement
    const mine = OUR_GATEWAYS.includes(r.target)
    // Counted with the cache off: ours sends that many at most, fewer as its cache hits.
    const upTo = r.target === 'ours' && r.scenario !== 'q4' && r.scenario !== 'mixed' ? '≤' : ''
    const cells = [
      SCENARIO_TITLES[r.scenario],
      r.target,
      String(r.concurrency),
      f(m.rps, 1),
      f(m.p50, 2),
      f(m.p95, 2),
      f(m.p99, 2),
      String(m.errors),
      r.statementsPerOp === null ? '–' : `${upTo}${r.statementsPerOp}`,
      r.fetchesPerOp === null ? '–' : `${upTo}${r.fetchesPerOp}`,
      f(r.front.cpuSeconds, 1),
      f(r.front.rssMb, 0),
      f(r.subgraphs.cpuSeconds, 1),
      f(r.subgraphs.rssMb, 0),
      r.postgres ? f(r.postgres.cpuSeconds, 1) : '–',
      f(r.otherCpuSeconds, 1),
      hitText(r.cache),
      mine ? ratio(r, find(runs, r.scenario, 'floor', r.concurrency)) : '',
      mine ? ratio(r, find(runs, r.scenario, 'peer', r.concurrency)) : '',
    ]
    return `| ${cells.join(' | ')} |`
  })
  return [head, ...rows].join('\n')
}

/** The "Q2 Redis cold vs warm" section's table and verdict lines. */
export function coldWarmSection(coldWarm: ColdWarm): string {
  if (!coldWarm.measured) return `Not measured: ${coldWarm.reason}.`
  const row = (name: string, p: ColdWarmPass) =>
    `| ${name} | ${p.requests} | ${f(p.p50, 2)} | ${f(p.p95, 2)} | ${f(p.p99, 2)} | ${f(p.mean, 2)} | ${p.errors} | ${p.cache ? `${p.cache.lookups}` : '–'} | ${p.cache ? pct(p.cache.l2) : '–'} | ${p.cache ? pct(1 - p.cache.hit) : '–'} |`
  return [
    '| pass | requests | p50 ms | p95 ms | p99 ms | mean ms | errors | lookups | L2 hits | misses |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    row('cold (Redis empty for this gateway)', coldWarm.cold),
    row('warm (the same EANs again)', coldWarm.warm),
    '',
    `Cold p50 / warm p50 = ${f(coldWarm.ratio, 2)}×. Warm answers equal to the cold ones: ${coldWarm.same}/${coldWarm.eans}${coldWarm.firstDifference ? ` (first difference ${coldWarm.firstDifference})` : ''}.`,
  ].join('\n')
}

export function statementTable(counts: StatementCount[]): string {
  const head =
    '| operation | gateway | items | SQL statements | subgraph fetches | per subgraph |\n|---|---|--:|--:|--:|---|'
  const rows = counts.map(
    (c) =>
      `| ${SCENARIO_TITLES[c.scenario]} | ${c.target === 'ours' ? 'ours, cache off' : c.target} | ${c.items ?? '–'} | ${c.statements} | ${c.fetches} | ${Object.entries(
        c.bySubgraph,
      )
        .map(([d, n]) => `${d} ${n}`)
        .join(', ')}${c.errors ? ` (errors: ${c.errors.slice(0, 80)})` : ''} |`,
  )
  return [head, ...rows].join('\n')
}

export function targetsTable(targets: TargetCheck[]): string {
  const head = '| target | result | measured |\n|---|---|---|'
  const rows = targets.map(
    (t) => `| ${t.name} | ${t.met === null ? 'not measured' : t.met ? 'met' : '**missed**'} | ${t.detail} |`,
  )
  return [head, ...rows].join('\n')
}

/** The issue's targets, judged on this run's numbers. */
export function checkTargets(
  runs: RunResult[],
  counts: StatementCount[],
  coldWarm: ColdWarm,
  concurrency: number[],
  products: number,
  generatorSeconds: number | undefined,
): TargetCheck[] {
  const out: TargetCheck[] = []
  const scale =
    products >= 133_149 ? '' : ` (on ${products.toLocaleString('en')} products, the target is for 133k)`
  const ourCounts = counts.filter((c) => c.target === 'ours')
  for (const scenario of ['q1', 'q2', 'q3'] as const) {
    const mine = ourCounts.filter((c) => c.scenario === scenario)
    if (mine.length === 0) continue
    const statements = [...new Set(mine.map((c) => c.statements))]
    const fetches = [...new Set(mine.map((c) => c.fetches))]
    const flat = statements.length === 1
    const equal = flat && fetches.length === 1 && statements[0] === fetches[0]
    out.push({
      name: `${SCENARIO_TITLES[scenario]}: SQL statements = subgraph fetches, same at every size`,
      met: equal,
      detail: mine
        .map((c) => `${c.items ? `${c.items} items: ` : ''}${c.statements} statements / ${c.fetches} fetches`)
        .join('; '),
    })
  }
  const low = Math.min(...concurrency)
  const high = Math.max(...concurrency)
  const q1 = (target: TargetId, c: number) => find(runs, 'q1', target, c)
  const floor1 = q1('floor', low)
  const floorHigh = q1('floor', high)
  const peerHigh = q1('peer', high)
  // The targets are for our gateway as deployed (ours); uncached shows what the cache contributes.
  const labels: Record<string, string> = {
    ours: 'ours, as deployed',
    uncached: 'uncached, GATEWAY_CACHE=false',
  }
  for (const target of ['ours', 'uncached'] as const) {
    const label = ` (${labels[target]})`
    const mine1 = q1(target, low)
    if (mine1 && floor1) {
      const r = mine1.measurement.p50 / floor1.measurement.p50
      out.push({
        name: `Q1 at c=${low}: p50 ≤ 2.5× the floor's${label}`,
        met: r <= 2.5,
        detail: `${f(mine1.measurement.p50, 2)} ms vs ${f(floor1.measurement.p50, 2)} ms = ${f(r, 2)}×`,
      })
    }
    if (mine1) {
      out.push({
        name: `Q1 at c=${low}: p95 ≤ 15 ms${label}`,
        met: mine1.measurement.p95 <= 15,
        detail: `${f(mine1.measurement.p95, 2)} ms${scale}`,
      })
    }
    const mineHigh = q1(target, high)
    if (mineHigh && floorHigh) {
      const r = mineHigh.measurement.rps / floorHigh.measurement.rps
      out.push({
        name: `Q1 at c=${high}: throughput ≥ 0.35× the floor's${label}`,
        met: r >= 0.35,
        detail: `${f(mineHigh.measurement.rps)} vs ${f(floorHigh.measurement.rps)} req/s = ${f(r, 2)}×`,
      })
    }
    if (mineHigh && peerHigh) {
      const r = mineHigh.measurement.rps / peerHigh.measurement.rps
      out.push({
        name: `Q1 at c=${high}: throughput ≥ the peer gateway's${label}`,
        met: r >= 1,
        detail: `${f(mineHigh.measurement.rps)} vs ${f(peerHigh.measurement.rps)} req/s = ${f(r, 2)}×`,
      })
    }
  }
  const q4 = runs.find((r) => r.scenario === 'q4' && r.target === 'ours')
  if (q4) {
    out.push({
      name: 'Q4: 1,000-product upsert ≤ 300 ms',
      met: q4.measurement.p50 <= 300,
      detail: `p50 ${f(q4.measurement.p50, 0)} ms, p95 ${f(q4.measurement.p95, 0)} ms`,
    })
  }
  out.push({
    name: 'Data generator: 133k products ≤ 90 s',
    met: generatorSeconds === undefined || products < 133_149 ? null : generatorSeconds <= 90,
    detail:
      generatorSeconds === undefined
        ? 'not timed in this run (data set reused)'
        : `${products.toLocaleString('en')} products in ${f(generatorSeconds, 1)} s`,
  })
  out.push(coldWarmTarget(coldWarm, scale))
  return out
}

function coldWarmTarget(coldWarm: ColdWarm, scale: string): TargetCheck {
  const name = 'Q2 with Redis warm ≥ 3× faster than cold (p50, no L1)'
  if (!coldWarm.measured) return { name, met: null, detail: `not measured: ${coldWarm.reason}` }
  const { cold, warm, ratio: r } = coldWarm
  const down = warm.cache?.l2Up === 0 ? '; Redis was not connected (pm_cache_l2_up 0)' : ''
  return {
    name,
    met: r >= 3 && warm.errors === 0 && cold.errors === 0,
    detail: `${coldWarm.eans} EANs: cold p50 ${f(cold.p50, 2)} ms (p95 ${f(cold.p95, 2)}), warm p50 ${f(warm.p50, 2)} ms (p95 ${f(warm.p95, 2)}) = ${f(r, 2)}×${down}${scale}`,
  }
}
