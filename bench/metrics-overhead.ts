/**
 * What metrics collection costs: Q1 (product page) through our stack with METRICS_ENABLED=true and with
 * METRICS_ENABLED=false, both stacks started once and kept up for the whole measurement, loaded in turn (never
 * at once, so they do not share the CPU; the one not loaded sits idle), --rounds rounds alternating which goes
 * first, each front's "on" and "off" runs back to back; the same data set, parameters and load. Two measures per run:
 * throughput, and the CPU time (user + system, /proc) the gateway and the seven subgraphs spend per request
 * answered, which a loaded machine disturbs far less than throughput (only our processes' own work is
 * counted, not the time they wait for a core). Each round pairs an "on" and an "off" run close in time; the
 * overhead is judged on the per-round pairs, by distribution-free bounds on their median (medianBounds): met
 * when the upper bound is within the "≤ 5 %" target, missed when the lower bound is over it, not judged when
 * they straddle it (with 6 rounds the bounds are the extreme rounds; 12 rounds narrow them). `pnpm bench --metrics-overhead`; a tiny version runs in
 * `--smoke`; with `--profile` the cached gateway is also profiled in the last round, on and off.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DOMAINS, type Domain } from '@pm/db'
import { TOKEN_SECRET_ENV } from '@pm/service-kit'
import { Q1_PRODUCT_PAGE } from './queries'
import { subgraphPoolEnv } from './src/connections'
import { formatResultFiles, prepareDataSet, REPO_ROOT, startBenchServer } from './src/data'
import { benchAccessToken, benchSecrets } from './src/identity'
import { runLoad } from './src/load'
import type { BenchOptions } from './src/options'
import { pickParams } from './src/params'
import { topSelfTime } from './src/profile'
import { freePort, type Service, sampleProcess, startService, stopService, waitReady } from './src/services'

export const METRICS_OVERHEAD_TARGET_PERCENT = 5

/**
 * BENCH_METRICS_OVERHEAD_CONTROL=true: the A/A control. Both stacks start with metrics off (the "on" stack is
 * the one that would have had them), so what the rounds show is the bench's own difference between two
 * identical stacks: how far this method can see on this machine.
 */
function controlRun(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.BENCH_METRICS_OVERHEAD_CONTROL?.trim().toLowerCase() === 'true'
}
/** Fewer pairs than this cannot bound the median at PAIRS_CONFIDENCE: reported, not judged. */
const MIN_JUDGED_ROUNDS = 5

type Setting = 'on' | 'off'
type Front = 'cached' | 'uncached'

interface OverheadRun {
  round: number
  setting: Setting
  front: Front
  requests: number
  rps: number
  p50: number
  p99: number
  errors: number
  load1: number
  /** CPU ms per request answered, of the gateway measured and of the seven subgraphs (undefined: no /proc). */
  gatewayCpuMs?: number
  subgraphsCpuMs?: number
}

type Verdict = 'met' | 'missed' | 'not judged'

/** One measure's overhead over the rounds: each round's on/off pair, their median and range, the verdict. */
export interface PairedOverhead {
  /** Per round, in %: how much worse "on" is than "off" (fewer req/s, more CPU per request). */
  pairs: number[]
  median: number
  min: number
  max: number
  verdict: Verdict
  why: string
}

export interface MetricsOverheadResult {
  concurrency: number
  seconds: number
  rounds: number
  smoke: boolean
  /** The A/A control (BENCH_METRICS_OVERHEAD_CONTROL): metrics off in both stacks. */
  control: boolean
  runs: OverheadRun[]
  summary: Partial<
    Record<
      Front,
      {
        rps: { on: number; off: number; overhead: PairedOverhead }
        /** Gateway + subgraphs CPU ms per request, medians, and the paired overhead; undefined without /proc. */
        cpu?: {
          on: number
          off: number
          gatewayOn: number
          gatewayOff: number
          overhead: PairedOverhead
          gatewayOverhead: PairedOverhead
        }
      }
    >
  >
  /** With --profile: the cached gateway's profiles, on and off, summarised. */
  profiles?: string
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, k: number): number {
  let term = 0.5 ** n
  let sum = 0
  for (let i = 0; i <= k; i++) {
    sum += term
    term = (term * (n - i)) / (i + 1)
  }
  return sum
}

/** One-sided confidence of the order-statistic bounds on the median of the pairs. */
export const PAIRS_CONFIDENCE = 0.95

/**
 * Distribution-free bounds on the median overhead (the sign test's): with n pairs sorted, the j-th smallest lies
 * above the true median unless at least j pairs fall below it, so x(j) is an upper bound with confidence
 * P(Binomial(n, ½) ≤ j − 1); j is the smallest index reaching PAIRS_CONFIDENCE, and x(n + 1 − j) is the lower
 * bound. Six pairs give the extremes (98.4 %); twelve, the third from each end (98.1 %); undefined below five.
 */
export function medianBounds(
  pairs: number[],
): { lower: number; upper: number; confidence: number } | undefined {
  const n = pairs.length
  const sorted = [...pairs].sort((a, b) => a - b)
  for (let j = Math.ceil((n + 1) / 2); j <= n; j++) {
    const confidence = binomialHalfCdf(n, j - 1)
    if (confidence >= PAIRS_CONFIDENCE) return { lower: sorted[n - j]!, upper: sorted[j - 1]!, confidence }
  }
  return undefined
}

/**
 * The pairs' verdict against the target, on the median overhead's bounds (medianBounds): met when the upper
 * bound is within the target, missed when the lower bound is over it, not judged when they straddle it.
 */
export function pairedOverhead(pairs: number[], smoke: boolean): PairedOverhead {
  const target = METRICS_OVERHEAD_TARGET_PERCENT
  const [min, max] = [Math.min(...pairs), Math.max(...pairs)]
  const base = { pairs, median: median(pairs), min, max }
  if (smoke) return { ...base, verdict: 'not judged', why: 'smoke run' }
  const bounds = pairs.length >= MIN_JUDGED_ROUNDS ? medianBounds(pairs) : undefined
  if (!bounds)
    return {
      ...base,
      verdict: 'not judged',
      why: `${pairs.length} round(s), ${MIN_JUDGED_ROUNDS} needed to bound the median`,
    }
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} %`
  const range = `median between ${pct(bounds.lower)} and ${pct(bounds.upper)} (${(bounds.confidence * 100).toFixed(1)} % each side)`
  if (bounds.upper <= target) return { ...base, verdict: 'met', why: `${range}: ≤ ${target} %` }
  if (bounds.lower > target) return { ...base, verdict: 'missed', why: `${range}: > ${target} %` }
  return { ...base, verdict: 'not judged', why: `${range}: covers ${target} %` }
}

/** CPU seconds (user + system, every thread) of each process, from /proc; undefined when one is unreadable. */
function cpuSeconds(services: Service[]): number[] | undefined {
  const samples = services.map((s) => (s.child.pid === undefined ? undefined : sampleProcess(s.child.pid)))
  return samples.every((sample) => sample !== undefined)
    ? samples.map((sample) => sample!.cpuSeconds)
    : undefined
}

const PROFILES_DIR = path.join(REPO_ROOT, 'bench/results/profiles')
const profileFile = (setting: Setting) => path.join(PROFILES_DIR, `metrics-${setting}-gateway.cpuprofile`)

async function startOurs(
  urls: Record<Domain, string>,
  secrets: Record<string, string>,
  setting: Setting,
  cacheName: string,
  profiled: boolean,
  control: boolean,
): Promise<{ services: Service[]; subgraphs: Service[]; cached: Service; uncached: Service }> {
  const ports = Object.fromEntries(await Promise.all(DOMAINS.map(async (d) => [d, await freePort()])))
  const adminPorts = Object.fromEntries(await Promise.all(DOMAINS.map(async (d) => [d, await freePort()])))
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    GATEWAY_RATE_LIMIT_PER_MINUTE: '0',
    METRICS_ENABLED: setting === 'on' && !control ? 'true' : 'false',
    ...subgraphPoolEnv(),
    ...secrets,
  }
  for (const d of DOMAINS) {
    const upper = d.toUpperCase()
    env[`DB_${upper}_URL`] = urls[d]
    env[`SUBGRAPH_${upper}_PORT`] = String(ports[d])
    env[`SUBGRAPH_${upper}_ADMIN_PORT`] = String(adminPorts[d])
    env[`SUBGRAPH_${upper}_URL`] = `http://127.0.0.1:${ports[d]}/graphql`
  }
  const subgraphs = DOMAINS.map((d) =>
    startService({
      name: `subgraph ${d} (metrics ${setting})`,
      group: 'subgraphs',
      port: ports[d],
      adminPort: adminPorts[d],
      script: `subgraphs/${d}/src/main.ts`,
      env,
    }),
  )
  const gateway = async (front: Front) => {
    const [port, adminPort] = [await freePort(), await freePort()]
    // The cached gateway of a profiled round preloads the SIGUSR2 profiler (src/profile-preload.ts).
    const profiling = profiled && front === 'cached'
    return startService({
      name: `gateway ${front} (metrics ${setting})`,
      group: 'gateway',
      port,
      adminPort,
      script: 'gateway/src/main.ts',
      ...(profiling ? { nodeFlags: ['--import', './bench/src/profile-preload.ts'] } : {}),
      env: {
        ...env,
        GATEWAY_PORT: String(port),
        GATEWAY_ADMIN_PORT: String(adminPort),
        GATEWAY_WORKERS: '1',
        GATEWAY_CACHE: front === 'cached' ? 'true' : 'false',
        GATEWAY_CACHE_NAME: cacheName,
        ...(process.env.REDIS_URL?.trim() ? { REDIS_URL: process.env.REDIS_URL.trim() } : {}),
        ...(profiling ? { BENCH_PROFILE_FILE: profileFile(setting) } : {}),
      },
    })
  }
  const cached = await gateway('cached')
  const uncached = await gateway('uncached')
  const services = [...subgraphs, cached, uncached]
  try {
    await Promise.all(services.map((s) => waitReady(s, 600_000)))
  } catch (error) {
    await Promise.all(services.map((s) => stopService(s)))
    throw error
  }
  return { services, subgraphs, cached, uncached }
}

/** The profiles of the last round's cached gateway, on and off: self time by package and the top functions. */
async function summariseProfiles(rates: Partial<Record<Setting, number>>): Promise<string> {
  const sections = [
    '## Profiles of the cached gateway (last round)',
    '',
    'Self time in % of the process’s busy time, and busy CPU ms per request answered while profiled.',
  ]
  for (const setting of ['on', 'off'] as const) {
    const file = profileFile(setting)
    const deadline = Date.now() + 30_000
    while (!existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    if (!existsSync(file)) {
      sections.push('', `Metrics ${setting}: no profile written.`)
      continue
    }
    const kept = path.join(
      PROFILES_DIR,
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${path.basename(file)}`,
    )
    renameSync(file, kept)
    const { busyMs, top, packages } = topSelfTime(kept, 15)
    const requests = rates[setting]
    sections.push(
      '',
      `### Metrics ${setting}: busy ${(busyMs / 1000).toFixed(1)} s${requests ? `, ${(busyMs / requests).toFixed(3)} ms per request` : ''} (${path.relative(REPO_ROOT, kept)})`,
      '',
      `By package: ${packages
        .slice(0, 10)
        .map((p) => `${p.name} ${p.selfPercent.toFixed(1)}%`)
        .join(', ')}`,
      '',
      '| function | where | self ms | % busy |',
      '| --- | --- | ---: | ---: |',
      ...top.map(
        (h) => `| ${h.function} | ${h.location} | ${h.selfMs.toFixed(0)} | ${h.selfPercent.toFixed(1)} |`,
      ),
    )
  }
  return sections.join('\n')
}

export async function runMetricsOverhead(
  options: BenchOptions,
  log: (message: string) => void,
): Promise<MetricsOverheadResult> {
  const rounds = options.rounds
  const control = controlRun()
  const concurrency = options.smoke ? 4 : Math.max(...options.concurrency)
  const seconds = options.smoke ? 2 : options.seconds
  const warmup = options.smoke ? 1 : options.warmupSeconds
  // Smoke: the cached gateway only (the scenario runs, its numbers are not judged).
  const fronts: Front[] = options.smoke ? ['cached'] : ['cached', 'uncached']
  const server = await startBenchServer(log)
  try {
    const data = await prepareDataSet(server.url, options.prefix, options.products, options.seed, log, false)
    const secrets = benchSecrets()
    const token = await benchAccessToken(data.urls, secrets[TOKEN_SECRET_ENV])
    const params = await pickParams(data.urls, 0)
    const bodies = params.supplierIds.map((supplierId) =>
      JSON.stringify({ query: Q1_PRODUCT_PAGE, variables: { supplierId, first: 50 } }),
    )
    const headers = { authorization: `Bearer ${token}` }
    const runs: OverheadRun[] = []
    if (options.profile) {
      mkdirSync(PROFILES_DIR, { recursive: true })
      for (const setting of ['on', 'off'] as const) rmSync(profileFile(setting), { force: true })
    }
    const profiledRequests: Partial<Record<Setting, number>> = {}
    // Both settings run side by side for the whole measurement and are loaded in turn: a round's two runs are
    // seconds apart, on processes that have run as long as each other (no restart, no cold JIT in a pair);
    // the stack not loaded sits idle meanwhile, the same for both.
    const stacks: Partial<Record<Setting, Awaited<ReturnType<typeof startOurs>>>> = {}
    try {
      for (const setting of ['on', 'off'] as const) {
        stacks[setting] = await startOurs(
          data.urls,
          secrets,
          setting,
          `bench-metrics-${setting}-${process.pid}`,
          options.profile,
          control,
        )
      }
      const loadOf = (setting: Setting, front: Front) => {
        const service = front === 'cached' ? stacks[setting]!.cached : stacks[setting]!.uncached
        return {
          service,
          load: {
            url: `http://127.0.0.1:${service.port}/graphql`,
            headers,
            bodies,
            connections: concurrency,
            cursor: { next: 0 },
          },
        }
      }
      // The first requests plan the operation and fill the pools: one at a time, each answer checked.
      for (const setting of ['on', 'off'] as const) {
        for (const front of fronts) {
          const { load } = loadOf(setting, front)
          for (const body of bodies.slice(0, 3)) {
            const answer = await fetch(load.url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...headers },
              body,
            })
            const json = (await answer.json()) as { errors?: { message: string }[] }
            if (!answer.ok || json.errors)
              throw new Error(`metrics overhead: Q1 failed (${answer.status}: ${json.errors?.[0]?.message})`)
          }
        }
      }
      for (let round = 1; round <= rounds; round++) {
        // Alternate which setting goes first, so a drift in the machine's load does not favour one.
        const order: Setting[] = round % 2 ? ['on', 'off'] : ['off', 'on']
        const profiled = options.profile && round === rounds
        for (const front of fronts) {
          for (const setting of order) {
            const stack = stacks[setting]!
            const { service, load } = loadOf(setting, front)
            if (warmup > 0) await runLoad({ ...load, seconds: warmup })
            const measured = [service, ...stack.subgraphs]
            const profiling = profiled && front === 'cached'
            if (profiling) service.child.kill('SIGUSR2')
            const cpuBefore = cpuSeconds(measured)
            const m = await runLoad({ ...load, seconds })
            const cpuAfter = cpuSeconds(measured)
            if (profiling) {
              service.child.kill('SIGUSR2')
              profiledRequests[setting] = m.requests
            }
            if (m.requests === 0 && !options.smoke)
              throw new Error(`metrics overhead: no answer within ${seconds} s`)
            const used = cpuBefore && cpuAfter ? cpuAfter.map((after, i) => after - cpuBefore[i]!) : undefined
            const perRequest = (cpu: number) => (m.requests > 0 ? (cpu * 1000) / m.requests : 0)
            const run: OverheadRun = {
              round,
              setting,
              front,
              requests: m.requests,
              rps: m.rps,
              p50: m.p50,
              p99: m.p99,
              errors: m.errors,
              load1: os.loadavg()[0]!,
              ...(used
                ? {
                    gatewayCpuMs: perRequest(used[0]!),
                    subgraphsCpuMs: perRequest(used.slice(1).reduce((a, b) => a + b, 0)),
                  }
                : {}),
            }
            runs.push(run)
            const cpu =
              run.gatewayCpuMs === undefined
                ? 'CPU not measured'
                : `CPU per request: gateway ${run.gatewayCpuMs.toFixed(3)} ms, subgraphs ${run.subgraphsCpuMs!.toFixed(3)} ms`
            log(
              `metrics overhead · round ${round} · metrics ${setting} · ${front} · c=${concurrency}: ${m.rps.toFixed(1)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, ${cpu}, ${m.errors} errors (load ${run.load1.toFixed(2)})`,
            )
            // Errors (timeouts on an overloaded machine) are reported with the run, not hidden.
            if (m.errors > 0) log(`metrics overhead: ${m.errors} errors, the first: ${m.firstError}`)
          }
        }
      }
    } finally {
      await Promise.all(Object.values(stacks).flatMap((stack) => stack.services.map((s) => stopService(s))))
    }
    const summary = Object.fromEntries(
      fronts.map((front) => {
        const of = (setting: Setting, round?: number) =>
          runs.filter(
            (r) => r.front === front && r.setting === setting && (round === undefined || r.round === round),
          )
        const roundsRun = [...new Set(runs.map((r) => r.round))]
        // Per round: how much worse "on" is than "off", by `worse(on, off)` in %.
        const paired = (value: (r: OverheadRun) => number, worse: (on: number, off: number) => number) =>
          pairedOverhead(
            roundsRun.map((round) => worse(value(of('on', round)[0]!), value(of('off', round)[0]!))),
            options.smoke,
          )
        const fewer = (on: number, off: number) => (off > 0 ? ((off - on) / off) * 100 : 0)
        const more = (on: number, off: number) => (off > 0 ? ((on - off) / off) * 100 : 0)
        const total = (r: OverheadRun) => r.gatewayCpuMs! + r.subgraphsCpuMs!
        const cpuMeasured = runs.every((r) => r.front !== front || r.gatewayCpuMs !== undefined)
        return [
          front,
          {
            rps: {
              on: median(of('on').map((r) => r.rps)),
              off: median(of('off').map((r) => r.rps)),
              overhead: paired((r) => r.rps, fewer),
            },
            ...(cpuMeasured
              ? {
                  cpu: {
                    on: median(of('on').map(total)),
                    off: median(of('off').map(total)),
                    gatewayOn: median(of('on').map((r) => r.gatewayCpuMs!)),
                    gatewayOff: median(of('off').map((r) => r.gatewayCpuMs!)),
                    overhead: paired(total, more),
                    gatewayOverhead: paired((r) => r.gatewayCpuMs!, more),
                  },
                }
              : {}),
          },
        ]
      }),
    ) as MetricsOverheadResult['summary']
    const profiles = options.profile ? await summariseProfiles(profiledRequests) : undefined
    return {
      concurrency,
      seconds,
      rounds,
      smoke: options.smoke,
      control,
      runs,
      summary,
      ...(profiles ? { profiles } : {}),
    }
  } finally {
    await server.stop()
  }
}

const pct = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)} %`

function overheadCell(o: PairedOverhead): string {
  return `${pct(o.median)} (rounds ${pct(o.min)} … ${pct(o.max)})`
}

function verdictCell(o: PairedOverhead): string {
  return `≤ ${METRICS_OVERHEAD_TARGET_PERCENT} % ${o.verdict}: ${o.why}`
}

export function metricsOverheadMarkdown(result: MetricsOverheadResult): string {
  const fronts = (['cached', 'uncached'] as const).filter((front) => result.summary[front])
  const lines = [
    ...(result.control
      ? [
          '**A/A control** (`BENCH_METRICS_OVERHEAD_CONTROL=true`): both stacks run with metrics **off**; "metrics on" below is the stack that would have had them. Whatever overhead shows is the difference this method finds between two identical stacks on this machine, and the verdicts say whether it can bound that zero within 5 %.',
          '',
        ]
      : []),
    `Q1 at concurrency ${result.concurrency}, ${result.seconds} s per run, ${result.rounds} round(s), metrics on and off both up for the whole run and loaded in turn, each front's on and off runs back to back (alternating order). Overheads are per round (the on and off runs of one round paired), their median and range; the target is judged on distribution-free bounds of their median (the sign test's order statistics, ≥ 95 % each side: the extreme rounds out of 6, the third from each end out of 12): met when the upper bound is within it, missed when the lower bound is over it, not judged when they straddle it. CPU is user + system time of the gateway measured and the seven subgraphs, per request answered (/proc; waiting for a core is not counted, so a loaded machine disturbs it far less than throughput).`,
    '',
    '| gateway | measure | metrics on | metrics off | overhead | target |',
    '| --- | --- | ---: | ---: | ---: | --- |',
    ...fronts.flatMap((front) => {
      const s = result.summary[front]!
      return [
        `| ${front} | throughput (median req/s) | ${s.rps.on.toFixed(1)} | ${s.rps.off.toFixed(1)} | ${overheadCell(s.rps.overhead)} | ${verdictCell(s.rps.overhead)} |`,
        ...(s.cpu
          ? [
              `| ${front} | CPU per request, gateway + subgraphs (median ms) | ${s.cpu.on.toFixed(3)} | ${s.cpu.off.toFixed(3)} | ${overheadCell(s.cpu.overhead)} | ${verdictCell(s.cpu.overhead)} |`,
              `| ${front} | CPU per request, gateway alone (median ms) | ${s.cpu.gatewayOn.toFixed(3)} | ${s.cpu.gatewayOff.toFixed(3)} | ${overheadCell(s.cpu.gatewayOverhead)} | ${verdictCell(s.cpu.gatewayOverhead)} |`,
            ]
          : [`| ${front} | CPU per request | not measured (no /proc) | | | |`]),
      ]
    }),
    '',
    '| round | metrics | gateway | req/s | p50 ms | p99 ms | CPU ms/request gateway | CPU ms/request subgraphs | errors | load (1 min) |',
    '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...result.runs.map(
      (r) =>
        `| ${r.round} | ${r.setting} | ${r.front} | ${r.rps.toFixed(1)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.gatewayCpuMs?.toFixed(3) ?? '–'} | ${r.subgraphsCpuMs?.toFixed(3) ?? '–'} | ${r.errors} | ${r.load1.toFixed(2)} |`,
    ),
    ...(result.profiles ? ['', result.profiles] : []),
  ]
  return `${lines.join('\n')}\n`
}

/** Runs the scenario and writes bench/results/metrics-overhead-*.md (smoke: smoke-metrics-overhead.md). */
export async function metricsOverheadScenario(
  options: BenchOptions,
  log: (message: string) => void,
  commandLine: string,
): Promise<number> {
  const startedAt = new Date()
  log(
    controlRun()
      ? 'metrics overhead scenario, A/A control: Q1 through two stacks, both with METRICS_ENABLED=false, in turn'
      : 'metrics overhead scenario: Q1 with METRICS_ENABLED=true and false, in turn',
  )
  const result = await runMetricsOverhead(options, log)
  const markdown = `# Metrics overhead (${startedAt.toISOString()})\n\n${commandLine}\n\n${metricsOverheadMarkdown(result)}`
  const dir = path.join(REPO_ROOT, 'bench/results')
  mkdirSync(dir, { recursive: true })
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-')
  const name = result.control ? 'metrics-overhead-control' : 'metrics-overhead'
  const files = options.smoke
    ? [path.join(dir, `smoke-${name}.md`)]
    : [path.join(dir, `${name}-${stamp}.md`), path.join(dir, `${name}-latest.md`)]
  for (const file of files) writeFileSync(file, markdown)
  formatResultFiles(files)
  console.log(metricsOverheadMarkdown(result))
  log(`metrics overhead results: ${files.map((f) => path.relative(REPO_ROOT, f)).join(', ')}`)
  // A target shown missed (every round over it, in throughput or in CPU per request) fails the run; the
  // control run measures the method, not metrics.
  const missed =
    !result.control &&
    Object.values(result.summary).some(
      (s) => s.rps.overhead.verdict === 'missed' || s.cpu?.overhead.verdict === 'missed',
    )
  return missed ? 1 : 0
}
