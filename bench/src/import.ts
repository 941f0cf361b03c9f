import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { supplierFileConfig, writeSupplierFile } from '@pm/seed'
import { startTestStack } from '@pm/testing/stack'
import { postGraphQL } from '@pm/testing/subgraph'
import { scrapeCache } from './cache-metrics'
import { startBenchServer } from './data'
import { p95, timeDuring, timeIdle } from './page-probe'
import {
  type GatewayProcess,
  niceOf,
  type SubgraphProcess,
  sampleProcess,
  startGatewayProcess,
  startSubgraphProcess,
  startWorkerProcess,
  type WorkerProcess,
  workerNodeOptions,
} from './services'

/** The import scenario's targets (end to end on this machine). */
export const IMPORT_TARGETS = {
  importSeconds: 30,
  rerunSeconds: 20,
  xlsxSeconds: 90,
  pageP95Ratio: 2,
  workerRssMb: 300,
}

/**
 * The imports worker's V8 heap bounds, as docker-compose starts it (`WORKER_IMPORTS_NODE_OPTIONS`, WORKER_NODE_OPTIONS
 * by default): BENCH_IMPORT_WORKER_NODE_OPTIONS runs the bench with others ("" for V8's own defaults).
 */
const importWorkerNodeOptions = () => workerNodeOptions('BENCH_IMPORT_WORKER_NODE_OPTIONS')

/**
 * The nice value of the catalog instance the imports worker writes through (`catalog-bulk` in docker-compose,
 * SUBGRAPH_NICE): BENCH_IMPORT_CATALOG_NICE runs the bench with another, or "shared" to have the worker write
 * through the catalog instance that serves the API (the setup before catalog-bulk).
 */
export const IMPORT_CATALOG_NICE = '10'

/**
 * How many such catalog instances the worker writes through, in turn (docker-compose's catalog-bulk and
 * catalog-bulk-2, IMPORT_CATALOG_URLS): BENCH_IMPORT_CATALOG_INSTANCES runs the bench with another number (1–4).
 */
export const IMPORT_CATALOG_INSTANCES = 2

function catalogInstances(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BENCH_IMPORT_CATALOG_INSTANCES?.trim()
  if (!raw) return IMPORT_CATALOG_INSTANCES
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 4)
    throw new Error(`BENCH_IMPORT_CATALOG_INSTANCES must be an integer from 1 to 4, got "${raw}"`)
  return n
}

/** The parts of the scenario that run (`--import-phases`, default all): the CSV import, its rerun, the XLSX import. */
export type ImportPhase = 'csv' | 'rerun' | 'xlsx'
export const IMPORT_PHASES: readonly ImportPhase[] = ['csv', 'rerun', 'xlsx']

export interface ImportBenchResult {
  rows: number
  phases: ImportPhase[]
  badRows: number
  fileBytes: number
  /** Upload start → job completed. */
  importSeconds: number
  rowsPerSecond: number
  created: number
  failed: number
  /** Same file again (force): every row unchanged. */
  rerunSeconds: number
  rerunUnchanged: number
  /** The same rows as XLSX, for another supplier: upload start → job completed. */
  xlsxBytes: number
  xlsxSeconds: number
  xlsxCreated: number
  /** A supplier's product page (catalog's part of bench Q1), idle and while the XLSX import runs. */
  pageIdleP95Ms: number
  pageBusyP95Ms: number
  pageBusySamples: number
  workerPeakRssMb: number
  /** The worker's RSS once ready, before any job, and its peak during each phase that ran (MB). */
  workerIdleRssMb: number
  workerPhaseRssMb: Partial<Record<ImportPhase, number>>
  /** The worker's CPU time (user + system) during each phase: its work, however loaded the machine is. */
  workerPhaseCpuSeconds: Partial<Record<ImportPhase, number>>
  /** CPU (user + system) of the catalog instances the worker writes through, all of them, per phase. */
  catalogBulkPhaseCpuSeconds: Partial<Record<ImportPhase, number>>
  /** The nice value of the catalog instance the worker writes through (read from it), or "shared" (the API's). */
  catalogBulkNice: string
  /** How many catalog instances of their own the batches went through, in turn (0: the API's). */
  catalogBulkInstances: number
}

const JOB = `query($id: UUID!) { importJob(id: $id) { status processedRows productsCreated productsUnchanged failedRows lastError
  errors(first: 3) { edges { node { rowNumber columnName errorCode message } } } } }`
/** Catalog's part of bench Q1 (the import bench runs core, catalog and imports only). */
const PAGE = `query($supplierId: UUID!) {
  products(filter: { supplierId: $supplierId, isActive: true }, first: 50) {
    edges { node { id ean sku title status createdAt
      prices { priceType price currency minQuantity }
      stocks { warehouseId quantity availableQuantity }
      brand { id name }
      category { id name } } }
  }
}`
const START = `mutation($configId: UUID!, $source: ImportSourceInput!, $force: Boolean) {
  startImport(configId: $configId, source: $source, force: $force) { id }
}`

/**
 * Upload → completed for a generated supplier CSV (French decimals, `badShare` bad rows), then the same file
 * again: the subgraphs in this process on fresh databases, the gateway in a process of its own in front of them
 * (as docker-compose and bench Q1 run it), the imports worker in a third (`pm worker --domain imports`, its RSS
 * sampled while it works).
 */
export async function runImportBench(o: {
  rows: number
  phases?: readonly ImportPhase[]
  log: (m: string) => void
}): Promise<ImportBenchResult> {
  const phases = IMPORT_PHASES.filter((p) => (o.phases ?? IMPORT_PHASES).includes(p))
  if (phases.includes('rerun') && !phases.includes('csv')) throw new Error('import bench: rerun needs csv')
  const server = await startBenchServer(o.log)
  process.env.PM_STACK_SERVER_URL = server.url
  const work = await mkdtemp(path.join(tmpdir(), 'pm-bench-import-'))
  process.env.STORAGE_DIR = path.join(work, 'storage')
  const cacheName = `bench-import-${process.pid}`
  process.env.GATEWAY_CACHE_NAME = cacheName
  const stack = await startTestStack({
    // Media takes the file's image URLs (the generator's hosts are under .example: refused at hand-over, so
    // nothing is downloaded and the import pays one call per batch).
    only: ['core', 'catalog', 'imports', 'media'],
    subgraphTimeoutMs: 120_000,
    // The worker is another process: it reaches the gateway's cache through Redis only. Without Redis the
    // gateway would answer the job's progress from its L1 for up to a minute, so it caches nothing then.
    gateway: process.env.REDIS_URL
      ? { redisUrl: process.env.REDIS_URL, cache: { name: cacheName } }
      : { cache: false },
  })
  let worker: WorkerProcess | undefined
  let gateway: GatewayProcess | undefined
  const catalogBulk: SubgraphProcess[] = []
  const catalogNice = process.env.BENCH_IMPORT_CATALOG_NICE?.trim() || IMPORT_CATALOG_NICE
  try {
    gateway = await startGatewayProcess({
      subgraphUrls: Object.fromEntries(
        (['core', 'catalog', 'imports', 'media'] as const).map((d) => [
          d,
          stack.subgraphs[d].server.graphqlUrl,
        ]),
      ),
      env: {
        GATEWAY_SUBGRAPH_TIMEOUT_MS: '120000',
        ...(process.env.REDIS_URL ? { GATEWAY_CACHE_NAME: cacheName } : { GATEWAY_CACHE: 'false' }),
      },
    })
    const api = gateway
    // Through the gateway process, as the superuser signed in once: one session, as a browser keeps it (the
    // gateway then asks core about it once in a while, not per request). Minted per call with that session: a
    // 1 M-row run outlives one token.
    const sessionId = randomUUID()
    const token = () => stack.tokenFor({ userId: stack.superuserId, sessionId, superuser: true })
    const request = (query: string, variables: Record<string, unknown>) =>
      postGraphQL(api.graphqlUrl, query, variables, { authorization: `Bearer ${token()}` })
    /** A generated supplier file of `format` for a new supplier, and the import config that reads it. */
    const prepare = async (format: 'csv' | 'xlsx', code: string) => {
      const file = path.join(work, `supplier.${format}`)
      const generated = await writeSupplierFile(file, { rows: o.rows, format, badShare: 0.01, locale: 'fr' })
      const fileBytes = (await stat(file)).size
      const supplier = await request(
        `mutation($code: String!) { createSupplier(input: { code: $code, name: "Bench importer" }) { id } }`,
        { code },
      )
      if (supplier.errors) throw new Error(`createSupplier: ${supplier.errors[0]!.message}`)
      const mapping = supplierFileConfig(format, 'fr')
      const config = await stack.subgraphs.imports.database.db
        .insertInto('import_configs')
        .values({
          supplier_code: code,
          import_type: 'products',
          config_name: `Bench ${format.toUpperCase()}`,
          connection_config: JSON.stringify({
            type: 'http',
            url: `https://supplier.example/catalogue.${format}`,
          }),
          file_format: format,
          encoding: 'UTF-8',
          delimiter: format === 'csv' ? ';' : null,
          field_mapping: JSON.stringify(mapping.fieldMapping),
          transformation_rules: JSON.stringify(mapping.transformationRules),
          validation_rules: JSON.stringify(mapping.validationRules),
          create_brands: true,
          create_categories: true,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      return {
        file,
        fileBytes,
        badRows: generated.badRows.length,
        supplierId: supplier.data.createSupplier.id as string,
        configId: config.id,
      }
    }
    const csv = await prepare('csv', 'BENCH-IMPORT')
    o.log(`import: ${o.rows} rows (${csv.badRows} bad), ${(csv.fileBytes / 1e6).toFixed(1)} MB`)

    // The imports worker writes through a catalog instance of its own at a lower CPU priority, as
    // docker-compose's catalog-bulk: the catalog instance in this process answers the API's callers.
    if (catalogNice !== 'shared') {
      for (let i = catalogInstances(); i > 0; i--) {
        catalogBulk.push(
          await startSubgraphProcess({
            domain: 'catalog',
            databaseUrl: stack.subgraphs.catalog.testDatabase.url,
            env: {
              SUBGRAPH_NICE: catalogNice,
              SUBGRAPH_CORE_URL: stack.subgraphs.core.server.graphqlUrl,
              SUBGRAPH_MEDIA_URL: stack.subgraphs.media.server.graphqlUrl,
              SUBGRAPH_IMPORTS_URL: stack.subgraphs.imports.server.graphqlUrl,
            },
          }),
        )
      }
    }
    // Ready once the worker has installed its queue in db_imports and takes jobs.
    worker = await startWorkerProcess({
      domain: 'imports',
      databaseUrl: stack.subgraphs.imports.testDatabase.url,
      env: {
        SUBGRAPH_CATALOG_URL: catalogBulk[0]?.graphqlUrl ?? stack.subgraphs.catalog.server.graphqlUrl,
        IMPORT_CATALOG_URLS: catalogBulk.map((c) => c.graphqlUrl).join(','),
        SUBGRAPH_CORE_URL: stack.subgraphs.core.server.graphqlUrl,
        SUBGRAPH_MEDIA_URL: stack.subgraphs.media.server.graphqlUrl,
        GATEWAY_URL: api.url,
        GATEWAY_SIGNING_SECRET: stack.secrets.signing,
        NODE_OPTIONS: importWorkerNodeOptions(),
      },
    })
    const waitDone = async (id: string) => {
      for (;;) {
        const { data, errors } = await request(JOB, { id })
        if (errors) throw new Error(`importJob: ${errors[0]!.message}`)
        const job = data.importJob
        if (job.status === 'FAILED') throw new Error(`import failed: ${job.lastError}`)
        if (job.status === 'COMPLETED' || job.status === 'CANCELLED') return job
        await new Promise((r) => setTimeout(r, 200))
      }
    }

    /** Upload (POST /uploads, streamed) then startImport: the job's id. */
    const uploadAndStart = async (filePath: string, configId: string) => {
      const response = await fetch(
        `${api.url}/uploads?filename=${encodeURIComponent(path.basename(filePath))}`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token()}`,
            'content-type': 'application/octet-stream',
            'x-apollo-operation-name': 'upload',
          },
          body: Readable.toWeb(createReadStream(filePath)),
          duplex: 'half',
        } as RequestInit,
      )
      if (response.status !== 201)
        throw new Error(`POST /uploads answered ${response.status}: ${await response.text()}`)
      const upload = (await response.json()) as { id: string }
      const started = await request(START, { configId, source: { uploadId: upload.id } })
      if (started.errors) throw new Error(`startImport: ${started.errors[0]!.message}`)
      return { jobId: started.data.startImport.id as string, uploadId: upload.id }
    }

    // The worker's RSS per phase (the WorkerProcess keeps only the run's peak).
    const pid = worker.service.child.pid
    const rss = () => (pid ? (sampleProcess(pid)?.rssMb ?? 0) : 0)
    const cpu = () => (pid ? (sampleProcess(pid)?.cpuSeconds ?? 0) : 0)
    const workerPhaseCpuSeconds: Partial<Record<ImportPhase, number>> = {}
    const bulkCpu = () =>
      catalogBulk.reduce((n, c) => n + (sampleProcess(c.service.child.pid!)?.cpuSeconds ?? 0), 0)
    const catalogBulkPhaseCpuSeconds: Partial<Record<ImportPhase, number>> = {}
    const workerIdleRssMb = rss()
    const workerPhaseRssMb: Partial<Record<ImportPhase, number>> = {}
    const measured = async <T>(phase: ImportPhase, run: () => Promise<T>): Promise<T> => {
      let peak = rss()
      const cpuBefore = cpu()
      const bulkBefore = bulkCpu()
      const sampler = setInterval(() => {
        peak = Math.max(peak, rss())
      }, 100)
      try {
        return await run()
      } finally {
        clearInterval(sampler)
        workerPhaseRssMb[phase] = Math.max(peak, rss())
        workerPhaseCpuSeconds[phase] = cpu() - cpuBefore
        catalogBulkPhaseCpuSeconds[phase] = bulkCpu() - bulkBefore
      }
    }
    const rssNote = (phase: ImportPhase) =>
      `worker peak RSS ${workerPhaseRssMb[phase]?.toFixed(0)} MB, CPU ${workerPhaseCpuSeconds[phase]?.toFixed(1)} s; catalog-bulk CPU ${catalogBulkPhaseCpuSeconds[phase]?.toFixed(1)} s`
    o.log(
      `import: worker ready (NODE_OPTIONS "${importWorkerNodeOptions()}"), RSS ${workerIdleRssMb.toFixed(0)} MB`,
    )

    let importSeconds = 0
    let first = { productsCreated: 0, failedRows: 0 }
    let firstRun: { jobId: string; uploadId: string } | undefined
    if (phases.includes('csv')) {
      const start = performance.now()
      first = await measured('csv', async () => {
        firstRun = await uploadAndStart(csv.file, csv.configId)
        return waitDone(firstRun.jobId)
      })
      importSeconds = (performance.now() - start) / 1_000
      o.log(
        `import: completed in ${importSeconds.toFixed(1)} s (${first.productsCreated} created, ${first.failedRows} failed); ${rssNote('csv')}`,
      )
    }

    let rerunSeconds = 0
    let second = { productsUnchanged: 0 }
    if (phases.includes('rerun') && firstRun) {
      const uploadId = firstRun.uploadId
      const again = performance.now()
      second = await measured('rerun', async () => {
        const rerun = await request(START, {
          configId: csv.configId,
          source: { uploadId },
          force: true,
        })
        if (rerun.errors) throw new Error(`startImport (rerun): ${rerun.errors[0]!.message}`)
        return waitDone(rerun.data.startImport.id)
      })
      rerunSeconds = (performance.now() - again) / 1_000
      o.log(
        `import: rerun in ${rerunSeconds.toFixed(1)} s (${second.productsUnchanged} unchanged); ${rssNote('rerun')}`,
      )
    }

    // The same data as XLSX for another supplier, while a person browses the first supplier's product page.
    let xlsxBytes = 0
    let xlsxSeconds = 0
    let xlsxCreated = 0
    let idle: number[] = []
    let busy: number[] = []
    if (phases.includes('xlsx')) {
      const xlsx = await prepare('xlsx', 'BENCH-IMPORT-XLSX')
      const page = async () => {
        const res = await request(PAGE, { supplierId: csv.supplierId })
        if (res.errors) throw new Error(`product page: ${res.errors[0]!.message}`)
      }
      // Warm-up, not measured: the gateway's process is fresh (its code not yet optimised by V8).
      await timeIdle(page, 300)
      idle = await timeIdle(page, 200)
      // The page's catalog fetches that missed the gateway's cache meanwhile (the import's invalidations).
      const catalogMisses = async () =>
        (await scrapeCache(api.service.adminPort, 1))?.byNamespace['sg:catalog']?.misses ?? 0
      const missesBefore = await catalogMisses()
      const xlsxStart = performance.now()
      const during = await measured('xlsx', () =>
        timeDuring(page, (async () => waitDone((await uploadAndStart(xlsx.file, xlsx.configId)).jobId))()),
      )
      xlsxSeconds = (performance.now() - xlsxStart) / 1_000
      xlsxBytes = xlsx.fileBytes
      xlsxCreated = during.value.productsCreated
      busy = during.samples
      o.log(
        `import: XLSX (${(xlsx.fileBytes / 1e6).toFixed(1)} MB) completed in ${xlsxSeconds.toFixed(1)} s (${xlsxCreated} created); page p95 ${p95(idle).toFixed(1)} → ${p95(busy).toFixed(1)} ms (${(await catalogMisses()) - missesBefore} of ${busy.length} pages missed the cache); ${rssNote('xlsx')}`,
      )
    }
    return {
      rows: o.rows,
      phases,
      badRows: csv.badRows,
      fileBytes: csv.fileBytes,
      importSeconds,
      rowsPerSecond: importSeconds > 0 ? o.rows / importSeconds : 0,
      created: first.productsCreated,
      failed: first.failedRows,
      rerunSeconds,
      rerunUnchanged: second.productsUnchanged,
      xlsxBytes,
      xlsxSeconds,
      xlsxCreated,
      pageIdleP95Ms: idle.length ? p95(idle) : 0,
      pageBusyP95Ms: busy.length ? p95(busy) : 0,
      pageBusySamples: busy.length,
      workerPeakRssMb: worker.peakRssMb(),
      workerIdleRssMb,
      workerPhaseRssMb,
      workerPhaseCpuSeconds,
      catalogBulkPhaseCpuSeconds,
      catalogBulkNice: catalogBulk[0] ? String(niceOf(catalogBulk[0].service.child.pid!) ?? '?') : 'shared',
      catalogBulkInstances: catalogBulk.length,
    }
  } finally {
    await worker?.stop()
    await gateway?.stop()
    await Promise.all(catalogBulk.map((c) => c.stop()))
    await stack.stop()
    await server.stop()
    await rm(work, { recursive: true, force: true })
  }
}

/** The scenario's lines of the report, with its targets. */
export function importMarkdown(r: ImportBenchResult): string {
  const mark = (ok: boolean) => (ok ? 'met' : 'missed')
  return [
    '## Import: supplier CSV, upload to completed',
    '',
    `${r.rows.toLocaleString('en')} rows (${r.badRows} bad), ${(r.fileBytes / 1e6).toFixed(1)} MB, French decimals; as deployed: the gateway in a process of its own, the subgraphs in another, the imports worker in a third, writing through ${r.catalogBulkNice === 'shared' ? 'the catalog instance that serves the API' : r.catalogBulkInstances === 1 ? `a catalog instance of its own at nice ${r.catalogBulkNice} (docker-compose's catalog-bulk)` : `${r.catalogBulkInstances} catalog instances of its own in turn, at nice ${r.catalogBulkNice} (docker-compose's catalog-bulk and catalog-bulk-2)`}.`,
    '',
    '| measure | value | target |',
    '|---|---|---|',
    ...(r.phases.includes('csv')
      ? [
          `| upload → completed | ${r.importSeconds.toFixed(1)} s (${Math.round(r.rowsPerSecond).toLocaleString('en')} rows/s; ${r.created} created, ${r.failed} failed) | ≤ ${IMPORT_TARGETS.importSeconds} s: ${mark(r.importSeconds <= IMPORT_TARGETS.importSeconds)} |`,
        ]
      : []),
    ...(r.phases.includes('rerun')
      ? [
          `| rerun (force, all unchanged) | ${r.rerunSeconds.toFixed(1)} s (${r.rerunUnchanged} unchanged) | ≤ ${IMPORT_TARGETS.rerunSeconds} s: ${mark(r.rerunSeconds <= IMPORT_TARGETS.rerunSeconds)} |`,
        ]
      : []),
    ...(r.phases.includes('xlsx')
      ? [
          `| the same rows as XLSX (${(r.xlsxBytes / 1e6).toFixed(1)} MB), another supplier | ${r.xlsxSeconds.toFixed(1)} s (${r.xlsxCreated} created) | ≤ ${IMPORT_TARGETS.xlsxSeconds} s: ${mark(r.xlsxSeconds <= IMPORT_TARGETS.xlsxSeconds)} |`,
          `| product page p95, idle → during the XLSX import | ${r.pageIdleP95Ms.toFixed(1)} ms → ${r.pageBusyP95Ms.toFixed(1)} ms (${r.pageBusySamples} requests) | ≤ ${IMPORT_TARGETS.pageP95Ratio}× idle: ${mark(r.pageBusyP95Ms <= IMPORT_TARGETS.pageP95Ratio * r.pageIdleP95Ms)} |`,
        ]
      : []),
    `| worker CPU (user + system) | ${r.phases.map((p) => `${p} ${r.workerPhaseCpuSeconds[p]?.toFixed(1) ?? '?'} s`).join(', ')} | |`,
    ...(r.catalogBulkInstances > 0
      ? [
          `| catalog-bulk CPU (user + system, every instance) | ${r.phases.map((p) => `${p} ${r.catalogBulkPhaseCpuSeconds[p]?.toFixed(1) ?? '?'} s`).join(', ')} | |`,
        ]
      : []),
    `| worker peak RSS | ${r.workerPeakRssMb.toFixed(0)} MB (ready: ${r.workerIdleRssMb.toFixed(0)} MB; ${r.phases.map((p) => `${p} ${r.workerPhaseRssMb[p]?.toFixed(0) ?? '?'} MB`).join(', ')}) | < ${IMPORT_TARGETS.workerRssMb} MB: ${mark(r.workerPeakRssMb < IMPORT_TARGETS.workerRssMb)} |`,
    '',
  ].join('\n')
}
