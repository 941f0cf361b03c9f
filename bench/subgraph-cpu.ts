/**
 * `pnpm bench:subgraph-cpu`: CPU milliseconds the subgraphs spend per uncached Q1 / Q2 request, read from
 * /proc (utime + stime of each subgraph process) around batches of requests sent through our gateway with
 * GATEWAY_CACHE=false. CPU time, not latency: it holds on a loaded machine where wall-clock figures do not.
 *
 * With --baseline DIR (another checkout of the repository, installed), a second stack runs from DIR and
 * the two are measured in turn (A = baseline, B = this tree, A, B, …), after checking that both answer
 * every request of the run byte for byte the same. Uses the data set `pnpm bench` loaded (BENCH_DB_PREFIX,
 * default bench); run `pnpm bench` once first.
 *
 *   pnpm bench:subgraph-cpu [--baseline DIR] [--requests 500] [--rounds 5] [--concurrency 1] [--scenarios q1,q2]
 *                           [--profile]   (with --profile: V8 CPU profiles of this tree's subgraphs, see below)
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { DOMAINS, type Domain } from '@pm/db'
import { TOKEN_SECRET_ENV } from '@pm/service-kit'
import { Q1_PRODUCT_PAGE, Q2_PRODUCT_DETAIL } from './queries'
import { benchDatabaseUrls, REPO_ROOT } from './src/data'
import { benchAccessToken, benchSecrets } from './src/identity'
import { pickParams, type ScenarioParams } from './src/params'
import { topSelfTime } from './src/profile'
import {
  freePort,
  type ProcSample,
  type Service,
  sampleMany,
  startService,
  stopService,
  waitReady,
} from './src/services'

type Scenario = 'q1' | 'q2'

/** The subgraphs Q1 and Q2 reach, and core (the gateway asks it for module states). */
const USED: readonly Domain[] = ['core', 'catalog', 'media', 'code2asin', 'analytics']

interface Args {
  baseline: string | undefined
  requests: number
  rounds: number
  concurrency: number
  scenarios: Scenario[]
  profile: boolean
  idle: number
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    baseline: undefined,
    requests: 500,
    rounds: 5,
    concurrency: 1,
    scenarios: ['q1', 'q2'],
    profile: false,
    idle: 0,
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${flag} needs a value`)
      return v
    }
    if (flag === '--baseline') args.baseline = path.resolve(value())
    else if (flag === '--requests') args.requests = Number(value())
    else if (flag === '--rounds') args.rounds = Number(value())
    else if (flag === '--concurrency') args.concurrency = Number(value())
    else if (flag === '--scenarios') args.scenarios = value().split(',') as Scenario[]
    else if (flag === '--profile') args.profile = true
    else if (flag === '--idle') args.idle = Number(value())
    else throw new Error(`unknown option ${flag} (see the comment at the top of bench/subgraph-cpu.ts)`)
  }
  for (const s of args.scenarios) if (s !== 'q1' && s !== 'q2') throw new Error(`--scenarios: ${s}?`)
  return args
}

const log = (message: string) => console.log(`[subgraph-cpu] ${message}`)

interface Stack {
  label: string
  root: string
  subgraphs: Service[]
  gateway: Service
}

/** The seven subgraphs and an uncached gateway, all from `root`, on the bench data set, small pools. */
async function startStack(
  label: string,
  root: string,
  urls: Record<Domain, string>,
  secrets: Record<string, string>,
  profileDir: string | undefined,
): Promise<Stack> {
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    GATEWAY_RATE_LIMIT_PER_MINUTE: '0',
    DB_POOL_MAX_OVERFLOW: '1',
    ...secrets,
  }
  const ports: Partial<Record<Domain, [number, number]>> = {}
  for (const d of DOMAINS) ports[d] = [await freePort(), await freePort()]
  for (const d of DOMAINS) {
    const upper = d.toUpperCase()
    const [port, admin] = ports[d]!
    env[`DB_${upper}_URL`] = urls[d]
    env[`DB_${upper}_POOL_SIZE`] = '2'
    env[`SUBGRAPH_${upper}_PORT`] = String(port)
    env[`SUBGRAPH_${upper}_ADMIN_PORT`] = String(admin)
    env[`SUBGRAPH_${upper}_URL`] = `http://127.0.0.1:${port}/graphql`
  }
  const subgraphs = USED.map((d) =>
    startService({
      name: `${label} subgraph ${d}`,
      group: 'subgraphs',
      port: ports[d]![0],
      adminPort: ports[d]![1],
      script: path.join(root, `subgraphs/${d}/src/main.ts`),
      ...(profileDir
        ? {
            nodeFlags: ['--import', path.join(REPO_ROOT, 'bench/src/profile-preload.ts')],
            env: { ...env, BENCH_PROFILE_FILE: path.join(profileDir, `${d}.cpuprofile`) },
          }
        : { env }),
    }),
  )
  const [gatewayPort, gatewayAdmin] = [await freePort(), await freePort()]
  const gateway = startService({
    name: `${label} gateway (uncached)`,
    group: 'gateway',
    port: gatewayPort,
    adminPort: gatewayAdmin,
    script: path.join(root, 'gateway/src/main.ts'),
    env: {
      ...env,
      GATEWAY_PORT: String(gatewayPort),
      GATEWAY_ADMIN_PORT: String(gatewayAdmin),
      GATEWAY_CACHE: 'false',
      GATEWAY_WORKERS: '1',
    },
  })
  for (const s of [...subgraphs, gateway]) await waitReady(s, 600_000)
  log(`${label}: ready from ${root}`)
  return { label, root, subgraphs, gateway }
}

function bodies(scenario: Scenario, params: ScenarioParams): string[] {
  if (scenario === 'q1')
    return params.supplierIds.map((supplierId) =>
      JSON.stringify({ query: Q1_PRODUCT_PAGE, variables: { supplierId, first: 50 } }),
    )
  return params.eans.map((ean) =>
    JSON.stringify({ query: Q2_PRODUCT_DETAIL, variables: { ean, ...params.metricsRange } }),
  )
}

async function post(stack: Stack, body: string, headers: Record<string, string>): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${stack.gateway.port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
  const text = await response.text()
  if (!response.ok || text.includes('"errors"'))
    throw new Error(`${stack.label}: ${response.status} ${text.slice(0, 300)}`)
  return text
}

/** Each subgraph's CPU milliseconds between two samples (user + system, and the system part), by domain. */
function subgraphCpuMs(
  stack: Stack,
  before: Map<number, ProcSample>,
  after: Map<number, ProcSample>,
): { cpu: Record<string, number>; system: Record<string, number> } {
  const cpu: Record<string, number> = {}
  const system: Record<string, number> = {}
  for (const s of stack.subgraphs) {
    const pid = s.child.pid!
    const domain = s.name.split(' ').pop()!
    cpu[domain] = ((after.get(pid)?.cpuSeconds ?? 0) - (before.get(pid)?.cpuSeconds ?? 0)) * 1000
    system[domain] = ((after.get(pid)?.systemSeconds ?? 0) - (before.get(pid)?.systemSeconds ?? 0)) * 1000
  }
  return { cpu, system }
}

const scaled = (values: Record<string, number>, by: number) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v / by]))

/**
 * Sends `count` requests (cycling through `all`) at `concurrency`; CPU ms per request of each subgraph, and
 * the kernel's part of it (system time: syscalls, network).
 */
async function batch(
  stack: Stack,
  all: string[],
  count: number,
  concurrency: number,
  headers: Record<string, string>,
): Promise<{ cpu: Record<string, number>; system: Record<string, number> }> {
  const pids = stack.subgraphs.map((s) => s.child.pid!)
  const before = sampleMany(pids)
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++
        await post(stack, all[i % all.length]!, headers)
      }
    }),
  )
  const { cpu, system } = subgraphCpuMs(stack, before, sampleMany(pids))
  return { cpu: scaled(cpu, count), system: scaled(system, count) }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const serverUrl = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL
  if (!serverUrl)
    throw new Error('set TEST_DATABASE_URL (or DATABASE_URL): the server holding the bench data set')
  const prefix = process.env.BENCH_DB_PREFIX?.trim() || 'bench'
  const urls = benchDatabaseUrls(serverUrl, prefix)
  const secrets = benchSecrets()
  Object.assign(process.env, secrets)
  const token = await benchAccessToken(urls, secrets[TOKEN_SECRET_ENV])
  const headers = { authorization: `Bearer ${token}` }
  const params = await pickParams(urls)
  const profileDir = args.profile
    ? path.join(REPO_ROOT, 'bench/results/profiles', `subgraph-cpu-${randomUUID().slice(0, 8)}`)
    : undefined
  if (profileDir) mkdirSync(profileDir, { recursive: true })
  const stacks: Stack[] = []
  const stopAll = async () => {
    for (const s of stacks) await Promise.all([s.gateway, ...s.subgraphs].map((x) => stopService(x)))
  }
  // Interrupted (Ctrl-C, or a kill's SIGTERM): the services go too, never left running on their own.
  process.on('SIGINT', () => stopAll().finally(() => process.exit(130)))
  process.on('SIGTERM', () => stopAll().finally(() => process.exit(143)))
  try {
    stacks.push(
      ...(await Promise.all([
        ...(args.baseline ? [startStack('A', args.baseline, urls, secrets, undefined)] : []),
        startStack(args.baseline ? 'B' : 'this', REPO_ROOT, urls, secrets, profileDir),
      ])),
    )
    if (args.idle > 0) {
      // What each subgraph burns with no request at all (timers, pollers): its share of "per request" is
      // this rate times a request's wall time.
      await new Promise((r) => setTimeout(r, 2_000))
      for (const stack of stacks) {
        const pids = stack.subgraphs.map((s) => s.child.pid!)
        const before = sampleMany(pids)
        await new Promise((r) => setTimeout(r, args.idle * 1000))
        const { cpu } = subgraphCpuMs(stack, before, sampleMany(pids))
        const rates = Object.entries(cpu).map(([domain, ms]) => `${domain} ${(ms / args.idle).toFixed(2)}`)
        log(`${stack.label} idle: ${rates.join(', ')} ms CPU per second`)
      }
    }
    for (const scenario of args.scenarios) {
      const all = bodies(scenario, params)
      // Warm-up (JIT, pools), and the answers compared request by request.
      const answers = new Map<string, string[]>()
      for (const stack of stacks) {
        const texts: string[] = []
        for (const body of all) texts.push(await post(stack, body, headers))
        answers.set(stack.label, texts)
      }
      if (stacks.length === 2) {
        const [a, b] = [answers.get('A')!, answers.get('B')!]
        const differ = a.findIndex((t, i) => t !== b[i])
        if (differ >= 0)
          throw new Error(
            `${scenario}: answer ${differ} differs:\nA ${a[differ]!.slice(0, 400)}\nB ${b[differ]!.slice(0, 400)}`,
          )
        log(`${scenario}: ${a.length}/${a.length} answers byte-identical between A and B`)
      }
      const profiled = stacks.at(-1)!
      if (profileDir) for (const s of profiled.subgraphs) s.child.kill('SIGUSR2')
      const results = new Map<string, Awaited<ReturnType<typeof batch>>[]>()
      for (let round = 0; round < args.rounds; round++) {
        for (const stack of round % 2 ? [...stacks].reverse() : stacks) {
          const r = await batch(stack, all, args.requests, args.concurrency, headers)
          const list = results.get(stack.label) ?? []
          list.push(r)
          results.set(stack.label, list)
          const total = Object.values(r.cpu).reduce((x, y) => x + y, 0)
          log(
            `${scenario} round ${round + 1} ${stack.label}: ${total.toFixed(2)} ms subgraph CPU per request`,
          )
        }
      }
      if (profileDir) {
        for (const s of profiled.subgraphs) s.child.kill('SIGUSR2')
        await new Promise((r) => setTimeout(r, 3_000))
      }
      for (const [label, list] of results) {
        const totals = list.map((r) => Object.values(r.cpu).reduce((x, y) => x + y, 0))
        const per = Object.keys(list[0]!.cpu)
          .map((d) => [d, median(list.map((r) => r.cpu[d]!))] as const)
          .filter(([, ms]) => ms >= 0.05)
          .map(
            ([d, ms]) => `${d} ${ms.toFixed(2)} (system ${median(list.map((r) => r.system[d]!)).toFixed(2)})`,
          )
        log(
          `${scenario} ${label}: median ${median(totals).toFixed(2)} ms per request (min ${Math.min(...totals).toFixed(2)}, max ${Math.max(...totals).toFixed(2)}; ${per.join(', ')})`,
        )
      }
      if (profileDir) {
        for (const d of ['catalog', 'media', 'code2asin', 'analytics']) {
          const file = path.join(profileDir, `${d}.cpuprofile`)
          try {
            const { busyMs, top, packages } = topSelfTime(file, 25)
            log(
              `profile ${d}: busy ${busyMs.toFixed(0)} ms; ${packages
                .slice(0, 8)
                .map((p) => `${p.name} ${p.selfPercent.toFixed(1)}%`)
                .join(', ')}`,
            )
            for (const h of top) log(`  ${h.selfPercent.toFixed(1).padStart(5)}% ${h.function} ${h.location}`)
          } catch {
            log(`profile ${d}: none`)
          }
        }
      }
    }
  } finally {
    await stopAll()
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
