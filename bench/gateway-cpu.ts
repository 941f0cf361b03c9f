/**
 * `pnpm bench:gateway-cpu`: what our gateway costs per request on the uncached path (GATEWAY_CACHE=false),
 * measured as CPU time of the gateway process itself (utime + stime from /proc) over a fixed number of
 * requests, not as wall-clock latency: it holds on a loaded machine. With --baseline DIR (a copy of
 * gateway/src from another commit) a second gateway runs that code on the same subgraphs, and the two are
 * measured in turn, round after round (A/B alternated), after checking that both answer byte for byte alike.
 *
 * Also reports each gateway's resident memory (RSS) after each round, and with --profile writes a V8 CPU
 * profile of each gateway over its last round (bench/results/profiles/gateway-cpu-*.cpuprofile) and prints
 * its top self time.
 */
import { mkdirSync, rmSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { DOMAINS, type Domain } from '@pm/db'
import { Q1_PRODUCT_PAGE, Q2_PRODUCT_DETAIL, Q3_IMPORT_DASHBOARD } from './queries'
import { subgraphPoolEnv } from './src/connections'
import { prepareDataSet, REPO_ROOT, startBenchServer } from './src/data'
import { benchAccessToken, benchSecrets } from './src/identity'
import { pickParams } from './src/params'
import { topSelfTime } from './src/profile'
import { freePort, type Service, sampleProcess, startService, stopService, waitReady } from './src/services'

const USAGE = `pnpm bench:gateway-cpu [options]

  --requests N        requests per gateway, scenario and round (default 2000)
  --rounds N          rounds; each measures every gateway in turn, the order alternating (default 3)
  --scenarios LIST    q1,q2,q3 (default q1,q2)
  --concurrency N     requests in flight (default 4)
  --baseline DIR      another gateway source directory (a copy of gateway/src, e.g. from main) to compare with
  --profile           a V8 CPU profile of each gateway over its last round, with its top self time
  --replay            the gateways reach the subgraphs through a proxy in this process that answers a request
                      it has seen before (same subgraph, same body) with the subgraph's answer, byte for byte:
                      after the warm-up the subgraphs and PostgreSQL do no work, only the gateways are measured
  --products N        catalogue size (default 133149), data set in <BENCH_DB_PREFIX>_* as pnpm bench loads it

Environment: as pnpm bench (DATABASE_URL or TEST_DATABASE_URL, BENCH_DB_PREFIX).`

const PAGE_SIZE = 50
const began = performance.now()
const log = (message: string) =>
  console.log(`[gateway-cpu ${((performance.now() - began) / 1000).toFixed(1).padStart(5)} s] ${message}`)

interface Options {
  requests: number
  rounds: number
  scenarios: ('q1' | 'q2' | 'q3')[]
  concurrency: number
  baseline?: string
  profile: boolean
  replay: boolean
  products: number
}

function parse(argv: string[]): Options {
  const options: Options = {
    requests: 2000,
    rounds: 3,
    scenarios: ['q1', 'q2'],
    concurrency: 4,
    profile: false,
    replay: false,
    products: 133_149,
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = () => {
      const next = argv[++i]
      if (next === undefined) throw new Error(`${arg} needs a value\n\n${USAGE}`)
      return next
    }
    const count = () => {
      const n = Number(value())
      if (!Number.isInteger(n) || n < 1) throw new Error(`${arg} must be a positive integer`)
      return n
    }
    if (arg === '--requests') options.requests = count()
    else if (arg === '--rounds') options.rounds = count()
    else if (arg === '--concurrency') options.concurrency = count()
    else if (arg === '--products') options.products = count()
    else if (arg === '--profile') options.profile = true
    else if (arg === '--replay') options.replay = true
    else if (arg === '--baseline') options.baseline = path.resolve(value())
    else if (arg === '--scenarios') {
      const list = value().split(',')
      for (const s of list)
        if (s !== 'q1' && s !== 'q2' && s !== 'q3') throw new Error(`--scenarios: "${s}" is not q1, q2 or q3`)
      options.scenarios = list as Options['scenarios']
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE)
      process.exit(0)
    } else throw new Error(`unknown option ${arg}\n\n${USAGE}`)
  }
  return options
}

const DOCUMENTS = { q1: Q1_PRODUCT_PAGE, q2: Q2_PRODUCT_DETAIL, q3: Q3_IMPORT_DASHBOARD }

interface Gateway {
  label: string
  service: Service
  port: number
  agent: http.Agent
  profileFile?: string
}

/** One POST /graphql over the gateway's keep-alive agent; its body as text, refused if it carries errors. */
function post(gateway: Gateway, body: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port: gateway.port,
        path: '/graphql',
        method: 'POST',
        agent: gateway.agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          if (res.statusCode !== 200 || text.includes('"errors":['))
            reject(new Error(`${gateway.label}: HTTP ${res.statusCode}: ${text.slice(0, 500)}`))
          else resolve(text)
        })
      },
    )
    request.on('error', reject)
    request.end(body)
  })
}

/** `count` requests, `concurrency` at a time, the bodies in rotation. */
async function drive(
  gateway: Gateway,
  bodies: string[],
  count: number,
  concurrency: number,
  headers: Record<string, string>,
) {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const body = bodies[next++ % bodies.length]!
        await post(gateway, body, headers)
      }
    }),
  )
}

/**
 * A loopback proxy in front of one subgraph: a POST whose body it has seen answers what the subgraph answered
 * then (status, content type, body); anything else goes to the subgraph (and a 200 POST answer is kept).
 */
async function replayProxy(target: string): Promise<{ url: string; server: http.Server }> {
  const upstream = new URL(target)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
  const seen = new Map<string, { status: number; type: string; body: Buffer }>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const key = req.method === 'POST' ? `${req.url}\n${body.toString('utf8')}` : undefined
      const known = key === undefined ? undefined : seen.get(key)
      if (known) {
        res.writeHead(known.status, { 'content-type': known.type, 'content-length': known.body.length })
        res.end(known.body)
        return
      }
      const headers = { ...req.headers, host: upstream.host }
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers, agent },
        (answer) => {
          const parts: Buffer[] = []
          answer.on('data', (chunk: Buffer) => parts.push(chunk))
          answer.on('end', () => {
            const text = Buffer.concat(parts)
            const type = String(answer.headers['content-type'] ?? 'application/json')
            if (key !== undefined && answer.statusCode === 200)
              seen.set(key, { status: 200, type, body: text })
            res.writeHead(answer.statusCode ?? 502, { 'content-type': type, 'content-length': text.length })
            res.end(text)
          })
        },
      )
      forward.on('error', () => {
        res.writeHead(502)
        res.end()
      })
      forward.end(body)
    })
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${port}${upstream.pathname}`, server }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function main(options: Options): Promise<void> {
  const server = await startBenchServer(log)
  const services: Service[] = []
  const agents: http.Agent[] = []
  const cleanups: (() => void)[] = []
  try {
    const prefix = process.env.BENCH_DB_PREFIX?.trim() || 'bench'
    const data = await prepareDataSet(server.url, prefix, options.products, 42, log)
    const secrets = benchSecrets()
    const token = await benchAccessToken(data.urls, secrets.AUTH_TOKEN_SECRET)
    const headers = { authorization: `Bearer ${token}` }
    const params = await pickParams(data.urls)
    const env: Record<string, string> = {
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      GATEWAY_RATE_LIMIT_PER_MINUTE: '0',
      ...subgraphPoolEnv(),
      ...secrets,
    }
    for (const d of DOMAINS) {
      const port = await freePort()
      const upper = d.toUpperCase()
      env[`DB_${upper}_URL`] = data.urls[d as Domain]
      env[`SUBGRAPH_${upper}_PORT`] = String(port)
      env[`SUBGRAPH_${upper}_ADMIN_PORT`] = String(await freePort())
      env[`SUBGRAPH_${upper}_URL`] = `http://127.0.0.1:${port}/graphql`
    }
    for (const d of DOMAINS) {
      services.push(
        startService({
          name: `subgraph ${d}`,
          group: 'subgraphs',
          port: Number(env[`SUBGRAPH_${d.toUpperCase()}_PORT`]),
          adminPort: Number(env[`SUBGRAPH_${d.toUpperCase()}_ADMIN_PORT`]),
          script: `subgraphs/${d}/src/main.ts`,
          env,
        }),
      )
    }
    // The gateways' own view of the subgraphs: the proxies' URLs with --replay.
    const gatewayEnv = { ...env }
    const proxies: http.Server[] = []
    if (options.replay) {
      for (const d of DOMAINS) {
        const name = `SUBGRAPH_${d.toUpperCase()}_URL`
        const proxy = await replayProxy(env[name]!)
        proxies.push(proxy.server)
        gatewayEnv[name] = proxy.url
      }
      cleanups.push(() => {
        for (const proxy of proxies) {
          proxy.close()
          proxy.closeAllConnections()
        }
      })
    }
    const sources: [string, string][] = [['current', path.join(REPO_ROOT, 'gateway/src')]]
    if (options.baseline) sources.unshift(['baseline', options.baseline])
    const profiles = path.join(REPO_ROOT, 'bench/results/profiles')
    if (options.profile) mkdirSync(profiles, { recursive: true })
    const gateways: Gateway[] = []
    for (const [label, dir] of sources) {
      const port = await freePort()
      const adminPort = await freePort()
      const profileFile = options.profile ? path.join(profiles, `gateway-cpu-${label}.cpuprofile`) : undefined
      if (profileFile) rmSync(profileFile, { force: true })
      const service = startService({
        name: `gateway (${label})`,
        group: 'gateway',
        port,
        adminPort,
        script: path.join(dir, 'main.ts'),
        ...(profileFile ? { nodeFlags: ['--import', './bench/src/profile-preload.ts'] } : {}),
        env: {
          ...gatewayEnv,
          GATEWAY_PORT: String(port),
          GATEWAY_ADMIN_PORT: String(adminPort),
          GATEWAY_CACHE: 'false',
          GATEWAY_WORKERS: '1',
          ...(profileFile ? { BENCH_PROFILE_FILE: profileFile } : {}),
        },
      })
      services.push(service)
      const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency })
      agents.push(agent)
      gateways.push({ label, service, port, agent, ...(profileFile ? { profileFile } : {}) })
    }
    await Promise.all(services.map((s) => waitReady(s, 900_000)))
    log(
      `ready: ${services.length} processes (gateways: ${gateways.map((g) => g.service.child.pid).join(', ')})`,
    )

    const bodies = {
      q1: params.supplierIds.map((supplierId) =>
        JSON.stringify({ query: DOCUMENTS.q1, variables: { supplierId, first: PAGE_SIZE } }),
      ),
      q2: params.eans.map((ean) =>
        JSON.stringify({ query: DOCUMENTS.q2, variables: { ean, ...params.metricsRange } }),
      ),
      q3: params.statuses.map((status) =>
        JSON.stringify({ query: DOCUMENTS.q3, variables: { status, first: PAGE_SIZE } }),
      ),
    }
    // Same answers, byte for byte, from every gateway (and warm-up: plans, JIT, connections).
    for (const scenario of options.scenarios) {
      let differ = 0
      for (const body of bodies[scenario].slice(0, 40)) {
        const answers = await Promise.all(gateways.map((g) => post(g, body, headers)))
        if (answers.some((a) => a !== answers[0])) differ++
      }
      log(`${scenario}: answers compared on 40 requests: ${differ === 0 ? 'identical' : `${differ} differ`}`)
      if (differ) throw new Error(`${scenario}: the gateways' answers differ`)
      for (const g of gateways) await drive(g, bodies[scenario], 300, options.concurrency, headers)
    }

    const cpu = new Map<string, number[]>()
    for (let round = 0; round < options.rounds; round++) {
      const last = round === options.rounds - 1
      const order = round % 2 ? [...gateways].reverse() : gateways
      for (const scenario of options.scenarios) {
        for (const g of order) {
          const pid = g.service.child.pid!
          if (last && g.profileFile) g.service.child.kill('SIGUSR2')
          const before = sampleProcess(pid)!
          const started = performance.now()
          await drive(g, bodies[scenario], options.requests, options.concurrency, headers)
          const seconds = (performance.now() - started) / 1000
          const after = sampleProcess(pid)!
          if (last && g.profileFile) g.service.child.kill('SIGUSR2')
          const usPerRequest = ((after.cpuSeconds - before.cpuSeconds) * 1e6) / options.requests
          const key = `${scenario} ${g.label}`
          cpu.set(key, [...(cpu.get(key) ?? []), usPerRequest])
          log(
            `round ${round + 1} ${scenario} ${g.label}: ${(usPerRequest / 1000).toFixed(3)} ms CPU/request, ${(options.requests / seconds).toFixed(0)} req/s, RSS ${after.rssMb.toFixed(0)} MB`,
          )
        }
      }
    }
    console.log('')
    console.log('| scenario | gateway | CPU ms/request (median) | min | max | rounds |')
    console.log('| --- | --- | --: | --: | --: | --: |')
    for (const scenario of options.scenarios) {
      for (const g of gateways) {
        const values = cpu.get(`${scenario} ${g.label}`) ?? []
        console.log(
          `| ${scenario} | ${g.label} | ${(median(values) / 1000).toFixed(3)} | ${(Math.min(...values) / 1000).toFixed(3)} | ${(Math.max(...values) / 1000).toFixed(3)} | ${values.length} |`,
        )
      }
    }
    for (const g of gateways) {
      const sample = sampleProcess(g.service.child.pid!)
      console.log(`${g.label}: RSS ${sample?.rssMb.toFixed(0)} MB at the end`)
    }
    if (options.profile) {
      // The preload writes the file when told to stop: give it a moment per gateway.
      for (const g of gateways) {
        const file = g.profileFile!
        for (let i = 0; i < 100; i++) {
          try {
            const { busyMs, top, packages } = topSelfTime(file, 30)
            console.log(
              `\n${g.label}: profile ${path.relative(REPO_ROOT, file)} (busy ${busyMs.toFixed(0)} ms)`,
            )
            console.log(
              packages
                .slice(0, 10)
                .map((p) => `${p.name} ${p.selfPercent.toFixed(1)}%`)
                .join(' · '),
            )
            for (const h of top)
              console.log(`  ${h.selfPercent.toFixed(1).padStart(5)}%  ${h.function}  ${h.location}`)
            break
          } catch {
            await new Promise((r) => setTimeout(r, 100))
          }
        }
      }
    }
  } finally {
    for (const agent of agents) agent.destroy()
    for (const cleanup of cleanups) cleanup()
    const fronts = services.filter((s) => s.group === 'gateway')
    await Promise.all(fronts.map((s) => stopService(s)))
    await Promise.all(services.filter((s) => s.group !== 'gateway').map((s) => stopService(s)))
    await server.stop()
  }
}

// The services' own exit handler (src/services.ts) stops what is still running.
process.on('SIGINT', () => process.exit(130))
process.on('SIGTERM', () => process.exit(143))
try {
  await main(parse(process.argv.slice(2)))
} catch (error) {
  console.error((error as Error).message)
  process.exit(1)
}
