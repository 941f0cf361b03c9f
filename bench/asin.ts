/**
 * `pnpm bench --asin`: the code2asin matching engine against a loopback SP-API server (searchCatalogItems and
 * Login with Amazon, as documented). Two runs on fresh core/catalog/code2asin databases, the subgraphs, gateway
 * and code2asin worker in this process, on the SP-API account stored once in the secret app setting
 * code2asin.sp_api (the jobs carry no credentials; the worker reads them from core when it runs):
 * - high rate: a supplier of 10,000 products (90 % known by EAN, 5 % only by keywords, 5 % unknown) with the
 *   provider's rate set high: completed within 60 s;
 * - low rate: 40 keyword searches at 5 requests a second: the rate measured at the server within 10 % of it.
 * --smoke: 300 products and 10 searches. Writes bench/results/asin-latest.md (smoke: smoke-asin.md).
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestStack } from '@pm/testing/stack'
import { ean, MARKETPLACE, startFakeSpApi } from '../subgraphs/code2asin/test/sp-api-server'
import { formatResultFiles, REPO_ROOT, startBenchServer } from './src/data'

export const ASIN_TARGETS = { highRateSeconds: 60, lowRateTolerance: 0.1 }

export interface AsinBenchResult {
  products: number
  highRate: {
    ratePerSecond: number
    seconds: number
    productsPerSecond: number
    requests: number
    exact: number
    fuzzy: number
    none: number
    failed: number
  }
  lowRate: { configured: number; measured: number; requests: number; seconds: number }
  load: string
}

const JOB = `query($id: UUID!) { code2asinJob(id: $id) {
  status processedCodes exactMatches fuzzyMatches noMatches failedLookups providerRequests retryCount lastError } }`
const CREATE = `mutation($input: CreateCode2AsinJobInput!) { createCode2AsinJob(input: $input) { id } }`
const SET_ACCOUNT = `mutation($input: SetAppSettingInput!) { setAppSetting(input: $input) { key } }`

const WORDS = [
  'perceuse',
  'visseuse',
  'meuleuse',
  'ponceuse',
  'scie',
  'rabot',
  'marteau',
  'perforateur',
  'cloueur',
  'defonceuse',
]

export async function runAsinBench(o: {
  smoke: boolean
  log: (m: string) => void
}): Promise<AsinBenchResult> {
  const count = o.smoke ? 300 : 10_000
  const lowRequests = o.smoke ? 10 : 40
  const lowRate = 5
  const server = await startBenchServer(o.log)
  process.env.PM_STACK_SERVER_URL = server.url
  const work = await mkdtemp(path.join(tmpdir(), 'pm-bench-asin-'))
  process.env.STORAGE_DIR = path.join(work, 'storage')
  process.env.FETCH_ALLOW_PRIVATE = 'true'
  const fake = await startFakeSpApi()
  // The worker makes the gateway's cached answers stale through Redis, under the gateway's cache name.
  const cacheName = `bench-asin-${process.pid}`
  process.env.GATEWAY_CACHE_NAME = cacheName
  const stack = await startTestStack({
    only: ['core', 'catalog', 'code2asin'],
    subgraphTimeoutMs: 120_000,
    gateway: {
      ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
      cache: { name: cacheName },
    },
  })
  try {
    const catalog = stack.subgraphs.catalog.database.db
    const supplierId = randomUUID()
    await catalog
      .insertInto('suppliers')
      .values({ id: supplierId, code: 'BENCH-ASIN', name: 'Bench ASIN' })
      .execute()
    const brand = await catalog
      .insertInto('brands')
      .values({ name: 'Bosch', code: 'BOSCH' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const products = Array.from({ length: count }, (_, i) => {
      const kind = i % 20 === 18 ? 'fuzzy' : i % 20 === 19 ? 'none' : 'exact'
      const title =
        kind === 'none' ? `objet inconnu numero ${i}` : `${WORDS[i % 10]} ${WORDS[(i >> 4) % 10]} modele ${i}`
      return {
        id: randomUUID(),
        i,
        kind,
        title,
        ean: kind === 'fuzzy' || kind === 'none' ? null : ean(`37${String(i).padStart(10, '0')}`),
      }
    })
    for (let i = 0; i < products.length; i += 2_000) {
      await catalog
        .insertInto('products')
        .values(
          products.slice(i, i + 2_000).map((p) => ({
            id: p.id,
            title: p.title,
            ean: p.ean,
            supplier_id: supplierId,
            brand_id: brand.id,
            manufacturer_reference: `REF-${p.i}`,
          })),
        )
        .execute()
    }
    fake.add(
      products
        .filter((p) => p.kind !== 'none')
        .map((p) => ({
          asin: `B0${String(p.i).padStart(8, '0')}`,
          ...(p.ean ? { ean: p.ean } : {}),
          title: `Bosch ${p.title} REF-${p.i}`,
          brand: 'Bosch',
          modelNumber: `REF-${p.i}`,
        })),
    )
    o.log(`asin: ${count} products in the catalog, ${fake.searches.length} searches so far`)
    await stack.startWorker('code2asin', { env: { CODE2ASIN_CONCURRENCY: '8' } })
    // The account stored once as the secret app setting, as an operator does: the jobs carry no credentials.
    const stored = await stack.request(SET_ACCOUNT, {
      input: {
        key: 'code2asin.sp_api',
        category: 'code2asin',
        isSecret: true,
        value: {
          ...fake.credentials,
          endpoint: fake.url,
          tokenEndpoint: `${fake.url}/auth/o2/token`,
          marketplaceId: MARKETPLACE,
        },
      },
    })
    if (stored.errors) throw new Error(`setAppSetting: ${stored.errors[0]!.message}`)
    const provider = (rate: number, burst: number) => ({ kind: 'AMAZON_SP_API', ratePerSecond: rate, burst })
    const run = async (input: Record<string, unknown>) => {
      const created = await stack.request(CREATE, { input })
      if (created.errors) throw new Error(`createCode2AsinJob: ${created.errors[0]!.message}`)
      const id = created.data.createCode2AsinJob.id
      const t0 = performance.now()
      let seen = ''
      for (;;) {
        const { data, errors } = await stack.request(JOB, { id })
        if (errors) throw new Error(`code2asinJob: ${errors[0]!.message}`)
        const job = data.code2asinJob
        const now = `${job.status} ${job.processedCodes}`
        if (now !== seen) {
          seen = now
          o.log(
            `asin: job ${job.status}, ${job.processedCodes} processed (${((performance.now() - t0) / 1_000).toFixed(1)} s)`,
          )
        }
        if (job.status === 'FAILED') throw new Error(`the matching job failed: ${job.lastError}`)
        if (job.status === 'COMPLETED') return job
        await new Promise((r) => setTimeout(r, 200))
      }
    }

    const highRate = 10_000
    fake.behaviour.rateLimitHeader = String(highRate)
    const start = performance.now()
    const high = await run({ supplierCode: 'BENCH-ASIN', batchSize: 500, provider: provider(highRate, 50) })
    const seconds = (performance.now() - start) / 1_000
    o.log(`asin: ${count} products matched in ${seconds.toFixed(1)} s (${high.providerRequests} requests)`)

    fake.behaviour.rateLimitHeader = String(lowRate)
    const searchesBefore = fake.searches.length
    const lowIds = products
      .filter((p) => p.kind === 'fuzzy')
      .slice(0, lowRequests)
      .map((p) => p.id)
    const lowStart = performance.now()
    await run({ productIds: lowIds, batchSize: 20, provider: provider(lowRate, 1) })
    const lowSeconds = (performance.now() - lowStart) / 1_000
    const low = fake.searches.slice(searchesBefore)
    const span = (low[low.length - 1]!.at - low[0]!.at) / 1_000
    const measured = (low.length - 1) / span
    o.log(`asin: ${low.length} searches at ${measured.toFixed(2)}/s (configured ${lowRate}/s)`)
    const { loadavg } = await import('node:os')
    return {
      products: count,
      highRate: {
        ratePerSecond: highRate,
        seconds,
        productsPerSecond: count / seconds,
        requests: high.providerRequests,
        exact: high.exactMatches,
        fuzzy: high.fuzzyMatches,
        none: high.noMatches,
        failed: high.failedLookups,
      },
      lowRate: { configured: lowRate, measured, requests: low.length, seconds: lowSeconds },
      load: loadavg()
        .map((l) => l.toFixed(2))
        .join(', '),
    }
  } finally {
    await stack.stop()
    await fake.close()
    await server.stop()
    await rm(work, { recursive: true, force: true })
  }
}

export function asinMarkdown(r: AsinBenchResult): string {
  const mark = (ok: boolean) => (ok ? 'met' : 'missed')
  const h = r.highRate
  const l = r.lowRate
  return [
    '## Code2ASIN matching against a loopback SP-API',
    '',
    `${r.products.toLocaleString('en')} products of one supplier (90 % known by EAN, 5 % by keywords only, 5 % unknown); subgraphs, gateway and worker in one process; load average ${r.load}.`,
    '',
    '| measure | value | target |',
    '| --- | --- | --- |',
    `| high rate (${h.ratePerSecond}/s): job created → completed | ${h.seconds.toFixed(1)} s (${h.productsPerSecond.toFixed(0)} products/s, ${h.requests} requests; ${h.exact} exact, ${h.fuzzy} fuzzy, ${h.none} none, ${h.failed} failed) | ≤ ${ASIN_TARGETS.highRateSeconds} s: ${mark(h.seconds <= ASIN_TARGETS.highRateSeconds)} |`,
    `| low rate: ${l.requests} searches, measured at the server | ${l.measured.toFixed(2)} requests/s (configured ${l.configured}/s; ${l.seconds.toFixed(1)} s) | within ${ASIN_TARGETS.lowRateTolerance * 100} %: ${mark(Math.abs(l.measured - l.configured) <= l.configured * ASIN_TARGETS.lowRateTolerance)} |`,
    '',
  ].join('\n')
}

/** Runs the scenario, writes its results file and says whether the targets were met (exit code). */
export async function asinScenario(o: { smoke: boolean; log: (m: string) => void }): Promise<number> {
  const startedAt = new Date()
  const result = await runAsinBench(o)
  const markdown = `# Code2ASIN benchmark (${startedAt.toISOString()})\n\n${asinMarkdown(result)}`
  const dir = path.join(REPO_ROOT, 'bench/results')
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, o.smoke ? 'smoke-asin.md' : 'asin-latest.md')
  writeFileSync(file, markdown)
  writeFileSync(file.replace(/\.md$/, '.json'), `${JSON.stringify({ startedAt, result }, null, 2)}\n`)
  formatResultFiles([file, file.replace(/\.md$/, '.json')])
  console.log(asinMarkdown(result))
  if (o.smoke) return 0
  const l = result.lowRate
  const missed =
    result.highRate.seconds > ASIN_TARGETS.highRateSeconds ||
    Math.abs(l.measured - l.configured) > l.configured * ASIN_TARGETS.lowRateTolerance
  return missed ? 1 : 0
}
