import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import { createServer } from 'node:net'
import path from 'node:path'
import type { Domain } from '@pm/db'
import { REPO_ROOT } from './data'

export type ServiceGroup = 'gateway' | 'peer' | 'floor' | 'subgraphs' | 'worker'

export interface Service {
  name: string
  group: ServiceGroup
  port: number
  /** Where it answers /ready (and /metrics): our services' admin listener, else `port`. */
  adminPort: number
  /** The node process itself (started with --import tsx, so no tsx wrapper process in between). */
  child: ChildProcess
  /** Last lines of its output, shown when it fails. */
  output: string[]
}

const taken = new Set<number>()

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A free loopback port below the kernel's ephemeral range (32768+): the services bind it seconds later,
 * and in between other processes' port-0 listeners and outgoing connections draw from that range.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (taken.has(port)) continue
    if (await canListen(port)) {
      taken.add(port)
      return port
    }
  }
  throw new Error('no free loopback port found between 20000 and 32000')
}

const running = new Set<Service>()

/** Stops what is left if the bench dies without its own cleanup (synchronous: runs in 'exit'). */
process.on('exit', () => {
  for (const service of running) {
    if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL')
  }
})

export function startService(options: {
  name: string
  group: ServiceGroup
  port: number
  adminPort?: number
  script: string
  /** Arguments after the script. */
  args?: string[]
  env: Record<string, string>
  nodeFlags?: string[]
}): Service {
  const argv = ['--import', 'tsx', ...(options.nodeFlags ?? []), options.script, ...(options.args ?? [])]
  const child = spawn(process.execPath, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const service: Service = {
    name: options.name,
    group: options.group,
    port: options.port,
    adminPort: options.adminPort ?? options.port,
    child,
    output: [],
  }
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue
      service.output.push(line)
      if (service.output.length > 40) service.output.shift()
    }
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  running.add(service)
  child.once('exit', () => running.delete(service))
  return service
}

export function exited(service: Service): boolean {
  return service.child.exitCode !== null || service.child.signalCode !== null
}

export function describeFailure(service: Service): string {
  const status = exited(service)
    ? `exited with ${service.child.exitCode ?? service.child.signalCode}`
    : 'is running but not ready'
  return `${service.name} ${status}; its last output:\n  ${service.output.slice(-20).join('\n  ') || '(none)'}`
}

/** Polls GET /ready until it answers 200; fails early when the process exits. */
export async function waitReady(service: Service, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exited(service)) throw new Error(describeFailure(service))
    try {
      const response = await fetch(`http://127.0.0.1:${service.adminPort}/ready`, {
        signal: AbortSignal.timeout(2_000),
      })
      await response.body?.cancel()
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150))
  }
  throw new Error(`${describeFailure(service)}\n(not ready after ${timeoutMs / 1000} s)`)
}

function readyOnFreshConnection(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: '/ready', agent: false, timeout: 2_000 },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode === 200))
      },
    )
    request.on('timeout', () => request.destroy())
    request.on('error', () => resolve(false))
  })
}

/**
 * With `workers` processes behind one port, each new connection goes to the next worker: ready once that
 * many connections in a row are answered 200 (waitReady alone sees the first worker that is up).
 */
export async function waitWorkersReady(service: Service, workers: number, timeoutMs: number): Promise<void> {
  await waitReady(service, timeoutMs)
  const deadline = Date.now() + timeoutMs
  let streak = 0
  while (streak < workers) {
    if (exited(service)) throw new Error(describeFailure(service))
    if (Date.now() > deadline)
      throw new Error(
        `${describeFailure(service)}\n(not all ${workers} workers ready after ${timeoutMs / 1000} s)`,
      )
    if (await readyOnFreshConnection(service.adminPort)) streak++
    else {
      streak = 0
      await new Promise((r) => setTimeout(r, 150))
    }
  }
}

export async function stopService(service: Service, timeoutMs = 10_000): Promise<void> {
  if (exited(service)) return
  const gone = new Promise<void>((resolve) => service.child.once('exit', () => resolve()))
  service.child.kill('SIGTERM')
  const timer = setTimeout(() => service.child.kill('SIGKILL'), timeoutMs)
  await gone
  clearTimeout(timer)
}

export interface WorkerProcess {
  service: Service
  /** Highest resident memory seen so far (sampled every 100 ms). */
  peakRssMb(): number
  /** CPU seconds (user + system, all its threads) used since it started. */
  cpuSeconds(): number
  /** SIGTERM (running jobs finish their batch), then waits for the exit. */
  stop(): Promise<void>
}

/** A domain's process (a worker, a subgraph) on the benchmark's database of that domain. */
interface DomainProcessOptions {
  domain: Domain
  databaseUrl: string
  env?: Record<string, string>
  timeoutMs?: number
}

/** The database settings of a domain's process started on one database of the benchmark's. */
function domainDatabaseEnv(domain: Domain, databaseUrl: string): Record<string, string> {
  return {
    // External mode needs a server for every domain: only this domain's database is ever opened.
    DATABASE_URL: databaseUrl,
    [`DB_${domain.toUpperCase()}_URL`]: databaseUrl,
  }
}

/**
 * The V8 heap bounds docker-compose gives the workers that stream files (`worker-imports`, `worker-exports`:
 * WORKER_IMPORTS_NODE_OPTIONS and WORKER_EXPORTS_NODE_OPTIONS default to these).
 */
const WORKER_NODE_OPTIONS = '--max-old-space-size=128 --max-semi-space-size=8'

/** The NODE_OPTIONS a benchmark starts such a worker with: WORKER_NODE_OPTIONS, or the variable `override` ("" for V8's defaults). */
export const workerNodeOptions = (override: string): string => process.env[override] ?? WORKER_NODE_OPTIONS

/**
 * `pm worker --domain D` in a process of its own, as docker-compose runs it: the domain's queue in
 * `databaseUrl` (the benchmark's fresh database), storage, Redis and the rest from this process's
 * environment plus `env`. Resolves once the worker answers /ready on its admin listener (its queue is
 * installed and it takes jobs); its RSS is sampled from then until it stops.
 */
export async function startWorkerProcess(o: DomainProcessOptions): Promise<WorkerProcess> {
  const adminPort = await freePort()
  const service = startService({
    name: `worker-${o.domain}`,
    group: 'worker',
    port: adminPort,
    script: path.join(REPO_ROOT, 'apps/pm/src/main.ts'),
    args: ['worker', '--domain', o.domain],
    env: {
      ...domainDatabaseEnv(o.domain, o.databaseUrl),
      WORKER_ADMIN_PORT: String(adminPort),
      LOG_LEVEL: 'warn',
      ...o.env,
    },
  })
  let peak = 0
  let cpu = 0
  const sample = () => {
    const s = service.child.pid ? sampleProcess(service.child.pid) : undefined
    if (s) {
      peak = Math.max(peak, s.rssMb)
      cpu = s.cpuSeconds
    }
  }
  const sampler = setInterval(sample, 100)
  service.child.once('exit', () => clearInterval(sampler))
  try {
    await waitReady(service, o.timeoutMs ?? 120_000)
  } catch (error) {
    clearInterval(sampler)
    await stopService(service)
    throw error
  }
  return {
    service,
    peakRssMb: () => {
      sample()
      return peak
    },
    cpuSeconds: () => {
      sample()
      return cpu
    },
    stop: async () => {
      sample()
      clearInterval(sampler)
      await stopService(service, 60_000)
    },
  }
}

/** startService, then waitReady: a service that does not get ready in time is stopped, then the error thrown. */
async function startReadyService(
  timeoutMs: number,
  options: Parameters<typeof startService>[0],
): Promise<Service> {
  const service = startService(options)
  try {
    await waitReady(service, timeoutMs)
  } catch (error) {
    await stopService(service)
    throw error
  }
  return service
}

/** The gateway in a process of its own, as docker-compose runs it (see startGatewayProcess). */
export interface GatewayProcess {
  service: Service
  /** http://127.0.0.1:<port> (POST /uploads, GET /files/…) */
  url: string
  graphqlUrl: string
  stop(): Promise<void>
}

/**
 * `gateway/src/main.ts` in a process of its own, as docker-compose and bench Q1 run it, in front of
 * subgraphs already running (`subgraphUrls`, e.g. a test stack's): the secrets, storage, Redis and the rest
 * from this process's environment plus `env`. Resolves once it answers /ready.
 */
export async function startGatewayProcess(o: {
  subgraphUrls: Partial<Record<Domain, string>>
  env?: Record<string, string>
  /** Node's flags before the script, e.g. --cpu-prof. */
  nodeFlags?: string[]
  timeoutMs?: number
}): Promise<GatewayProcess> {
  const [port, adminPort] = [await freePort(), await freePort()]
  const service = await startReadyService(o.timeoutMs ?? 60_000, {
    name: 'gateway',
    group: 'gateway',
    port,
    adminPort,
    script: path.join(REPO_ROOT, 'gateway/src/main.ts'),
    ...(o.nodeFlags ? { nodeFlags: o.nodeFlags } : {}),
    env: {
      HOST: '127.0.0.1',
      GATEWAY_PORT: String(port),
      GATEWAY_ADMIN_PORT: String(adminPort),
      LOG_LEVEL: 'warn',
      // As the Dockerfile runs it.
      NODE_ENV: 'production',
      // One client asking again and again is the point of a benchmark.
      GATEWAY_RATE_LIMIT_PER_MINUTE: '0',
      ...Object.fromEntries(
        Object.entries(o.subgraphUrls).map(([d, url]) => [`SUBGRAPH_${d.toUpperCase()}_URL`, url]),
      ),
      ...o.env,
    },
  })
  const url = `http://127.0.0.1:${port}`
  return { service, url, graphqlUrl: `${url}/graphql`, stop: () => stopService(service) }
}

/** A subgraph in a process of its own (see startSubgraphProcess). */
export interface SubgraphProcess {
  service: Service
  graphqlUrl: string
  stop(): Promise<void>
}

/**
 * `subgraphs/<domain>/src/main.ts` in a process of its own on `databaseUrl` (already migrated), as
 * docker-compose runs one: the secrets, Redis and the rest from this process's environment plus `env`
 * (e.g. the other subgraphs' URLs, SUBGRAPH_NICE). Resolves once it answers /ready.
 */
export async function startSubgraphProcess(o: DomainProcessOptions): Promise<SubgraphProcess> {
  const [port, adminPort] = [await freePort(), await freePort()]
  const upper = o.domain.toUpperCase()
  const service = await startReadyService(o.timeoutMs ?? 60_000, {
    name: `subgraph ${o.domain}`,
    group: 'subgraphs',
    port,
    adminPort,
    script: path.join(REPO_ROOT, `subgraphs/${o.domain}/src/main.ts`),
    env: {
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      ...domainDatabaseEnv(o.domain, o.databaseUrl),
      [`SUBGRAPH_${upper}_PORT`]: String(port),
      [`SUBGRAPH_${upper}_ADMIN_PORT`]: String(adminPort),
      ...o.env,
    },
  })
  return { service, graphqlUrl: `http://127.0.0.1:${port}/graphql`, stop: () => stopService(service) }
}

let clockTicks: number | undefined
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

export interface ProcSample {
  /** user + system CPU seconds since the process started */
  cpuSeconds: number
  /** the system (kernel) part of cpuSeconds */
  systemSeconds: number
  rssMb: number
}

/** utime + stime from /proc/<pid>/stat, VmRSS from /proc/<pid>/status; undefined when the process is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0)
    return {
      cpuSeconds: ticks / ticksPerSecond(),
      systemSeconds: Number(fields[12]) / ticksPerSecond(),
      rssMb: rssKb / 1024,
    }
  } catch {
    return undefined
  }
}

/** The nice value of a process's main thread (field 19 of /proc/<pid>/stat); undefined when it is gone. */
export function niceOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
  } catch {
    return undefined
  }
}

/** `pid` and its child processes (a gateway with GATEWAY_WORKERS > 1 serves from forked workers). */
export function withChildren(pid: number): number[] {
  const out = [pid]
  let entries: string[] = []
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e))
  } catch {
    return out
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // ppid is the second field after the command name (which may contain spaces).
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry))
    } catch {}
  }
  return out
}

export function sampleMany(pids: readonly number[]): Map<number, ProcSample> {
  const out = new Map<number, ProcSample>()
  for (const pid of pids) {
    const sample = sampleProcess(pid)
    if (sample) out.set(pid, sample)
  }
  return out
}

export interface GroupUsage {
  /** CPU seconds used between the two samples, summed over the group's processes */
  cpuSeconds: number
  /** Resident memory at the end, summed */
  rssMb: number
  processes: number
}

/** CPU between two samples; a process absent from the first sample started in between (counted whole). */
export function usageBetween(
  before: Map<number, ProcSample>,
  after: Map<number, ProcSample>,
  pids: readonly number[],
): GroupUsage {
  let cpuSeconds = 0
  let rssMb = 0
  let processes = 0
  for (const pid of pids) {
    const end = after.get(pid)
    if (!end) continue
    processes++
    cpuSeconds += end.cpuSeconds - (before.get(pid)?.cpuSeconds ?? 0)
    rssMb += end.rssMb
  }
  return { cpuSeconds, rssMb, processes }
}

/** Busy CPU seconds of the whole machine since boot (all cores), from /proc/stat. */
export function machineCpuSeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
    // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
    return (user! + nice! + system! + irq! + softirq! + steal!) / ticksPerSecond()
  } catch {
    return 0
  }
}
