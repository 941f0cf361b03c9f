/**
 * The imports worker of the import benchmark, in a process of its own (its RSS is what the benchmark
 * reports): the imports database and the catalog, core and media subgraphs of the benchmark's stack, from the
 * environment.
 */
import { createDomainDatabase } from '@pm/db'
import { startWorker } from '@pm/jobs'
import { createLogger, gatewayUrl, signedPeers } from '@pm/service-kit'
import { createStorage, loadStorageConfig } from '@pm/storage'
import { jobs } from '../subgraphs/imports/src/jobs'

const env = process.env
const url = env.BENCH_IMPORTS_DB_URL!
const logger = createLogger({ service: 'bench-import-worker' }, 'warn')
const database = createDomainDatabase({
  domain: 'imports',
  url,
  pool: {
    size: 5,
    maxOverflow: 5,
    acquireTimeoutMs: 30_000,
    recycleMs: 3_600_000,
    idleTimeoutMs: 10_000,
    prePingIdleMs: 1_000,
  },
})
const peers = signedPeers(
  { catalog: env.BENCH_CATALOG_URL!, core: env.BENCH_CORE_URL!, media: env.BENCH_MEDIA_URL! },
  env.GATEWAY_SIGNING_SECRET!,
)
const worker = await startWorker({
  domain: 'imports',
  connectionString: url,
  tasks: jobs.tasks({
    domain: 'imports',
    database,
    storage: createStorage(loadStorageConfig(env)),
    peers,
    gatewayUrl: gatewayUrl(env),
    env,
    logger,
  }),
  logger,
  pollIntervalMs: 200,
})
process.stdout.write('import worker ready\n')
process.once('SIGTERM', async () => {
  await worker.stop()
  await database.destroy()
  process.exit(0)
})
