/**
 * What metrics collection costs: Q1 (product page) throughput of our stack with METRICS_ENABLED=true and
 * with METRICS_ENABLED=false, the two started in turn (never at once, so they do not share the CPU), a few
 * rounds alternating which goes first; the same data set, parameters and load. Reports each run, the
 * median per setting and the overhead against the "≤ 5 %" target. `pnpm bench --metrics-overhead`; a tiny
 * version runs in `--smoke`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DOMAINS, type Domain } from '@pm/db'
import { TOKEN_SECRET_ENV } from '@pm/service-kit'
import { Q1_PRODUCT_PAGE } from './queries'
import { subgraphPoolEnv } from './src/connections'
import { prepareDataSet, REPO_ROOT, startBenchServer } from './src/data'
import { benchAccessToken, benchSecrets } from './src/identity'
import { runLoad } from './src/load'
import type { BenchOptions } from './src/options'
import { pickParams } from './src/params'
import { freePort, type Service, startService, stopService, waitReady } from './src/services'

export const METRICS_OVERHEAD_TARGET_PERCENT = 5

type Setting = 'on' | 'off'
type Front = 'cached' | 'uncached'

interface OverheadRun {
  round: number
  setting: Setting
  front: Front
  rps: number
  p50: number
  p99: number
  errors: number
  load1: number
}

export interface MetricsOverheadResult {
  concurrency: number
  seconds: number
  rounds: number
  runs: OverheadRun[]
  /** Per gateway setting: median req/s with metrics on and off, and the overhead (off − on) / off. */
  summary: Partial<
    Record<Front, { on: number; off: number; overheadPercent: number; spread: string; conclusive: boolean }>
  >
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function startOurs(
  urls: Record<Domain, string>,
  secrets: Record<string, string>,
  setting: Setting,
  cacheName: string,
): Promise<{ services: Service[]; cached: Service; uncached: Service }> {
  const ports = Object.fromEntries(await Promise.all(DOMAINS.map(async (d) => [d, await freePort()])))
  const adminPorts = Object.fromEntries(await Promise.all(DOMAINS.map(async (d) => [d, await freePort()])))
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    GATEWAY_RATE_LIMIT_PER_MINUTE: '0',
    METRICS_ENABLED: setting === 'on' ? 'true' : 'false',
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
    return startService({
      name: `gateway ${front} (metrics ${setting})`,
      group: 'gateway',
      port,
      adminPort,
      script: 'gateway/src/main.ts',
      env: {
        ...env,
        GATEWAY_PORT: String(port),
        GATEWAY_ADMIN_PORT: String(adminPort),
        GATEWAY_WORKERS: '1',
        GATEWAY_CACHE: front === 'cached' ? 'true' : 'false',
        GATEWAY_CACHE_NAME: cacheName,
        ...(process.env.REDIS_URL?.trim() ? { REDIS_URL: process.env.REDIS_URL.trim() } : {}),
      },
    })
  }
  const cached = await gateway('cached')
  const uncached = await gateway('uncached')
  const services = [...subgraphs, cached, uncached]
  try {
    await Promise.all(services.map((s) => waitReady(s, 300_000)))
  } catch (error) {
    await Promise.all(services.map((s) => stopService(s)))
    throw error
  }
  return { services, cached, uncached }
}

export async function runMetricsOverhead(
  options: BenchOptions,
  log: (message: string) => void,
): Promise<MetricsOverheadResult> {
  const rounds = options.smoke ? 1 : 3
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
    for (let round = 1; round <= rounds; round++) {
      // Alternate which setting goes first, so a drift in the machine's load does not favour one.
      const order: Setting[] = round % 2 ? ['on', 'off'] : ['off', 'on']
      for (const setting of order) {
        const stack = await startOurs(
          data.urls,
          secrets,
          setting,
          `bench-metrics-${setting}-${round}-${process.pid}`,
        )
        try {
          for (const front of fronts) {
            const service = front === 'cached' ? stack.cached : stack.uncached
            const load = {
              url: `http://127.0.0.1:${service.port}/graphql`,
              headers,
              bodies,
              connections: concurrency,
              cursor: { next: 0 },
            }
            // The first requests plan the operation and fill the pools: one at a time, each answer checked.
            for (const body of bodies.slice(0, 3)) {
              const answer = await fetch(load.url, {
                method: 'POST',
                headers: { 'content-type': 'application/json', ...headers },
                body,
              })
              const json = (await answer.json()) as { errors?: { message: string }[] }
              if (!answer.ok || json.errors)
                throw new Error(
                  `metrics overhead: Q1 failed (${answer.status}: ${json.errors?.[0]?.message})`,
                )
            }
            if (warmup > 0) await runLoad({ ...load, seconds: warmup })
            const m = await runLoad({ ...load, seconds })
            if (m.requests === 0 && !options.smoke)
              throw new Error(`metrics overhead: no answer within ${seconds} s`)
            const run: OverheadRun = {
              round,
              setting,
              front,
              rps: m.rps,
              p50: m.p50,
              p99: m.p99,
              errors: m.errors,
              load1: os.loadavg()[0]!,
            }
            runs.push(run)
            log(
              `metrics overhead · round ${round} · metrics ${setting} · ${front} · c=${concurrency}: ${m.rps.toFixed(1)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, ${m.errors} errors (load ${run.load1.toFixed(2)})`,
            )
            // Errors (timeouts on an overloaded machine) are reported with the run, not hidden.
            if (m.errors > 0) log(`metrics overhead: ${m.errors} errors, the first: ${m.firstError}`)
          }
        } finally {
          await Promise.all(stack.services.map((s) => stopService(s)))
        }
      }
    }
    const summary = Object.fromEntries(
      fronts.map((front) => {
        const of = (setting: Setting) => runs.filter((r) => r.front === front && r.setting === setting)
        const on = median(of('on').map((r) => r.rps))
        const off = median(of('off').map((r) => r.rps))
        const range = (setting: Setting) => {
          const values = of(setting).map((r) => r.rps)
          return `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`
        }
        const [onRuns, offRuns] = [of('on').map((r) => r.rps), of('off').map((r) => r.rps)]
        // When the two settings' runs overlap, the machine's noise is larger than what is measured.
        const overlap =
          Math.min(...onRuns) <= Math.max(...offRuns) && Math.min(...offRuns) <= Math.max(...onRuns)
        return [
          front,
          {
            on,
            off,
            overheadPercent: off > 0 ? ((off - on) / off) * 100 : 0,
            spread: `on ${range('on')}, off ${range('off')} req/s`,
            conclusive: !overlap,
          },
        ]
      }),
    ) as MetricsOverheadResult['summary']
    return { concurrency, seconds, rounds, runs, summary }
  } finally {
    await server.stop()
  }
}

export function metricsOverheadMarkdown(result: MetricsOverheadResult): string {
  const lines = [
    `Q1 at concurrency ${result.concurrency}, ${result.seconds} s per run, ${result.rounds} round(s), metrics on and off started in turn (alternating order).`,
    '',
    '| gateway | metrics on (median req/s) | metrics off (median req/s) | overhead | target | spread |',
    '| --- | ---: | ---: | ---: | --- | --- |',
    ...(['cached', 'uncached'] as const).flatMap((front) => {
      const s = result.summary[front]
      if (!s) return []
      const met = s.overheadPercent <= METRICS_OVERHEAD_TARGET_PERCENT
      // Judged only when the runs of the two settings do not overlap (else the noise is larger than the cost).
      const verdict = s.conclusive ? (met ? 'met' : 'missed') : 'not judged: the runs overlap'
      return [
        `| ${front} | ${s.on.toFixed(1)} | ${s.off.toFixed(1)} | ${s.overheadPercent.toFixed(1)} % | ≤ ${METRICS_OVERHEAD_TARGET_PERCENT} % ${verdict} | ${s.spread} |`,
      ]
    }),
    '',
    '| round | metrics | gateway | req/s | p50 ms | p99 ms | errors | load (1 min) |',
    '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...result.runs.map(
      (r) =>
        `| ${r.round} | ${r.setting} | ${r.front} | ${r.rps.toFixed(1)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ${r.load1.toFixed(2)} |`,
    ),
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
  log('metrics overhead scenario: Q1 with METRICS_ENABLED=true and false, in turn')
  const result = await runMetricsOverhead(options, log)
  const markdown = `# Metrics overhead (${startedAt.toISOString()})\n\n${commandLine}\n\n${metricsOverheadMarkdown(result)}`
  const dir = path.join(REPO_ROOT, 'bench/results')
  mkdirSync(dir, { recursive: true })
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-')
  const files = options.smoke
    ? [path.join(dir, 'smoke-metrics-overhead.md')]
    : [path.join(dir, `metrics-overhead-${stamp}.md`), path.join(dir, 'metrics-overhead-latest.md')]
  for (const file of files) writeFileSync(file, markdown)
  console.log(metricsOverheadMarkdown(result))
  log(`metrics overhead results: ${files.map((f) => path.relative(REPO_ROOT, f)).join(', ')}`)
  // Smoke runs are too short to judge a few percent: only the full run holds the target.
  if (options.smoke) return 0
  const cached = result.summary.cached
  return cached?.conclusive && cached.overheadPercent > METRICS_OVERHEAD_TARGET_PERCENT ? 1 : 0
}
