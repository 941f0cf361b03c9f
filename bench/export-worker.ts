/**
 * The exports worker of the export benchmark, in a process of its own (its RSS is what the benchmark reports):
 * the exports database of the benchmark's stack and its gateway, from the environment.
 */
import { createDomainDatabase } from '@pm/db'
import { startWorker } from '@pm/jobs'
import { createLogger, signedPeers } from '@pm/service-kit'
import { createStorage, loadStorageConfig } from '@pm/storage'
import { jobs } from '../subgraphs/exports/src/jobs'

const env = process.env
const logger = createLogger({ service: 'bench-export-worker' }, 'warn')
const database = createDomainDatabase({
  domain: 'exports',
  url: env.BENCH_EXPORTS_DB_URL!,
  pool: {
    size: 5,
    maxOverflow: 5,
    acquireTimeoutMs: 30_000,
    recycleMs: 3_600_000,
    idleTimeoutMs: 10_000,
    prePingIdleMs: 1_000,
  },
})
const worker = await startWorker({
  domain: 'exports',
  connectionString: env.BENCH_EXPORTS_DB_URL!,
  tasks: jobs.tasks({
    domain: 'exports',
    database,
    storage: createStorage(loadStorageConfig(env)),
    peers: signedPeers({}, env.GATEWAY_SIGNING_SECRET!),
    gatewayUrl: env.GATEWAY_URL!,
    env,
    logger,
  }),
  logger,
  pollIntervalMs: 200,
})
process.stdout.write('export worker ready\n')
process.once('SIGTERM', async () => {
  await worker.stop()
  await database.destroy()
  process.exit(0)
})
