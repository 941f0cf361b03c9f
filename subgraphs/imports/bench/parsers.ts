/**
 * Throughput of the import engine's readers, without a database: generates a supplier file per format
 * (`--rows`, default 133,149, 1 % bad rows), then times reading it (openSource) and reading + mapping it
 * (compileImport with the generator's configuration), sampling the process's RSS.
 *
 *   pnpm --filter @pm/subgraph-imports bench:parsers [--rows N] [--formats csv,xlsx,…]
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  SUPPLIER_FILE_FORMATS,
  type SupplierFileFormat,
  supplierFileConfig,
  writeSupplierFile,
} from '@pm/seed'
import { compileImport, openSource } from '../src/engine'

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}
const rows = Number(arg('rows') ?? 133_149)
const formats = (arg('formats')?.split(',') ?? [...SUPPLIER_FILE_FORMATS, 'csv-1252']) as (
  | SupplierFileFormat
  | 'csv-1252'
)[]

async function timed(path: string, map: boolean, config: ReturnType<typeof supplierFileConfig>) {
  let peakRss = process.memoryUsage().rss
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }, 50)
  const started = process.hrtime.bigint()
  const source = await openSource(createReadStream(path), { filename: path })
  const compiled = map ? compileImport(config) : undefined
  let count = 0
  let failed = 0
  for await (const record of source.records) {
    count++
    if (compiled && !compiled.map(record).row) failed++
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  clearInterval(sampler)
  return { count, failed, seconds, peakRss }
}

const dir = await mkdtemp(join(tmpdir(), 'pm-bench-parsers-'))
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
console.log(`rows: ${rows}; node ${process.version}\n`)
console.log('| format | file MiB | read rows/s | read MiB/s | read+map rows/s | failed rows | peak RSS MiB |')
console.log('|---|---:|---:|---:|---:|---:|---:|')
try {
  for (const name of formats) {
    const format = name === 'csv-1252' ? 'csv' : name
    const path = join(dir, `supplier-${name}.${format}`)
    await writeSupplierFile(path, {
      rows,
      format,
      encoding: name === 'csv-1252' ? 'windows-1252' : 'utf-8',
    })
    const size = (await stat(path)).size
    const config = supplierFileConfig(format)
    const read = await timed(path, false, config)
    const mapped = await timed(path, true, config)
    if (read.count !== rows || mapped.count !== rows)
      throw new Error(`${name}: read ${read.count} of ${rows} rows`)
    console.log(
      `| ${name} | ${mb(size)} | ${Math.round(rows / read.seconds)} | ${(size / 1024 / 1024 / read.seconds).toFixed(1)} | ${Math.round(rows / mapped.seconds)} | ${mapped.failed} | ${mb(Math.max(read.peakRss, mapped.peakRss))} |`,
    )
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
