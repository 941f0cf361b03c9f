import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { DOMAINS } from '@pm/db'
import { freePort } from '@pm/testing'
import { testSecrets } from '@pm/testing/auth'
import { type PrivateRedis, redisServerBinary, startPrivateRedis } from '@pm/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// A gateway of two cluster workers (GATEWAY_WORKERS=2) is one gateway to Prometheus: whichever worker a scrape
// reaches, /metrics counts what both served.
const REQUESTS = 8
const OPERATION = `ClusterCounted${randomUUID().slice(0, 8)}`

let redis: PrivateRedis
let child: ChildProcess
let exited: Promise<number | null>
let port: number
let adminPort: number

/** The value of one sample whose labels include `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = line.match(/^(\w+)(?:\{(.*)\})? (\S+)$/)
    if (!m || m[1] !== name) continue
    const found = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    )
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3])
  }
  return undefined
}

describe.skipIf(!redisServerBinary())('metrics of a gateway of two cluster workers', () => {
  beforeAll(async () => {
    redis = await startPrivateRedis()
    port = await freePort()
    adminPort = await freePort()
    const secrets = testSecrets()
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      GATEWAY_PORT: String(port),
      GATEWAY_ADMIN_PORT: String(adminPort),
      GATEWAY_WORKERS: '2',
      GATEWAY_CACHE_NAME: `cluster-metrics-${randomUUID()}`,
      GATEWAY_RATE_LIMIT_PER_MINUTE: '0',
      REDIS_URL: redis.url,
      LOG_LEVEL: 'info',
      METRICS_ENABLED: 'true',
      GATEWAY_SIGNING_SECRET: secrets.signing,
      AUTH_TOKEN_SECRET: secrets.token,
    }
    // No subgraph is asked: the operation below is answered by the gateway alone.
    for (const d of DOMAINS) env[`SUBGRAPH_${d.toUpperCase()}_URL`] = 'http://127.0.0.1:9/graphql'
    child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    exited = new Promise((resolve) => child.once('exit', resolve))
    // Ready when both workers said they listen (connections are then dealt to both in turn).
    await new Promise<void>((resolve, reject) => {
      let listening = 0
      let buffered = ''
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines) if (line.includes('gateway listening') && ++listening === 2) resolve()
      })
      child.once('exit', (code) =>
        reject(new Error(`the two-worker gateway exited (${code}) before listening`)),
      )
    })
    child.stdout!.resume()
  }, 180_000)

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM')
      // The primary passes the signal on and exits once both workers have stopped.
      expect(await exited).toBe(0)
    }
    await redis?.stop()
  })

  it('counts in one scrape the requests served by both workers, and merges their cache and Node figures', async () => {
    for (let i = 0; i < REQUESTS; i++) {
      // A connection each: the primary deals connections to the two workers in turn.
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ query: `query ${OPERATION} { __typename }` }),
      })
      expect(response.status).toBe(200)
      expect(((await response.json()) as any).data).toEqual({ __typename: 'Query' })
    }
    // Whichever worker each scrape reaches, it answers for both.
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`http://127.0.0.1:${adminPort}/metrics`, {
        headers: { connection: 'close' },
      })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toContain('text/plain')
      const text = await response.text()
      const labels = { service: 'gateway', operation: OPERATION, outcome: 'ok' }
      expect(sample(text, 'pm_graphql_request_duration_seconds_count', labels)).toBe(REQUESTS)
      // Histograms merged bucket by bucket: the +Inf bucket holds every request too.
      expect(sample(text, 'pm_graphql_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(
        REQUESTS,
      )
      expect(sample(text, 'pm_cluster_workers_reporting')).toBe(2)
      // Each family once, each label set once (merged, not listed per worker).
      const lines = text.split('\n').filter((l) => l && !l.startsWith('#'))
      expect(new Set(lines.map((l) => l.slice(0, l.lastIndexOf(' ')))).size).toBe(lines.length)
      const helps = text.split('\n').filter((l) => l.startsWith('# HELP '))
      expect(new Set(helps).size).toBe(helps.length)
      // The cache figures of both workers: both connected to Redis (min over the workers), sizes summed.
      expect(text).toMatch(/^pm_cache_l2_up\{cache="cluster-metrics-[^"]+"\} 1$/m)
      expect(text).toMatch(/^pm_cache_l1_entries\{cache="cluster-metrics-[^"]+"\} \d+$/m)
      // Node's figures: heap summed over the workers, one start time left out.
      expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0)
      expect(sample(text, 'process_start_time_seconds')).toBeUndefined()
    }
  })
})
