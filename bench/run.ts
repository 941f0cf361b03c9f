/**
 * `pnpm bench`: the side-by-side benchmark (issue 6). Starts PostgreSQL (configured or embedded), loads the
 * data set once into bench_<domain>, copies the Q1/Q2 tables into bench_floor, spawns the seven subgraphs,
 * our gateway (cache on, as deployed), our gateway with GATEWAY_CACHE=false, Hive Gateway (the peer) and
 * the floor server as separate processes, checks that all answer the same, counts SQL statements per
 * operation in-process, then measures Q1–Q4 with autocannon at each concurrency, alternating targets,
 * sampling CPU and memory per process group and ours' cache hits; with REDIS_URL, also Q2 with Redis
 * cold vs warm. Writes bench/results/<timestamp>.{json,md} and latest.md. Options: see USAGE in src/options.ts.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DOMAINS, type Domain } from '@pm/db'
import { SIGNING_SECRET_ENV, TOKEN_SECRET_ENV } from '@pm/service-kit'
import pg from 'pg'
import { asinScenario } from './asin'
import { mediaScenario } from './media'
import { metricsOverheadScenario } from './metrics-overhead'
import { Q1_PRODUCT_PAGE, Q2_PRODUCT_DETAIL, Q3_IMPORT_DASHBOARD } from './queries'
import { type CacheRatio, cacheRatio, scrapeCache } from './src/cache-metrics'
import { firstDifference } from './src/compare'
import {
  connectionBudget,
  describeSubgraphPools,
  FLOOR_POOL_SIZE,
  type ServerConnections,
  serverConnections,
  subgraphPoolEnv,
} from './src/connections'
import {
  type DomainUrls,
  formatResultFiles,
  prepareDataSet,
  REPO_ROOT,
  startBenchServer,
  withClient,
} from './src/data'
import { prepareFloorDatabase, refreshFloorProducts } from './src/floor-data'
import { benchAccessToken, benchSecrets } from './src/identity'
import { IMPORT_TARGETS, importMarkdown, runImportBench } from './src/import'
import { type LoadSpec, type Measurement, percentile, runLoad } from './src/load'
import {
  benchWrittenProductIds,
  comparable,
  MIXED_KIND_TITLES,
  MIXED_LEVEL_STRIDE,
  MIXED_WEIGHTS,
  type MixedParams,
  type MixedRequest,
  mixedHttp,
  mixedRequest,
  mixedSample,
  mixedTables,
  mixedTargets,
  mixedWriteSample,
  pickMixedParams,
  type RunMemory,
  WRITE_POOL,
} from './src/mixed'
import {
  type BenchOptions,
  parseOptions,
  resolveWorkers,
  type ScenarioId,
  type TargetId,
  USAGE,
  UsageError,
} from './src/options'
import { pickParams, type ScenarioParams } from './src/params'
import { topSelfTime } from './src/profile'
import {
  type BenchReport,
  type ColdWarm,
  type ColdWarmPass,
  checkTargets,
  coldWarmSection,
  hitText,
  markdownTable,
  type RunResult,
  SCENARIO_TITLES,
  type StatementCount,
  statementTable,
  targetsTable,
} from './src/report'
import {
  describeFailure,
  exited,
  freePort,
  type GroupUsage,
  machineCpuSeconds,
  type ProcSample,
  type Service,
  sampleMany,
  startService,
  stopService,
  usageBetween,
  waitReady,
  waitWorkersReady,
  withChildren,
} from './src/services'
import {
  planUpserts,
  Q4_BULK_UPSERT,
  UPSERT_FIRST_UPDATE,
  type UpsertPlan,
  upsertUnavailable,
} from './src/upsert'

const RESULTS_DIR = path.join(REPO_ROOT, 'bench/results')
const PAGE_SIZE = 50
const began = performance.now()
const log = (message: string) =>
  console.log(`[bench ${((performance.now() - began) / 1000).toFixed(1).padStart(5)} s] ${message}`)

/** Which targets measure which scenario: the floor only has Q1 and Q2; Q4 is ours alone. */
const APPLIES: Record<ScenarioId, readonly TargetId[]> = {
  q1: ['ours', 'uncached', 'floor', 'peer'],
  q2: ['ours', 'uncached', 'floor', 'peer'],
  q3: ['ours', 'uncached', 'peer'],
  q4: ['ours'],
  mixed: ['ours', 'uncached', 'floor', 'peer'],
}

/**
 * How long the services may take to answer /ready. Eleven Node processes starting at once on a loaded 2-core
 * machine took over 5 minutes here (with --mixed alone nothing else runs meanwhile); one that exits fails at once.
 */
const READY_MS = 600_000

/** EANs asked twice by "Q2 Redis cold vs warm" (none of them used by another run). */
const COLD_WARM_EANS = { full: 300, smoke: 40 }

type ReadScenario = 'q1' | 'q2' | 'q3'
const isRead = (s: ScenarioId): s is ReadScenario => s === 'q1' || s === 'q2' || s === 'q3'
const DOCUMENTS: Record<ReadScenario, string> = {
  q1: Q1_PRODUCT_PAGE,
  q2: Q2_PRODUCT_DETAIL,
  q3: Q3_IMPORT_DASHBOARD,
}

function variablesFor(scenario: ReadScenario, params: ScenarioParams): Record<string, unknown>[] {
  if (scenario === 'q1') return params.supplierIds.map((supplierId) => ({ supplierId, first: PAGE_SIZE }))
  if (scenario === 'q2') return params.eans.map((ean) => ({ ean, ...params.metricsRange }))
  return params.statuses.map((status) => ({ status, first: PAGE_SIZE }))
}

interface Stack {
  /** Sent with every request: the bench user's bearer token (the floor ignores it). */
  headers: Record<string, string>
  subgraphs: Service[]
  /** ours: our gateway as deployed, fetch cache on */
  gateway: Service
  /** our gateway with GATEWAY_CACHE=false */
  uncached?: Service
  /** our gateway for "Q2 Redis cold vs warm": no L1, a cache name of its own */
  coldWarm?: Service
  peer?: Service
  floor?: Service
  /** Processes behind each of ours and uncached (GATEWAY_WORKERS) */
  workers: number
}

function frontOf(stack: Stack, target: TargetId): Service {
  const services: Record<TargetId, Service | undefined> = {
    ours: stack.gateway,
    uncached: stack.uncached,
    floor: stack.floor,
    peer: stack.peer,
  }
  const service = services[target]
  if (!service) throw new Error(`no ${target} service running`)
  return service
}

/** Our gateways, each with the worker count it runs (the readiness wait and /metrics need it). */
function ourGateways(stack: Stack): [Service, number][] {
  return [
    [stack.gateway, stack.workers],
    ...(stack.uncached ? [[stack.uncached, stack.workers] as [Service, number]] : []),
    ...(stack.coldWarm ? [[stack.coldWarm, 1] as [Service, number]] : []),
  ]
}

function urlFor(stack: Stack, target: TargetId, scenario: ScenarioId): string {
  const base = `http://127.0.0.1:${frontOf(stack, target).port}`
  return target === 'floor' ? `${base}/${scenario}` : `${base}/graphql`
}

function bodyFor(target: TargetId, scenario: ScenarioId, variables: Record<string, unknown>): string {
  return target === 'floor'
    ? JSON.stringify({ variables })
    : JSON.stringify({ query: DOCUMENTS[scenario as ReadScenario], variables })
}

async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ data?: unknown; errors?: { message: string }[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
  return (await response.json()) as { data?: unknown; errors?: { message: string }[] }
}

/** PostgreSQL backends serving the bench databases; empty when the server runs elsewhere. */
async function backendPids(admin: pg.Client | undefined, prefix: string): Promise<number[]> {
  if (!admin) return []
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname LIKE $1 AND pid <> pg_backend_pid()`,
    [`${prefix}\\_%`],
  )
  return rows.map((r) => r.pid)
}

function machineInfo(
  pgVersion: string,
  server: string,
  loadAtStart: number,
): Record<string, string | number> {
  const cpus = os.cpus()
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).trim()
    if (dirty) commit += ' (with uncommitted changes)'
  } catch {}
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: pgVersion,
    databaseServer: server,
    commit,
    loadAverageAtStart: loadAtStart.toFixed(2),
  }
}

function commandLine(): string {
  const env = ['DATABASE_URL', 'TEST_DATABASE_URL', 'REDIS_URL', 'BENCH_PG_PORT']
    .filter((name) => process.env[name])
    .map((name) => `${name}=${process.env[name]!.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@')}`)
  return [...env, 'pnpm bench', ...process.argv.slice(2)].join(' ')
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[:]/g, '-').replace(/\..*$/, 'Z')
}

async function main(options: BenchOptions): Promise<number> {
  const startedAt = new Date()
  const cleanups: (() => Promise<void>)[] = []
  let stopping = false
  const cleanup = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => {})
  }
  const interrupt = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    interrupted = true
    log(`${signal}: stopping everything…`)
    cleanup().finally(() => process.exit(130))
  }
  process.on('SIGINT', interrupt)
  process.on('SIGTERM', interrupt)

  try {
    const server = await startBenchServer(log)
    cleanups.push(() => server.stop())
    const machineAtStart = os.loadavg()[0]!
    const pgVersion = await withClient(
      server.url,
      async (c) => (await c.query('SHOW server_version')).rows[0].server_version,
    )
    const serverHost = new URL(server.url).hostname
    const localServer = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(serverHost)
    log(`PostgreSQL ${pgVersion} (${server.description})`)

    const data = await prepareDataSet(
      server.url,
      options.prefix,
      options.products,
      options.seed,
      log,
      options.reload,
    )
    const skipped: string[] = []
    let upsertPlan: UpsertPlan | undefined
    if (options.scenarios.includes('q4')) {
      const why = upsertUnavailable()
      if (why) {
        skipped.push(`Q4 skipped: ${why}`)
        log(`Q4 skipped: ${why}`)
      } else {
        upsertPlan = await planUpserts(data.urls)
      }
    }
    const needed = new Set(
      options.scenarios.flatMap((s) => APPLIES[s]).filter((t) => options.targets.includes(t)),
    )
    const withFloor =
      needed.has('floor') && options.scenarios.some((s) => s === 'q1' || s === 'q2' || s === 'mixed')
    const redisUrl = process.env.REDIS_URL?.trim() || undefined
    const coldWarmWhyNot = !options.scenarios.includes('q2')
      ? 'Q2 not in --scenarios'
      : !options.targets.includes('ours')
        ? 'ours not in --targets'
        : !redisUrl
          ? 'no REDIS_URL'
          : undefined

    const budget = connectionBudget(withFloor)
    const pgConnections = await serverConnections(server.url, options.prefix)
    const available = pgConnections.max - pgConnections.reserved - pgConnections.others
    log(
      `PostgreSQL connections: the bench opens at most ${budget.total} (${budget.measuring} while measuring); max_connections ${pgConnections.max}, ${pgConnections.reserved} reserved, ${pgConnections.others} open by others`,
    )
    if (budget.total > available)
      log(`warning: ${budget.total} bench connections may not fit in the ${available} left on this server`)

    const secrets = benchSecrets()
    // Also for the services loaded in this process to count statements (they read them from the environment).
    Object.assign(process.env, secrets)
    const token = await benchAccessToken(data.urls, secrets[TOKEN_SECRET_ENV])
    const stack = await startStack(options, data.urls, secrets, {
      peer: needed.has('peer'),
      uncached: needed.has('uncached'),
      floor: withFloor,
      coldWarm: !coldWarmWhyNot,
      redisUrl,
      runId: `${stamp(startedAt)}-${process.pid}`,
    })
    stack.headers = { authorization: `Bearer ${token}` }
    cleanups.push(() => stopStack(stack))
    const floorUrl = withFloor ? await prepareFloorDatabase(server.url, options.prefix, data, log) : undefined
    if (floorUrl) await refreshFloor(floorUrl, data.urls, options)
    if (stack.floor && floorUrl) {
      // The floor server starts once its database is there (its own process, not started with the rest).
      stack.floor = startFloor(stack.floor.port, floorUrl)
    }
    const params = await pickParams(
      data.urls,
      coldWarmWhyNot ? 0 : options.smoke ? COLD_WARM_EANS.smoke : COLD_WARM_EANS.full,
    )
    log(
      `parameters: ${params.supplierIds.length} suppliers, ${params.eans.length} EANs (+${params.coldEans.length} for Redis cold vs warm), statuses ${params.statuses.join(', ')}, metrics ${params.metricsRange.from}…${params.metricsRange.to}`,
    )

    const statementCounts = await countStatements(
      options,
      data.urls,
      params,
      upsertPlan,
      secrets,
      stack.headers,
    )
    const all = allServices(stack)
    const readyStarted = performance.now()
    const gateways = new Map(ourGateways(stack))
    await Promise.all(
      all.map((s) =>
        gateways.has(s) ? waitWorkersReady(s, gateways.get(s)!, READY_MS) : waitReady(s, READY_MS),
      ),
    )
    log(
      `services ready (${all.length} processes, waited ${Math.round(performance.now() - readyStarted)} ms more)`,
    )

    const answerChecks = await checkAnswers(options, stack, params)
    // Our own connection for pg_stat_activity, when the server's processes are on this machine (/proc).
    const admin = localServer ? new pg.Client({ connectionString: server.url }) : undefined
    if (admin) {
      await admin.connect()
      cleanups.push(() => admin.end())
    }

    const runs: RunResult[] = []
    const readScenarios = options.scenarios.filter(isRead)
    for (const scenario of readScenarios) {
      const variables = variablesFor(scenario, params)
      for (const concurrency of options.concurrency) {
        for (const target of APPLIES[scenario].filter((t) => options.targets.includes(t))) {
          const bodies = variables.map((v) => bodyFor(target, scenario, v))
          // Counted with the cache off: exact for uncached, an upper bound for ours.
          const counted = target === 'peer' ? 'peer' : 'ours'
          const count = statementCounts.find(
            (c) =>
              c.scenario === scenario && c.target === counted && (c.items === null || c.items === PAGE_SIZE),
          )
          const run = await measure(options, stack, admin, {
            scenario,
            target,
            concurrency,
            url: urlFor(stack, target, scenario),
            bodies,
            statementsPerOp: target === 'floor' ? 1 : (count?.statements ?? null),
            fetchesPerOp: target === 'floor' ? 0 : (count?.fetches ?? null),
          })
          runs.push(run)
        }
      }
    }
    const coldWarm: ColdWarm = coldWarmWhyNot
      ? { measured: false, reason: coldWarmWhyNot }
      : await measureColdWarm(stack, params)
    if (coldWarmWhyNot) log(`Q2 Redis cold vs warm: not measured (${coldWarmWhyNot})`)

    if (upsertPlan && options.targets.includes('ours')) {
      const count = statementCounts.find((c) => c.scenario === 'q4')
      // Every row set exists before measuring; from here on each call updates 1,000 products (smoke: no matter).
      for (let n = 1; n < (options.smoke ? 0 : UPSERT_FIRST_UPDATE); n++) {
        const answer = await post(urlFor(stack, 'ours', 'q4'), upsertPlan.bodies[n]!, stack.headers)
        if (answer.errors?.length) throw new Error(`Q4 preparation failed: ${answer.errors[0]!.message}`)
      }
      const cursor = { next: UPSERT_FIRST_UPDATE + 1 }
      runs.push(
        await measure(options, stack, admin, {
          scenario: 'q4',
          target: 'ours',
          concurrency: 1,
          url: urlFor(stack, 'ours', 'q4'),
          bodies: upsertPlan.bodies,
          cursor,
          check: (body) => (/"failed":0\b/.test(body) ? undefined : `rows failed: ${body.slice(0, 300)}`),
          statementsPerOp: count?.statements ?? null,
          fetchesPerOp: count?.fetches ?? null,
        }),
      )
    }

    let mixedParams: MixedParams | undefined
    if (options.scenarios.includes('mixed')) {
      const mixed = await mixedScenario(options, stack, admin, data.urls, params, floorUrl)
      answerChecks.push(...mixed.answerChecks)
      runs.push(...mixed.runs)
      mixedParams = mixed.params
    }

    const profileSummary =
      options.profile && options.scenarios.includes('q1') && options.targets.includes('ours')
        ? await profileQ1(options, stack, params, startedAt)
        : undefined

    const finishedAt = new Date()
    const machine = machineInfo(pgVersion, server.description, machineAtStart)
    const targets = [
      ...checkTargets(
        runs.filter((r) => r.scenario !== 'mixed'),
        statementCounts,
        coldWarm,
        options.concurrency,
        options.products,
        data.loadSeconds,
      ),
      ...mixedTargets(runs),
    ]
    const report: BenchReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      command: commandLine(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg()[0]!.toFixed(2) },
      options: { ...options, workers: stack.workers, redis: Boolean(redisUrl) },
      dataSet: {
        products: data.products,
        seed: data.seed,
        generator: data.generator,
        reused: data.reused,
        loadSeconds: data.loadSeconds,
        databases: `${options.prefix}_<domain>, ${options.prefix}_floor`,
      },
      parameters: {
        suppliers: params.supplierIds.length,
        eans: params.eans.length,
        statuses: params.statuses,
        metricsRange: params.metricsRange,
        pageSize: PAGE_SIZE,
        ...(mixedParams
          ? {
              mixed: {
                seed: options.seed,
                weightsPerThousand: MIXED_WEIGHTS,
                products: mixedParams.productIds.length,
                eans: mixedParams.eans.length,
                suppliers: mixedParams.suppliers.length,
                productStatuses: mixedParams.productStatuses,
                searchWords: mixedParams.words.length,
                writePool: { prices: mixedParams.prices.length, stocks: mixedParams.stocks.length },
                seconds: options.mixedSeconds,
                concurrency: options.mixedConcurrency,
              },
            }
          : {}),
      },
      statementCounts,
      answerChecks,
      runs,
      coldWarm,
      connections: {
        budget,
        subgraphPools: describeSubgraphPools(),
        floorPool: withFloor ? FLOOR_POOL_SIZE : null,
        server: pgConnections,
        mostSeenAfterARun: admin ? mostBenchConnections : null,
      },
      targets,
      skipped,
    }
    const markdown = renderMarkdown(report, profileSummary)
    writeResults(options, startedAt, report, markdown)
    console.log(`\n${markdown}`)

    const failures = [
      ...runs
        .filter((r) => r.measurement.errors > 0)
        .map(
          (r) =>
            `${SCENARIO_TITLES[r.scenario]} ${r.target} c=${r.concurrency}: ${r.measurement.errors} errors (${r.measurement.firstError})`,
        ),
      ...answerChecks
        .filter((c) => c.same < c.compared)
        .map(
          (c) =>
            `${SCENARIO_TITLES[c.scenario]} ${c.target}: answers differ from ours (${c.firstDifference})`,
        ),
      ...statementCounts
        .filter((c) => c.errors)
        .map((c) => `${SCENARIO_TITLES[c.scenario]} ${c.target} statement count: ${c.errors}`),
      ...runs
        .filter((r) => r.measurement.requests === 0)
        .map((r) => `${SCENARIO_TITLES[r.scenario]} ${r.target} c=${r.concurrency}: no request completed`),
      ...coldWarmFailures(coldWarm),
    ]
    if (failures.length > 0) {
      console.error(`\n[bench] FAILED:\n  ${failures.join('\n  ')}`)
      return 1
    }
    log(`done in ${((finishedAt.getTime() - startedAt.getTime()) / 1000).toFixed(1)} s`)
    return 0
  } finally {
    if (!stopping) {
      stopping = true
      await cleanup()
    }
  }
}

interface StackPlan {
  peer: boolean
  uncached: boolean
  floor: boolean
  /** The gateway of "Q2 Redis cold vs warm" */
  coldWarm: boolean
  redisUrl: string | undefined
  /** Makes this run's GATEWAY_CACHE_NAMEs: gateways never share entries with another run's or each other's */
  runId: string
}

async function startStack(
  options: BenchOptions,
  urls: DomainUrls,
  secrets: Record<string, string>,
  plan: StackPlan,
): Promise<Stack> {
  const ports = Object.fromEntries(
    await Promise.all(DOMAINS.map(async (d) => [d, await freePort()])),
  ) as Record<Domain, number>
  // Readiness and metrics: each service's admin listener, on loopback.
  const adminPorts = Object.fromEntries(
    await Promise.all(DOMAINS.map(async (d) => [d, await freePort()])),
  ) as Record<Domain, number>
  const [gatewayAdminPort, uncachedAdminPort, coldWarmAdminPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ]
  const [gatewayPort, uncachedPort, coldWarmPort, peerPort, floorPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ]
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    // As the Dockerfile runs them (graphql-js, for one, skips its development-only checks).
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    // One client sending thousands of requests a minute is the point here: the per-caller limit is off.
    GATEWAY_RATE_LIMIT_PER_MINUTE: '0',
    // Pools that fit the whole bench in a 100-connection server (src/connections.ts).
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
      name: `subgraph ${d}`,
      group: 'subgraphs',
      port: ports[d],
      adminPort: adminPorts[d],
      script: `subgraphs/${d}/src/main.ts`,
      ...profiling(options, d),
      env: { ...env, ...profiling(options, d).env },
    }),
  )
  // REDIS_URL as the bench has it (inherited from its environment), unset otherwise.
  const gatewayEnv = (port: number, adminPort: number, cache: Record<string, string>) => ({
    ...env,
    GATEWAY_PORT: String(port),
    GATEWAY_ADMIN_PORT: String(adminPort),
    ...(plan.redisUrl ? { REDIS_URL: plan.redisUrl } : {}),
    ...cache,
  })
  const gateway = startService({
    name: 'gateway (ours)',
    group: 'gateway',
    port: gatewayPort,
    adminPort: gatewayAdminPort,
    script: 'gateway/src/main.ts',
    ...profiling(options, 'gateway'),
    env: {
      ...gatewayEnv(gatewayPort, gatewayAdminPort, {
        GATEWAY_CACHE: 'true',
        GATEWAY_CACHE_NAME: `bench-ours-${plan.runId}`,
        GATEWAY_WORKERS: String(options.workers),
      }),
      ...profiling(options, 'gateway').env,
    },
  })
  const uncached = plan.uncached
    ? startService({
        name: 'gateway (uncached)',
        group: 'gateway',
        port: uncachedPort,
        adminPort: uncachedAdminPort,
        script: 'gateway/src/main.ts',
        ...profiling(options, 'gateway-uncached'),
        env: {
          ...gatewayEnv(uncachedPort, uncachedAdminPort, {
            GATEWAY_CACHE: 'false',
            GATEWAY_WORKERS: String(options.workers),
          }),
          ...profiling(options, 'gateway-uncached').env,
        },
      })
    : undefined
  const coldWarm = plan.coldWarm
    ? startService({
        name: 'gateway (Q2 Redis cold vs warm)',
        group: 'gateway',
        port: coldWarmPort,
        adminPort: coldWarmAdminPort,
        script: 'gateway/src/main.ts',
        // No L1: every lookup goes to Redis, where this fresh name holds nothing yet.
        env: gatewayEnv(coldWarmPort, coldWarmAdminPort, {
          GATEWAY_CACHE: 'true',
          GATEWAY_CACHE_L1_MB: '0',
          GATEWAY_CACHE_NAME: `bench-q2-cold-warm-${plan.runId}`,
          GATEWAY_WORKERS: '1',
        }),
      })
    : undefined
  const peer = plan.peer
    ? startService({
        name: 'Hive Gateway (peer)',
        group: 'peer',
        port: peerPort,
        script: 'bench/peer.ts',
        env: { ...env, PEER_PORT: String(peerPort) },
      })
    : undefined
  const started = [...subgraphs, gateway, uncached, coldWarm, peer].filter((s) => s !== undefined)
  log(
    `started ${subgraphs.length} subgraphs, our gateway${uncached ? ', our gateway uncached' : ''}${coldWarm ? ', our gateway for Redis cold vs warm' : ''}${peer ? ', Hive Gateway' : ''} (pids ${started.map((s) => s.child.pid).join(' ')})`,
  )
  // Placeholder until the floor database exists: startFloor replaces it.
  const floor = plan.floor ? ({ port: floorPort, adminPort: floorPort } as Service) : undefined
  return {
    headers: {},
    subgraphs,
    gateway,
    ...(uncached ? { uncached } : {}),
    ...(coldWarm ? { coldWarm } : {}),
    ...(peer ? { peer } : {}),
    ...(floor ? { floor } : {}),
    workers: resolveWorkers(options.workers),
  }
}

function startFloor(port: number, databaseUrl: string): Service {
  return startService({
    name: 'floor',
    group: 'floor',
    port,
    script: 'bench/floor.ts',
    env: {
      FLOOR_DATABASE_URL: databaseUrl,
      FLOOR_PORT: String(port),
      FLOOR_POOL_SIZE: String(FLOOR_POOL_SIZE),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
    },
  })
}

/** Every process of the stack that runs (the floor's placeholder has no process until startFloor). */
function allServices(stack: Stack): Service[] {
  return [
    ...stack.subgraphs,
    stack.gateway,
    stack.uncached,
    stack.coldWarm,
    stack.peer,
    stack.floor?.child ? stack.floor : undefined,
  ].filter((s) => s !== undefined)
}

async function stopStack(stack: Stack): Promise<void> {
  const fronts = allServices(stack).filter((s) => !stack.subgraphs.includes(s))
  // The fronts first: the subgraphs stay up until nothing calls them any more.
  await Promise.all(fronts.map((s) => stopService(s)))
  await Promise.all(stack.subgraphs.map((s) => stopService(s)))
}

/** Exact statement and fetch counts per operation, in-process (see src/statements.ts). */
async function countStatements(
  options: BenchOptions,
  urls: DomainUrls,
  params: ScenarioParams,
  upsertPlan: UpsertPlan | undefined,
  secrets: Record<string, string>,
  headers: Record<string, string>,
): Promise<StatementCount[]> {
  // The mixed workload is not counted: its requests are those of Q1–Q3 and two single-row mutations.
  if (options.scenarios.every((s) => s === 'mixed')) return []
  const started = performance.now()
  // Imported here, not at the top: it loads every subgraph and both gateways into this process.
  const { startCountingStack } = await import('./src/statements')
  const counting = await startCountingStack(urls, {
    peer: !options.smoke && options.targets.includes('peer'),
    signingSecret: secrets[SIGNING_SECRET_ENV]!,
    tokenSecret: secrets[TOKEN_SECRET_ENV]!,
    headers,
  })
  const out: StatementCount[] = []
  try {
    // Smoke runs count ours only: loading Hive Gateway in this process too costs seconds CI does not need.
    // Ours' counts (cache off) also stand for uncached, the same gateway without its cache.
    const gateways = (['ours', 'peer'] as const).filter((t) =>
      t === 'ours'
        ? options.targets.includes('ours') || options.targets.includes('uncached')
        : options.targets.includes(t) && !options.smoke,
    )
    for (const scenario of options.scenarios) {
      if (scenario === 'mixed') continue
      for (const target of gateways) {
        if (!APPLIES[scenario].includes(target)) continue
        if (scenario === 'q4') {
          if (!upsertPlan) continue
          const { data: _data, ...count } = await counting.count(
            target,
            Q4_BULK_UPSERT,
            upsertPlan.variables(UPSERT_FIRST_UPDATE),
            upsertPlan.variables(0),
            200,
          )
          out.push({ scenario, target, items: 1000, ...count })
          continue
        }
        const sizes = scenario === 'q1' ? [5, PAGE_SIZE, 100] : [null]
        for (const items of sizes) {
          const variables = variablesFor(scenario, params)[0]!
          const { data: _data, ...count } = await counting.count(
            target,
            DOCUMENTS[scenario],
            items === null ? variables : { ...variables, first: items },
          )
          out.push({ scenario, target, items, ...count })
        }
      }
    }
  } finally {
    await counting.stop()
  }
  log(`statement counts taken in-process (${Math.round(performance.now() - started)} ms)`)
  return out
}

/** The first few parameters of each read scenario through every target: the floor and the peer must answer as ours. */
async function checkAnswers(options: BenchOptions, stack: Stack, params: ScenarioParams) {
  const out: BenchReport['answerChecks'] = []
  for (const scenario of options.scenarios.filter(isRead)) {
    const sample = variablesFor(scenario, params).slice(0, options.smoke ? 2 : 5)
    for (const target of APPLIES[scenario].filter((t) => t !== 'ours' && options.targets.includes(t))) {
      let same = 0
      let difference: string | undefined
      for (const variables of sample) {
        const ours = await post(
          urlFor(stack, 'ours', scenario),
          bodyFor('ours', scenario, variables),
          stack.headers,
        )
        const theirs = await post(
          urlFor(stack, target, scenario),
          bodyFor(target, scenario, variables),
          stack.headers,
        )
        const diff = ours.errors?.length
          ? `ours answered errors: ${ours.errors.map((e) => e.message).join('; ')}`
          : theirs.errors?.length
            ? `${target} answered errors: ${theirs.errors.map((e) => e.message).join('; ')}`
            : firstDifference(ours.data, theirs.data)
        if (diff) difference ??= `${JSON.stringify(variables)} → ${diff}`
        else same++
      }
      out.push({
        scenario,
        target,
        compared: sample.length,
        same,
        ...(difference ? { firstDifference: difference } : {}),
      })
      log(
        `answers ${SCENARIO_TITLES[scenario]}: ${target} ${same}/${sample.length} same as ours${difference ? ` (first difference ${difference})` : ''}`,
      )
    }
  }
  return out
}

interface RunSpec {
  scenario: ScenarioId
  target: TargetId
  concurrency: number
  url: string
  /** The requests' bodies in rotation, or `next` (see LoadSpec) */
  bodies?: string[]
  next?: LoadSpec['next']
  /** Samples the front's and the subgraphs' resident memory every 250 ms while measuring */
  sampleMemory?: boolean
  /** Measured seconds when not --seconds */
  seconds?: number
  statementsPerOp: number | null
  fetchesPerOp: number | null
  cursor?: { next: number }
  check?: (body: string) => string | undefined
}

async function measure(
  options: BenchOptions,
  stack: Stack,
  admin: pg.Client | undefined,
  spec: RunSpec,
): Promise<RunResult> {
  const front = frontOf(stack, spec.target)
  const load = {
    url: spec.url,
    headers: stack.headers,
    ...(spec.bodies ? { bodies: spec.bodies } : {}),
    ...(spec.next ? { next: spec.next } : {}),
    connections: spec.concurrency,
    ...(spec.cursor ? { cursor: spec.cursor } : {}),
    ...(spec.check ? { check: spec.check } : {}),
  }
  if (options.warmupSeconds > 0) await runLoad({ ...load, seconds: options.warmupSeconds })
  // With GATEWAY_WORKERS > 1 the work is in the primary's forked workers.
  const frontPids = withChildren(front.child.pid!)
  const subgraphPids = stack.subgraphs.map((s) => s.child.pid!)
  // Ours' cache lookups in the measured seconds only (the warm-up fills it).
  const scrapes = spec.target === 'ours' ? stack.workers : 0
  const cacheBefore = scrapes ? await scrapeCache(front.adminPort, scrapes) : undefined
  const pgBefore = await backendPids(admin, options.prefix)
  const before: Map<number, ProcSample> = sampleMany([...frontPids, ...subgraphPids, ...pgBefore])
  const clustered = (spec.target === 'ours' || spec.target === 'uncached') && stack.workers > 1
  const memory = spec.sampleMemory ? memorySampler(frontPids, subgraphPids, clustered) : undefined
  const cpuBefore = process.cpuUsage()
  const machineBefore = machineCpuSeconds()
  const measurement: Measurement = await runLoad({ ...load, seconds: spec.seconds ?? options.seconds })
  const cpu = process.cpuUsage(cpuBefore)
  const machineBusy = machineCpuSeconds() - machineBefore
  const cacheAfter = scrapes ? await scrapeCache(front.adminPort, scrapes) : undefined
  const pgAfter = await backendPids(admin, options.prefix)
  mostBenchConnections = Math.max(mostBenchConnections, pgAfter.length)
  const after = sampleMany([...frontPids, ...subgraphPids, ...pgAfter])
  const postgres: GroupUsage | null = admin && pgAfter.length ? usageBetween(before, after, pgAfter) : null
  const dead = [...stack.subgraphs, front].filter((s) => exited(s))
  if (dead.length > 0) throw new Error(dead.map(describeFailure).join('\n'))
  const result: RunResult = {
    scenario: spec.scenario,
    target: spec.target,
    concurrency: spec.concurrency,
    measurement,
    statementsPerOp: spec.statementsPerOp,
    fetchesPerOp: spec.fetchesPerOp,
    front: usageBetween(before, after, frontPids),
    subgraphs: usageBetween(before, after, subgraphPids),
    postgres,
    loadgenCpuSeconds: (cpu.user + cpu.system) / 1e6,
    otherCpuSeconds: 0,
    ...(scrapes ? { cache: cacheRatio(cacheBefore, cacheAfter, scrapes) } : {}),
    ...(memory ? { memory: memory.stop() } : {}),
  }
  result.otherCpuSeconds = Math.max(
    0,
    machineBusy -
      result.front.cpuSeconds -
      result.subgraphs.cpuSeconds -
      (result.postgres?.cpuSeconds ?? 0) -
      result.loadgenCpuSeconds,
  )
  const m = measurement
  log(
    `${SCENARIO_TITLES[spec.scenario]} · ${spec.target} · c=${spec.concurrency}: ${m.rps.toFixed(1)} req/s, p50 ${m.p50.toFixed(2)} ms, p95 ${m.p95.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, ${m.errors} errors${result.cache !== undefined ? `, cache hits ${hitText(result.cache)}` : ''}`,
  )
  return result
}

/**
 * Samples resident memory every 250 ms until stop(): each front process's peak and the subgraphs' highest
 * sum. `cluster`: the first front pid is a gateway primary, the others its workers.
 */
function memorySampler(frontPids: number[], subgraphPids: number[], cluster: boolean) {
  const peaks = new Map<number, number>()
  let subgraphsPeakMb = 0
  const sample = () => {
    const now = sampleMany([...frontPids, ...subgraphPids])
    for (const pid of frontPids) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, now.get(pid)?.rssMb ?? 0))
    subgraphsPeakMb = Math.max(
      subgraphsPeakMb,
      subgraphPids.reduce((sum, pid) => sum + (now.get(pid)?.rssMb ?? 0), 0),
    )
  }
  sample()
  const timer = setInterval(sample, 250)
  return {
    stop(): RunMemory {
      clearInterval(timer)
      sample()
      return {
        front: frontPids.map((pid, i) => ({
          pid,
          // A gateway's primary and workers; else the process and what it spawned (tsx's esbuild).
          role: i === 0 ? (cluster ? 'primary' : 'process') : cluster ? 'worker' : 'child',
          peakMb: peaks.get(pid) ?? 0,
        })),
        subgraphsPeakMb,
      }
    },
  }
}

/** bench_floor holds again catalog's rows of the products the bench writes (Q4's, the mixed workload's). */
async function refreshFloor(floorUrl: string, urls: DomainUrls, options: BenchOptions): Promise<void> {
  const ids = await benchWrittenProductIds(urls.catalog, options.smoke ? WRITE_POOL.smoke : WRITE_POOL.full)
  const { rows, ms } = await refreshFloorProducts(floorUrl, urls.catalog, ids)
  log(`floor: ${rows} rows of ${ids.length} products the bench writes copied again (${Math.round(ms)} ms)`)
}

/**
 * The mixed workload (src/mixed.ts): the floor's copies of written products refreshed, a sample of its
 * reads compared across the targets (nothing measured when one differs), then each concurrency with the
 * targets in turn, each from the same point of the same seeded sequence.
 */
async function mixedScenario(
  options: BenchOptions,
  stack: Stack,
  admin: pg.Client | undefined,
  urls: DomainUrls,
  base: ScenarioParams,
  floorUrl: string | undefined,
): Promise<{ params: MixedParams; answerChecks: BenchReport['answerChecks']; runs: RunResult[] }> {
  const poolSize = options.smoke ? WRITE_POOL.smoke : WRITE_POOL.full
  const params = await pickMixedParams(urls, base, poolSize)
  log(
    `mixed: ${params.productIds.length} products (${params.eans.length} EANs), ${params.suppliers.length} suppliers, ${params.words.length} search words, ${params.prices.length} prices and ${params.stocks.length} stocks to write`,
  )
  // Q4 ran since the start, and earlier mixed runs wrote: the floor's copies must answer as catalog does.
  if (floorUrl && options.targets.includes('floor')) await refreshFloor(floorUrl, urls, options)
  const targets = APPLIES.mixed.filter((t) => options.targets.includes(t))
  // Reads of every kind, then one price and one stock write: each target answers each, ours first.
  const sample = [
    ...mixedSample(params, options.seed, options.smoke ? 15 : 60, options.smoke ? 2 : 5),
    ...mixedWriteSample(params, options.seed),
  ]
  const answerChecks: BenchReport['answerChecks'] = []
  const post = async (target: TargetId, request: MixedRequest) => {
    const http = mixedHttp(target, request)
    const url = `http://127.0.0.1:${frontOf(stack, target).port}${http.path}`
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...stack.headers },
      body: http.body,
    })
    return (await response.json()) as { data?: unknown; errors?: { message: string }[] }
  }
  const theirs = new Map<TargetId, { same: number; difference?: string }>()
  for (const request of sample) {
    const ours = await post('ours', request)
    for (const target of targets.filter((t) => t !== 'ours')) {
      const answer = await post(target, request)
      const diff = ours.errors?.length
        ? `ours answered errors: ${ours.errors.map((e) => e.message).join('; ')}`
        : answer.errors?.length
          ? `${target} answered errors: ${answer.errors.map((e) => e.message).join('; ')}`
          : firstDifference(comparable(request, ours.data), comparable(request, answer.data))
      const entry = theirs.get(target) ?? { same: 0 }
      if (diff) entry.difference ??= `${request.kind} ${JSON.stringify(request.variables)} → ${diff}`
      else entry.same++
      theirs.set(target, entry)
    }
  }
  for (const [target, { same, difference }] of theirs) {
    answerChecks.push({
      scenario: 'mixed',
      target,
      compared: sample.length,
      same,
      ...(difference ? { firstDifference: difference } : {}),
    })
    log(
      `answers mixed (${sample.length - 2} reads of every kind, a price and a stock write): ${target} ${same}/${sample.length} same as ours${difference ? ` (first difference ${difference})` : ''}`,
    )
  }
  if (answerChecks.some((c) => c.same < c.compared)) {
    log('mixed: answers differ, not measured')
    return { params, answerChecks, runs: [] }
  }
  const runs: RunResult[] = []
  let salt = 0
  for (const [level, concurrency] of options.mixedConcurrency.entries()) {
    for (const target of targets) {
      const runSalt = ++salt
      runs.push(
        await measure(options, stack, admin, {
          scenario: 'mixed',
          target,
          concurrency,
          url: `http://127.0.0.1:${frontOf(stack, target).port}`,
          // Every target from the same point of the sequence: warm-up, then the measured seconds.
          cursor: { next: level * MIXED_LEVEL_STRIDE },
          next: (index) => {
            const request = mixedRequest(params, options.seed, index, runSalt)
            return { ...mixedHttp(target, request), kind: request.kind }
          },
          sampleMemory: true,
          seconds: options.mixedSeconds,
          statementsPerOp: null,
          fetchesPerOp: null,
        }),
      )
    }
  }
  return { params, answerChecks, runs }
}

/** PostgreSQL sessions on the bench databases at the end of a run (pools keep theirs a while): the most seen. */
let mostBenchConnections = 0

/**
 * "Q2 Redis cold vs warm": the cold-warm gateway (no L1, a cache name no other process uses) asks each
 * unused EAN once, one request at a time over keep-alive (cold: every fetch misses and fills Redis), then
 * each again (warm: served from Redis). Its /metrics shows how each pass was served.
 */
async function measureColdWarm(stack: Stack, params: ScenarioParams): Promise<ColdWarm> {
  const service = stack.coldWarm!
  const url = `http://127.0.0.1:${service.port}/graphql`
  const body = (ean: string) =>
    JSON.stringify({ query: Q2_PRODUCT_DETAIL, variables: { ean, ...params.metricsRange } })
  // Plans the operation and warms the process on an EAN of the other runs: none of the measured ones.
  const first = await post(url, body(params.eans[0]!), stack.headers)
  if (first.errors?.length)
    log(`Q2 Redis cold vs warm: the warm-up request answered ${first.errors[0]!.message}`)

  const pass = async (): Promise<{ result: ColdWarmPass; answers: unknown[] }> => {
    const before = await scrapeCache(service.adminPort, 1)
    const latencies: number[] = []
    const answers: unknown[] = []
    let errors = 0
    let firstError: string | undefined
    for (const ean of params.coldEans) {
      const started = performance.now()
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...stack.headers },
          body: body(ean),
        })
        const text = await response.text()
        latencies.push(performance.now() - started)
        const answer = JSON.parse(text) as { data?: unknown; errors?: { message: string }[] }
        if (!response.ok || answer.errors?.length) {
          errors++
          firstError ??= `${ean}: HTTP ${response.status} ${text.slice(0, 300)}`
        }
        answers.push(answer.data)
      } catch (error) {
        errors++
        firstError ??= `${ean}: ${(error as Error).message}`
        answers.push(undefined)
      }
    }
    const after = await scrapeCache(service.adminPort, 1)
    const sorted = Float64Array.from(latencies).sort()
    const result: ColdWarmPass = {
      requests: latencies.length,
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
      max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
      mean: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : Number.NaN,
      errors,
      ...(firstError ? { firstError } : {}),
      cache: cacheRatio(before, after, 1),
    }
    return { result, answers }
  }

  const cold = await pass()
  const warm = await pass()
  let same = 0
  let difference: string | undefined
  params.coldEans.forEach((ean, i) => {
    const diff =
      cold.answers[i] === undefined || warm.answers[i] === undefined
        ? 'no answer'
        : firstDifference(cold.answers[i], warm.answers[i])
    if (diff) difference ??= `${ean} → ${diff}`
    else same++
  })
  const out: ColdWarm = {
    measured: true,
    eans: params.coldEans.length,
    cold: cold.result,
    warm: warm.result,
    ratio: cold.result.p50 / warm.result.p50,
    same,
    ...(difference ? { firstDifference: difference } : {}),
  }
  log(
    `Q2 Redis cold vs warm, ${out.eans} EANs: cold p50 ${cold.result.p50.toFixed(2)} ms (misses ${missText(cold.result.cache)}), warm p50 ${warm.result.p50.toFixed(2)} ms (L2 hits ${warm.result.cache ? (100 * warm.result.cache.l2).toFixed(1) : '–'}%) = ${out.ratio.toFixed(2)}×, warm answers ${same}/${out.eans} same as cold`,
  )
  return out
}

function missText(cache: CacheRatio | null): string {
  return cache?.lookups ? `${(100 * (1 - cache.hit)).toFixed(1)}%` : '–'
}

function coldWarmFailures(coldWarm: ColdWarm): string[] {
  if (!coldWarm.measured) return []
  const out: string[] = []
  for (const [name, p] of [
    ['cold', coldWarm.cold],
    ['warm', coldWarm.warm],
  ] as const) {
    if (p.errors > 0) out.push(`Q2 Redis cold vs warm, ${name} pass: ${p.errors} errors (${p.firstError})`)
  }
  if (coldWarm.same < coldWarm.eans)
    out.push(`Q2 Redis cold vs warm: warm answers differ from cold (${coldWarm.firstDifference})`)
  return out
}

/** With --profile, a profiled process preloads the SIGUSR2 profiler and is told where to write. */
function profiling(
  options: BenchOptions,
  name: string,
): { env: Record<string, string>; nodeFlags: string[] } {
  if (!options.profile || !(PROFILED as readonly string[]).includes(name)) return { env: {}, nodeFlags: [] }
  return {
    env: { BENCH_PROFILE_FILE: profileFile(name) },
    nodeFlags: ['--import', './bench/src/profile-preload.ts'],
  }
}

/** The processes --profile samples during Q1: both our gateways and the three subgraphs Q1 reaches. */
const PROFILED = ['gateway', 'gateway-uncached', 'catalog', 'media', 'code2asin'] as const
type Profiled = (typeof PROFILED)[number]
const PROFILED_TITLES: Record<Profiled, string> = {
  gateway: 'our gateway (cache on)',
  'gateway-uncached': 'our gateway, uncached',
  catalog: 'subgraph catalog (behind the uncached gateway)',
  media: 'subgraph media (behind the uncached gateway)',
  code2asin: 'subgraph code2asin (behind the uncached gateway)',
}

function profileFile(name: string): string {
  return path.join(RESULTS_DIR, 'profiles', `${name}.cpuprofile`)
}

function profiledService(stack: Stack, name: Profiled): Service | undefined {
  if (name === 'gateway') return stack.gateway
  if (name === 'gateway-uncached') return stack.uncached
  return stack.subgraphs.find((s) => s.name === `subgraph ${name}`)
}

/**
 * An extra, unreported Q1 run of our gateway at the highest concurrency with the V8 profiler on in the
 * gateway and the Q1 subgraphs (started and stopped by SIGUSR2, see src/profile-preload.ts): the measured
 * runs stay unperturbed.
 */
async function profileQ1(
  options: BenchOptions,
  stack: Stack,
  params: ScenarioParams,
  startedAt: Date,
): Promise<string | undefined> {
  mkdirSync(path.join(RESULTS_DIR, 'profiles'), { recursive: true })
  for (const name of PROFILED) rmSync(profileFile(name), { force: true })
  const concurrency = Math.max(...options.concurrency)
  // Two extra runs: ours with the cache on (the gateway alone works), then uncached (the subgraphs too).
  const runs = [
    { target: 'ours' as const, names: ['gateway'] as Profiled[] },
    ...(stack.uncached
      ? [
          {
            target: 'uncached' as const,
            names: ['gateway-uncached', 'catalog', 'media', 'code2asin'] as Profiled[],
          },
        ]
      : []),
  ]
  const rates: string[] = []
  for (const { target, names } of runs) {
    const load = {
      url: urlFor(stack, target, 'q1'),
      headers: stack.headers,
      bodies: variablesFor('q1', params).map((v) => bodyFor(target, 'q1', v)),
      connections: concurrency,
    }
    if (options.warmupSeconds > 0) await runLoad({ ...load, seconds: options.warmupSeconds })
    for (const name of names) profiledService(stack, name)?.child.kill('SIGUSR2')
    const m = await runLoad({ ...load, seconds: options.seconds })
    for (const name of names) profiledService(stack, name)?.child.kill('SIGUSR2')
    rates.push(`${target} ${m.rps.toFixed(1)} req/s`)
  }
  const sections: string[] = [
    `## Profiles, Q1 at c=${concurrency}`,
    '',
    `Extra runs of our gateway with the V8 profiler on, with the cache and then uncached with the subgraphs Q1 reaches (${rates.join(', ')} while profiled; the files open in Chrome DevTools). Self time, in % of each process's busy time.`,
  ]
  for (const name of runs.flatMap((r) => r.names)) {
    const file = profileFile(name)
    const deadline = Date.now() + 30_000
    while (!existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    if (!existsSync(file)) {
      log(`profile: ${name} wrote no profile`)
      continue
    }
    const kept = path.join(
      path.dirname(file),
      `${stamp(startedAt)}-q1-c${concurrency}-${path.basename(file)}`,
    )
    renameSync(file, kept)
    const { totalMs, busyMs, top, packages } = topSelfTime(kept, name.startsWith('gateway') ? 20 : 10)
    log(`profile: ${path.relative(REPO_ROOT, kept)}`)
    sections.push(
      '',
      `### ${PROFILED_TITLES[name]}: busy ${(busyMs / 1000).toFixed(1)} s of ${(totalMs / 1000).toFixed(1)} s (${path.relative(REPO_ROOT, kept)})`,
      '',
      `By package: ${packages
        .slice(0, 8)
        .map((p) => `${p.name} ${p.selfPercent.toFixed(0)}%`)
        .join(', ')}`,
      '',
      '| function | where | self ms | % busy |',
      '|---|---|--:|--:|',
      ...top.map(
        (h) => `| ${h.function} | ${h.location} | ${h.selfMs.toFixed(0)} | ${h.selfPercent.toFixed(1)} |`,
      ),
    )
  }
  return sections.join('\n')
}

function connectionsLine(report: BenchReport): string {
  const c = report.connections as {
    budget: ReturnType<typeof connectionBudget>
    subgraphPools: string
    floorPool: number | null
    server: ServerConnections
    mostSeenAfterARun: number | null
  }
  const b = c.budget
  return `PostgreSQL connections: the bench opens at most ${b.total} (subgraph pools ${b.subgraphs}: ${c.subgraphPools}; ${c.floorPool === null ? 'no floor' : `floor ${c.floorPool}`}; in-process statement counting ${b.counting}, before measuring only; its own ${b.bench}), ${b.measuring} while measuring; the server has max_connections ${c.server.max} (${c.server.reserved} reserved, ${c.server.others} used by others at the start)${c.mostSeenAfterARun === null ? '' : `; at most ${c.mostSeenAfterARun} bench sessions seen at the end of a run`}.`
}

/** How much of the machine other work took during the measured runs: the noise in these numbers. */
function otherWork(report: BenchReport): string {
  const cores = Number(report.machine.cores) || 1
  const shares = report.runs
    .map((r) => r.otherCpuSeconds / (cores * r.measurement.seconds))
    .sort((a, b) => a - b)
  const median = shares.length ? shares[Math.floor(shares.length / 2)]! : 0
  const max = shares.at(-1) ?? 0
  const text = `other work took ${(100 * median).toFixed(0)}% of its CPU during a median run (at most ${(100 * max).toFixed(0)}%)`
  return median > 0.1 ? `${text}: **the machine was busy, these numbers are pessimistic**` : text
}

/** The mixed workload's section: what it sends, then its tables (src/mixed.ts). */
function mixedSection(report: BenchReport): string[] {
  const mixed = (report.parameters as { mixed?: Record<string, unknown> }).mixed
  const o = report.options
  const weights = Object.entries(MIXED_WEIGHTS)
    .map(
      ([k, w]) =>
        `${MIXED_KIND_TITLES[k as keyof typeof MIXED_KIND_TITLES]} ${(w / 10).toFixed(w % 10 ? 1 : 0)}%`,
    )
    .join(', ')
  const pool = mixed?.writePool as { prices: number; stocks: number } | undefined
  return [
    '## Mixed workload',
    '',
    `One seeded sequence (seed ${mixed?.seed}) sent to every target from the same point at each concurrency (${o.warmupSeconds} s warm-up, then ${mixed?.seconds} s measured): ${weights}. Details by id over all ${Number(mixed?.products).toLocaleString('en')} products and by EAN over their ${Number(mixed?.eans).toLocaleString('en')} EANs, drawn uniformly (Q2's selection); supplier pages over all ${mixed?.suppliers} suppliers with Q1's node: active newest first (50), by status (${(mixed?.productStatuses as string[] | undefined)?.join(', ')}) by title, the supplier's main category by last change, its main brand oldest first (20 each); searches of ${mixed?.searchWords} title words (20 newest); Q3's dashboard. Writes go through catalog's setProductPrice and adjustStock with the bench user's token (a pool of ${pool?.prices} prices and ${pool?.stocks} stocks), and bump catalog's generation as every production write does; the floor does each as one UPDATE. Cache hits are ours' fetch-cache lookups in the measured seconds (by subgraph: each namespace's share of hits); RSS is sampled every 250 ms (peaks); vs floor / vs peer = the row's p95 and req/s over theirs at the same concurrency.`,
    '',
    mixedTables(report.runs),
    '',
  ]
}

function renderMarkdown(report: BenchReport, profileSummary: string | undefined): string {
  const m = report.machine
  const d = report.dataSet
  const lines = [
    `# Benchmark ${report.startedAt}`,
    '',
    `Command: \`${report.command}\``,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}; Node ${m.node}; PostgreSQL ${m.postgres} (${m.databaseServer}); commit ${m.commit}. Everything (PostgreSQL, the services and the load generator) on this one machine; ${otherWork(report)}.`,
    '',
    `Data set: ${Number(d.products).toLocaleString('en')} products (seed ${d.seed}, ${d.generator}${d.reused ? ', reused' : ''}${d.loadSeconds ? `, loaded in ${Number(d.loadSeconds).toFixed(1)} s` : ''}). Each run: ${report.options.warmupSeconds} s warm-up, then ${report.options.seconds} s measured; targets alternate within each scenario and concurrency. Latencies in ms (exact percentiles of every response); CPU s = CPU seconds used during the measured seconds, RSS at the end; front = the target's own process(es).`,
    '',
    `Targets: ours = our gateway as deployed (fetch cache on: L1 in process${report.options.redis ? ', L2 in Redis' : ', no REDIS_URL so no L2'}; ${report.options.workers} worker${report.options.workers === 1 ? '' : 's'}); uncached = the same gateway with GATEWAY_CACHE=false; floor = one SQL statement per request; peer = Hive Gateway; all on the same subgraphs. Cache hits = ours' subgraph-fetch lookups in the measured seconds (GET /metrics before and after), the share served from L1 and from L2${Number(report.options.workers) > 1 ? ' (summed over one scrape per worker)' : ''}. SQL/op and fetches/op are counted with the cache off (≤: ours sends at most that many). vs floor / vs peer = the row's p50 and req/s over the floor's / the peer's at the same concurrency.`,
    '',
    connectionsLine(report),
    '',
    markdownTable(report.runs),
    '',
    '## Targets',
    '',
    targetsTable(report.targets),
    '',
    ...(report.runs.some((r) => r.scenario === 'mixed') ? mixedSection(report) : []),
    '## Q2 Redis cold vs warm',
    '',
    'Our gateway in a process of its own with no L1 (GATEWAY_CACHE_L1_MB=0) and a cache name fresh for this run, so Redis holds nothing for it; EANs no other run asks; one request at a time over keep-alive. Cold: each EAN once (every fetch misses and is written to Redis); warm: the same EANs again, in the same order.',
    '',
    coldWarmSection(report.coldWarm),
    '',
    '## SQL statements per operation (counted in-process, one operation at a time, fetch cache off)',
    '',
    statementTable(report.statementCounts),
    '',
    `Answers compared before measuring: ${report.answerChecks.map((c) => `${SCENARIO_TITLES[c.scenario]} ${c.target} ${c.same}/${c.compared} same as ours`).join('; ') || 'none'}.`,
  ]
  if (report.skipped.length) lines.push('', ...report.skipped.map((s) => `- ${s}`))
  if (profileSummary) lines.push('', profileSummary)
  return `${lines.join('\n')}\n`
}

function writeResults(options: BenchOptions, startedAt: Date, report: BenchReport, markdown: string) {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const base = options.smoke ? 'smoke-latest' : stamp(startedAt)
  const files = [path.join(RESULTS_DIR, `${base}.json`), path.join(RESULTS_DIR, `${base}.md`)]
  writeFileSync(files[0]!, `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(files[1]!, markdown)
  if (!options.smoke) files.push(path.join(RESULTS_DIR, 'latest.md'))
  if (!options.smoke) writeFileSync(files[2]!, markdown)
  formatResultFiles(files)
  log(`results: ${files.map((f) => path.relative(REPO_ROOT, f)).join(', ')}`)
}

/** Set by the SIGINT/SIGTERM handler, which then owns the shutdown and the exit code. */
let interrupted = false
let options: BenchOptions
try {
  // --asin (bench/asin.ts) runs the matching scenario alone.
  options = parseOptions(process.argv.slice(2).filter((a) => a !== '--asin'))
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  if (error.message) console.error(`pnpm bench: ${error.message}\n`)
  console.error(USAGE)
  process.exit(error.message ? 2 : 0)
}
/** The import scenario (see src/import.ts): its own stack and databases, its own results file. */
async function importScenario(options: BenchOptions): Promise<number> {
  const startedAt = new Date()
  log(`import scenario: ${options.importRows} rows`)
  const result = await runImportBench({ rows: options.importRows, phases: options.importPhases, log })
  const markdown = `# Import benchmark (${startedAt.toISOString()})\n\n${commandLine()}\n\n${importMarkdown(result)}`
  mkdirSync(RESULTS_DIR, { recursive: true })
  const files = options.smoke
    ? [path.join(RESULTS_DIR, 'smoke-import.md')]
    : [path.join(RESULTS_DIR, `import-${stamp(startedAt)}.md`), path.join(RESULTS_DIR, 'import-latest.md')]
  for (const file of files) writeFileSync(file, markdown)
  writeFileSync(
    files[0]!.replace(/\.md$/, '.json'),
    `${JSON.stringify({ startedAt, options, import: result }, null, 2)}\n`,
  )
  formatResultFiles([...files, files[0]!.replace(/\.md$/, '.json')])
  log(`import results: ${files.map((f) => path.relative(REPO_ROOT, f)).join(', ')}`)
  console.log(importMarkdown(result))
  if (options.smoke) return 0
  const missed =
    result.importSeconds > IMPORT_TARGETS.importSeconds ||
    result.rerunSeconds > IMPORT_TARGETS.rerunSeconds ||
    result.xlsxSeconds > IMPORT_TARGETS.xlsxSeconds ||
    result.pageBusyP95Ms > IMPORT_TARGETS.pageP95Ratio * result.pageIdleP95Ms ||
    result.workerPeakRssMb >= IMPORT_TARGETS.workerRssMb
  return missed ? 1 : 0
}

/** The analytics scenario (see analytics.ts): its own data set, its own results file. */
async function analyticsScenario(options: BenchOptions): Promise<number> {
  const { analyticsMarkdown, analyticsMet, runAnalyticsBench } = await import('./analytics')
  const startedAt = new Date()
  const result = await runAnalyticsBench({
    products: options.products,
    seed: options.seed,
    smoke: options.smoke,
    log,
  })
  const markdown = `# Analytics benchmark (${startedAt.toISOString()})\n\n${commandLine()}\n\n${analyticsMarkdown(result)}`
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = path.join(RESULTS_DIR, options.smoke ? 'smoke-analytics.md' : 'analytics-latest.md')
  writeFileSync(file, markdown)
  console.log(markdown)
  return options.smoke || analyticsMet(result) ? 0 : 1
}

/** The operations scenario (bench/operations.ts): its own databases, the data set's backup, its results file. */
async function opsScenario(options: BenchOptions): Promise<number> {
  const { opsMarkdown, opsMissed, runOpsBench } = await import('./operations')
  const startedAt = new Date()
  const server = await startBenchServer(log)
  try {
    const result = await runOpsBench({
      server,
      prefix: options.prefix,
      smoke: options.smoke,
      products: options.products,
      seed: options.seed,
      log,
    })
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
    const markdown = `# Operations benchmark (${startedAt.toISOString()})\n\n${commandLine()}\n\nload average at the end: ${load}\n\n${opsMarkdown(result)}\n`
    mkdirSync(RESULTS_DIR, { recursive: true })
    const file = path.join(RESULTS_DIR, options.smoke ? 'smoke-ops.md' : 'ops-latest.md')
    writeFileSync(file, markdown)
    console.log(opsMarkdown(result))
    return options.smoke ? 0 : opsMissed(result) ? 1 : 0
  } finally {
    await server.stop()
  }
}

/** The export scenario (bench/export.ts): its own stack and databases, its own results file. */
async function exportScenario(options: BenchOptions): Promise<number> {
  const { EXPORT_TARGETS, exportMarkdown, runExportBench } = await import('./export')
  const startedAt = new Date()
  log(`export scenario: ${options.exportProducts} products`)
  const result = await runExportBench({ products: options.exportProducts, log })
  const markdown = `# Export benchmark (${startedAt.toISOString()})\n\n${commandLine()}\n\n${exportMarkdown(result)}`
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = path.join(RESULTS_DIR, options.smoke ? 'smoke-export.md' : 'export-latest.md')
  writeFileSync(file, markdown)
  writeFileSync(
    file.replace(/\.md$/, '.json'),
    `${JSON.stringify({ startedAt, options, export: result }, null, 2)}\n`,
  )
  formatResultFiles([file, file.replace(/\.md$/, '.json')])
  console.log(exportMarkdown(result))
  if (options.smoke) return 0
  const missed =
    result.csvSeconds > EXPORT_TARGETS.csvSeconds ||
    result.xlsxSeconds > EXPORT_TARGETS.xlsxSeconds ||
    result.workerPeakRssMb >= EXPORT_TARGETS.workerRssMb
  return missed ? 1 : 0
}

/**
 * Scenarios with data and servers of their own: run alone by their flag, and in their tiny form after the
 * query scenarios in --smoke.
 */
const OWN_SCENARIOS: { flag: string; run: (smoke: boolean) => Promise<number> }[] = [
  { flag: '--asin', run: (smoke) => asinScenario({ smoke, log }) },
  { flag: '--analytics', run: () => analyticsScenario(options) },
  { flag: '--ops', run: () => opsScenario(options) },
  {
    flag: '--media',
    run: (smoke) => mediaScenario({ images: options.mediaImages, smoke, commandLine: commandLine() }, log),
  },
  { flag: '--metrics-overhead', run: () => metricsOverheadScenario(options, log, commandLine()) },
  { flag: '--export', run: () => exportScenario(options) },
]

try {
  const alone = OWN_SCENARIOS.find((scenario) => process.argv.includes(scenario.flag))
  if (alone) process.exitCode = await alone.run(options.smoke)
  else {
    const importCode = options.importRows > 0 ? await importScenario(options) : 0
    process.exitCode = options.importOnly ? importCode : Math.max(importCode, await main(options))
    if (options.smoke && !options.importOnly && !options.mixedOnly)
      for (const scenario of OWN_SCENARIOS)
        process.exitCode = Math.max(process.exitCode, await scenario.run(true))
  }
} catch (error) {
  // After Ctrl-C, what fails is the run being torn down: the signal handler finishes and exits.
  if (interrupted) await new Promise(() => {})
  console.error(`[bench] FAILED: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
}
if (interrupted) await new Promise(() => {})
// Keep-alive sockets of the load generator and fetch would hold the event loop open for seconds.
process.exit(process.exitCode)
