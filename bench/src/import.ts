import { createReadStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { supplierFileConfig, writeSupplierFile } from '@pm/seed'
import { startTestStack } from '@pm/testing/stack'
import { startBenchServer } from './data'
import { startWorkerProcess, type WorkerProcess } from './services'

/** The import scenario's targets (end to end on this machine). */
export const IMPORT_TARGETS = { importSeconds: 30, rerunSeconds: 20, workerRssMb: 300 }

export interface ImportBenchResult {
  rows: number
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
  workerPeakRssMb: number
}

const JOB = `query($id: UUID!) { importJob(id: $id) { status processedRows productsCreated productsUnchanged failedRows lastError
  errors(first: 3) { edges { node { rowNumber columnName errorCode message } } } } }`
const START = `mutation($configId: UUID!, $source: ImportSourceInput!, $force: Boolean) {
  startImport(configId: $configId, source: $source, force: $force) { id }
}`

/**
 * Upload → completed for a generated supplier CSV (French decimals, `badShare` bad rows), then the same file
 * again: the subgraphs and gateway in this process on fresh databases, the imports worker in a process of its
 * own (`pm worker --domain imports`, its RSS sampled while it works).
 */
export async function runImportBench(o: {
  rows: number
  log: (m: string) => void
}): Promise<ImportBenchResult> {
  const server = await startBenchServer(o.log)
  process.env.PM_STACK_SERVER_URL = server.url
  const work = await mkdtemp(path.join(tmpdir(), 'pm-bench-import-'))
  process.env.STORAGE_DIR = path.join(work, 'storage')
  const cacheName = `bench-import-${process.pid}`
  process.env.GATEWAY_CACHE_NAME = cacheName
  const stack = await startTestStack({
    only: ['core', 'catalog', 'imports'],
    subgraphTimeoutMs: 120_000,
    // The worker is another process: it reaches the gateway's cache through Redis only. Without Redis the
    // gateway would answer the job's progress from its L1 for up to a minute, so it caches nothing then.
    gateway: process.env.REDIS_URL
      ? { redisUrl: process.env.REDIS_URL, cache: { name: cacheName } }
      : { cache: false },
  })
  let worker: WorkerProcess | undefined
  try {
    const file = path.join(work, 'supplier.csv')
    const generated = await writeSupplierFile(file, {
      rows: o.rows,
      format: 'csv',
      badShare: 0.01,
      locale: 'fr',
    })
    const fileBytes = (await stat(file)).size
    o.log(`import: ${o.rows} rows (${generated.badRows.length} bad), ${(fileBytes / 1e6).toFixed(1)} MB`)
    const supplier = await stack.request(
      `mutation { createSupplier(input: { code: "BENCH-IMPORT", name: "Bench importer" }) { id } }`,
    )
    if (supplier.errors) throw new Error(`createSupplier: ${supplier.errors[0]!.message}`)
    const mapping = supplierFileConfig('csv', 'fr')
    const config = await stack.subgraphs.imports.database.db
      .insertInto('import_configs')
      .values({
        supplier_code: 'BENCH-IMPORT',
        import_type: 'products',
        config_name: 'Bench CSV',
        connection_config: JSON.stringify({ type: 'http', url: 'https://supplier.example/catalogue.csv' }),
        file_format: 'csv',
        encoding: 'UTF-8',
        delimiter: ';',
        field_mapping: JSON.stringify(mapping.fieldMapping),
        transformation_rules: JSON.stringify(mapping.transformationRules),
        validation_rules: JSON.stringify(mapping.validationRules),
        create_brands: true,
        create_categories: true,
      })
      .returning('id')
      .executeTakeFirstOrThrow()

    // Ready once the worker has installed its queue in db_imports and takes jobs.
    worker = await startWorkerProcess({
      domain: 'imports',
      databaseUrl: stack.subgraphs.imports.testDatabase.url,
      env: {
        SUBGRAPH_CATALOG_URL: stack.subgraphs.catalog.server.graphqlUrl,
        SUBGRAPH_CORE_URL: stack.subgraphs.core.server.graphqlUrl,
        GATEWAY_URL: stack.gatewayUrl,
        GATEWAY_SIGNING_SECRET: stack.secrets.signing,
      },
    })
    const userId = stack.superuserId
    const token = stack.tokenFor({ userId, superuser: true })
    const waitDone = async (id: string) => {
      for (;;) {
        const { data, errors } = await stack.request(JOB, { id })
        if (errors) throw new Error(`importJob: ${errors[0]!.message}`)
        const job = data.importJob
        if (job.status === 'failed') throw new Error(`import failed: ${job.lastError}`)
        if (job.status === 'completed' || job.status === 'cancelled') return job
        await new Promise((r) => setTimeout(r, 200))
      }
    }

    const start = performance.now()
    const response = await fetch(`${stack.gatewayUrl}/uploads?filename=supplier.csv`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        'x-apollo-operation-name': 'upload',
      },
      body: createReadStream(file) as never,
      duplex: 'half',
    } as RequestInit)
    if (response.status !== 201)
      throw new Error(`POST /uploads answered ${response.status}: ${await response.text()}`)
    const upload = (await response.json()) as { id: string }
    const started = await stack.request(START, { configId: config.id, source: { uploadId: upload.id } })
    if (started.errors) throw new Error(`startImport: ${started.errors[0]!.message}`)
    const first = await waitDone(started.data.startImport.id)
    const importSeconds = (performance.now() - start) / 1_000
    o.log(
      `import: completed in ${importSeconds.toFixed(1)} s (${first.productsCreated} created, ${first.failedRows} failed)`,
    )

    const again = performance.now()
    const rerun = await stack.request(START, {
      configId: config.id,
      source: { uploadId: upload.id },
      force: true,
    })
    if (rerun.errors) throw new Error(`startImport (rerun): ${rerun.errors[0]!.message}`)
    const second = await waitDone(rerun.data.startImport.id)
    const rerunSeconds = (performance.now() - again) / 1_000
    o.log(`import: rerun in ${rerunSeconds.toFixed(1)} s (${second.productsUnchanged} unchanged)`)
    return {
      rows: o.rows,
      badRows: generated.badRows.length,
      fileBytes,
      importSeconds,
      rowsPerSecond: o.rows / importSeconds,
      created: first.productsCreated,
      failed: first.failedRows,
      rerunSeconds,
      rerunUnchanged: second.productsUnchanged,
      workerPeakRssMb: worker.peakRssMb(),
    }
  } finally {
    await worker?.stop()
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
    `${r.rows.toLocaleString('en')} rows (${r.badRows} bad), ${(r.fileBytes / 1e6).toFixed(1)} MB, French decimals; subgraphs and gateway in one process, the imports worker in its own.`,
    '',
    '| measure | value | target |',
    '|---|---|---|',
    `| upload → completed | ${r.importSeconds.toFixed(1)} s (${Math.round(r.rowsPerSecond).toLocaleString('en')} rows/s; ${r.created} created, ${r.failed} failed) | ≤ ${IMPORT_TARGETS.importSeconds} s: ${mark(r.importSeconds <= IMPORT_TARGETS.importSeconds)} |`,
    `| rerun (force, all unchanged) | ${r.rerunSeconds.toFixed(1)} s (${r.rerunUnchanged} unchanged) | ≤ ${IMPORT_TARGETS.rerunSeconds} s: ${mark(r.rerunSeconds <= IMPORT_TARGETS.rerunSeconds)} |`,
    `| worker peak RSS | ${r.workerPeakRssMb.toFixed(0)} MB | < ${IMPORT_TARGETS.workerRssMb} MB: ${mark(r.workerPeakRssMb < IMPORT_TARGETS.workerRssMb)} |`,
    '',
  ].join('\n')
}
