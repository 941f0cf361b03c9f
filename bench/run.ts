/**
 * Load on a running stack (`pnpm start` in another terminal): the product page query through the
 * gateway, N concurrent clients for a fixed time, over loopback only. Prints throughput and latency.
 *   BENCH_URL (http://127.0.0.1:4000/graphql)  BENCH_SECONDS (10)  BENCH_CONCURRENCY (8)
 */
import { performance } from 'node:perf_hooks'

const url = new URL(process.env.BENCH_URL ?? 'http://127.0.0.1:4000/graphql')
if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
  console.error('BENCH_URL must point at this machine (loopback)')
  process.exit(2)
}
const seconds = Math.min(Number(process.env.BENCH_SECONDS ?? 10), 120)
const concurrency = Math.min(Number(process.env.BENCH_CONCURRENCY ?? 8), 64)

const PRODUCT_PAGE = `query ProductPage($supplierId: UUID!, $first: Int!) {
  products(first: $first, filter: { supplierId: $supplierId }) {
    totalCount
    edges { node {
      id title supplier { code }
      prices { priceType price currency }
      stocks { quantity availableQuantity }
      primaryImage { id thumbnails { sizeName width } }
      media { id thumbnails { sizeName } }
      bestAsinMatch { asin matchConfidence }
      metrics { date viewCount revenue }
    } }
  }
}`

async function post(query: string, variables: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  })
  const body = (await response.json()) as { data?: any; errors?: unknown[] }
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors[0]))
  return body.data
}

const suppliers = await post('{ suppliers(first: 100) { edges { node { id } } } }', {})
const supplierIds: string[] = suppliers.suppliers.edges.map((e: { node: { id: string } }) => e.node.id)
if (supplierIds.length === 0) throw new Error('no suppliers: start the stack with its demo data first')

const latencies: number[] = []
let errors = 0
const deadline = performance.now() + seconds * 1000
await Promise.all(
  Array.from({ length: concurrency }, async (_, worker) => {
    for (let i = worker; performance.now() < deadline; i += concurrency) {
      const started = performance.now()
      try {
        await post(PRODUCT_PAGE, { supplierId: supplierIds[i % supplierIds.length], first: 20 })
        latencies.push(performance.now() - started)
      } catch {
        errors++
      }
    }
  }),
)
latencies.sort((a, b) => a - b)
const at = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1)
console.log(
  `product page (20 products, 7 subgraphs) via ${url.href}: ${latencies.length} requests in ${seconds} s, ` +
    `${(latencies.length / seconds).toFixed(1)} req/s, concurrency ${concurrency}, errors ${errors}\n` +
    `latency ms: p50 ${at(0.5)}  p95 ${at(0.95)}  p99 ${at(0.99)}  max ${at(1)}`,
)
