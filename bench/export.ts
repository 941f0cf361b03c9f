import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import { startBenchServer } from './src/data'
import { startWorkerProcess, type WorkerProcess, workerNodeOptions } from './src/services'

/** The export scenario's targets (end to end on this machine). */
export const EXPORT_TARGETS = { csvSeconds: 60, xlsxSeconds: 120, workerRssMb: 300 }

export interface ExportBenchResult {
  products: number
  csvSeconds: number
  csvBytes: number
  xlsxSeconds: number
  xlsxBytes: number
  workerPeakRssMb: number
}

const START = `mutation($input: StartExportInput!) { startExport(input: $input) { id } }`
const JOB = `query($id: UUID!) { exportJob(id: $id) { status totalItems successItems failedItems lastError fileSize } }`

/** The feed every run writes: price, stock, image URL and ASIN with the rest of a product's catalogue fields. */
const MAPPING = {
  fields: [
    { source: 'sku', target: 'id' },
    { source: 'title', target: 'title' },
    { source: 'ean', target: 'gtin' },
    { source: 'brand', target: 'brand' },
    {
      source: 'price',
      target: 'price',
      rules: [
        { op: 'applyVat', rate: '0.2' },
        { op: 'round', decimals: 2 },
      ],
    },
    { source: 'currency', target: 'currency' },
    { source: 'quantity', target: 'availability_quantity' },
    { source: 'image_url', target: 'image_link' },
    { source: 'asin', target: 'asin' },
  ],
}

/**
 * A CSV feed, then an XLSX feed, of `products` products with prices, stock, a primary image and an ASIN match,
 * read through the gateway by the exports worker in a process of its own (`pm worker --domain exports`, its RSS
 * sampled): the subgraphs and
 * the gateway run in this process on fresh databases filled by SQL.
 */
export async function runExportBench(o: {
  products: number
  log: (m: string) => void
}): Promise<ExportBenchResult> {
  const server = await startBenchServer(o.log)
  process.env.PM_STACK_SERVER_URL = server.url
  const work = await mkdtemp(path.join(tmpdir(), 'pm-bench-export-'))
  process.env.STORAGE_DIR = path.join(work, 'storage')
  const cacheName = `bench-export-${process.pid}`
  process.env.GATEWAY_CACHE_NAME = cacheName
  const stack = await startTestStack({
    only: ['core', 'catalog', 'exports', 'media', 'code2asin'],
    subgraphTimeoutMs: 120_000,
    env: { core: { MODULE_CODE2ASIN_ENABLED: 'true' } },
    gateway: {
      ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
      cache: { name: cacheName },
    },
  })
  let worker: WorkerProcess | undefined
  try {
    const loaded = performance.now()
    const catalog = stack.subgraphs.catalog.database.db
    const supplier = await catalog
      .insertInto('suppliers')
      .values({ code: 'BENCH-EXPORT', name: 'Bench exporter' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const brand = await catalog
      .insertInto('brands')
      .values({ name: 'Bosch' })
      .returning('id')
      .executeTakeFirstOrThrow()
    await sql`INSERT INTO products (sku, ean, asin, title, status, is_active, supplier_id, brand_id, created_at)
      SELECT 'BX-' || i, lpad(i::text, 13, '0'), CASE WHEN i % 2 = 0 THEN 'B0' || lpad(i::text, 8, '0') END,
             'Produit n°' || i || ', "édition" spéciale', 'active', true, ${supplier.id}::uuid,
             CASE WHEN i % 3 = 0 THEN NULL ELSE ${brand.id}::uuid END, NOW() - (i || ' seconds')::interval
      FROM generate_series(1, ${o.products}) AS i`.execute(catalog)
    await sql`INSERT INTO product_prices (product_id, price_type, price, currency)
      SELECT id, 'retail', 10 + (abs(hashtext(id::text)) % 10000) / 100.0, 'EUR' FROM products`.execute(
      catalog,
    )
    await sql`INSERT INTO product_stocks (product_id, quantity)
      SELECT id, abs(hashtext(id::text)) % 50 FROM products`.execute(catalog)
    await sql`ANALYZE`.execute(catalog)
    const ids = await catalog.selectFrom('products').select('id').execute()
    const media = stack.subgraphs.media.database.db
    for (let i = 0; i < ids.length; i += 10_000) {
      await media
        .insertInto('media_files')
        .values(
          ids.slice(i, i + 10_000).map(({ id }) => ({
            product_id: id,
            file_name: `${id}.jpg`,
            is_primary: true,
            storage_url: `https://cdn.example.com/products/${id}.jpg`,
            mime_type: 'image/jpeg',
          })),
        )
        .execute()
    }
    await sql`ANALYZE`.execute(media)
    o.log(`export: ${o.products} products loaded in ${((performance.now() - loaded) / 1000).toFixed(1)} s`)

    const platform = await stack.request(
      `mutation($input: CreateExportPlatformInput!) { createExportPlatform(input: $input) { id } }`,
      {
        input: { name: 'Bench feed', platformType: 'CSV', config: { kind: 'feed' }, fieldMappings: MAPPING },
      },
    )
    if (platform.errors) throw new Error(`createExportPlatform: ${platform.errors[0]!.message}`)
    const platformId = platform.data.createExportPlatform.id as string

    worker = await startWorkerProcess({
      domain: 'exports',
      databaseUrl: stack.subgraphs.exports.testDatabase.url,
      env: {
        GATEWAY_URL: stack.gatewayUrl,
        GATEWAY_SIGNING_SECRET: stack.secrets.signing,
        // As docker-compose starts worker-exports (WORKER_EXPORTS_NODE_OPTIONS); "" for V8's own defaults.
        NODE_OPTIONS: exportWorkerNodeOptions(),
      },
    })

    const run = async (format: 'CSV' | 'XLSX') => {
      const start = performance.now()
      const started = await stack.request(START, { input: { platformId, format } })
      if (started.errors) throw new Error(`startExport: ${started.errors[0]!.message}`)
      const id = started.data.startExport.id as string
      for (;;) {
        const { data, errors } = await stack.request(JOB, { id })
        if (errors) throw new Error(`exportJob: ${errors[0]!.message}`)
        const job = data.exportJob
        if (job.status === 'FAILED') throw new Error(`export failed: ${job.lastError}`)
        if (job.status === 'COMPLETED') {
          if (job.successItems !== o.products) {
            throw new Error(
              `export wrote ${job.successItems} of ${o.products} products (${job.failedItems} failed)`,
            )
          }
          const seconds = (performance.now() - start) / 1000
          o.log(
            `export: ${format} of ${job.successItems} products in ${seconds.toFixed(1)} s, ${job.fileSize} bytes`,
          )
          return { seconds, bytes: Number(job.fileSize) }
        }
        await new Promise((r) => setTimeout(r, 250))
      }
    }
    const csv = await run('CSV')
    const xlsx = await run('XLSX')
    return {
      products: o.products,
      csvSeconds: csv.seconds,
      csvBytes: csv.bytes,
      xlsxSeconds: xlsx.seconds,
      xlsxBytes: xlsx.bytes,
      workerPeakRssMb: worker.peakRssMb(),
    }
  } finally {
    await worker?.stop()
    await stack.stop()
    await server.stop()
    await rm(work, { recursive: true, force: true })
  }
}

/** The exports worker's V8 heap bounds: docker-compose's, or BENCH_EXPORT_WORKER_NODE_OPTIONS. */
const exportWorkerNodeOptions = () => workerNodeOptions('BENCH_EXPORT_WORKER_NODE_OPTIONS')

/** The scenario's lines of the report, with its targets. */
export function exportMarkdown(r: ExportBenchResult): string {
  const mark = (ok: boolean) => (ok ? 'met' : 'missed')
  return [
    '## Export: product feed through the graph',
    '',
    `${r.products.toLocaleString('en')} products (price, stock, primary image URL, ASIN), read through the gateway by the exports worker in its own process (NODE_OPTIONS "${exportWorkerNodeOptions()}", as docker-compose starts it); subgraphs and gateway in one process.`,
    '',
    '| measure | value | target |',
    '|---|---|---|',
    `| CSV feed, startExport → completed | ${r.csvSeconds.toFixed(1)} s (${Math.round(r.products / r.csvSeconds).toLocaleString('en')} products/s, ${(r.csvBytes / 1e6).toFixed(1)} MB) | ≤ ${EXPORT_TARGETS.csvSeconds} s: ${mark(r.csvSeconds <= EXPORT_TARGETS.csvSeconds)} |`,
    `| XLSX feed | ${r.xlsxSeconds.toFixed(1)} s (${(r.xlsxBytes / 1e6).toFixed(1)} MB) | ≤ ${EXPORT_TARGETS.xlsxSeconds} s: ${mark(r.xlsxSeconds <= EXPORT_TARGETS.xlsxSeconds)} |`,
    `| worker peak RSS | ${r.workerPeakRssMb.toFixed(0)} MB | < ${EXPORT_TARGETS.workerRssMb} MB: ${mark(r.workerPeakRssMb < EXPORT_TARGETS.workerRssMb)} |`,
    '',
  ].join('\n')
}
