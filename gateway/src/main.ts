import cluster from 'node:cluster'
import { createLogger, onShutdownSignal, startTelemetry } from '@pm/service-kit'
import { createStorage } from '@pm/storage'
import { runPrimary } from './cluster'
import { GatewayConfigError, type GatewayEnvironment, loadGatewayEnvironment } from './environment'

// This process's environment, read here once into the gateway's settings; nothing below reads it.
const env = process.env
let environment: GatewayEnvironment
try {
  environment = loadGatewayEnvironment(env)
} catch (error) {
  if (!(error instanceof GatewayConfigError)) throw error
  // A configuration mistake: the message names the variable, a stack trace would only hide it.
  createLogger({ service: 'gateway' }, 'info').error(error.message)
  process.exit(1)
}
const logger = createLogger({ service: 'gateway' }, environment.logLevel)
const { storageConfig, ...settings } = environment
if (environment.workers > 1 && cluster.isPrimary) runPrimary(environment.workers, logger)
else {
  await startTelemetry('gateway', logger, env)
  // Loaded by the processes that serve only: a primary that forks workers never holds Apollo, the query
  // planner or the supergraph. (gateway.ts loads ./federation-internals first, before Apollo's modules.)
  const { startGateway } = await import('./gateway')
  const gateway = await startGateway({ ...settings, storage: createStorage(storageConfig), logger })
  onShutdownSignal(() => gateway.stop(), logger)
}
