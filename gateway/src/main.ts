import cluster from 'node:cluster'
import { createLogger, onShutdownSignal, startTelemetry } from '@pm/service-kit'
import { runPrimary } from './cluster'
import { GatewayConfigError, loadGatewayEnvironment } from './environment'

const logger = createLogger({ service: 'gateway' })
try {
  const environment = loadGatewayEnvironment()
  if (environment.workers > 1 && cluster.isPrimary) runPrimary(environment.workers, logger)
  else {
    await startTelemetry('gateway', logger)
    // Loaded by the processes that serve only: a primary that forks workers never holds Apollo, the query
    // planner or the supergraph. (gateway.ts loads ./federation-internals first, before Apollo's modules.)
    const { startGateway } = await import('./gateway')
    const gateway = await startGateway({ ...environment, logger })
    onShutdownSignal(() => gateway.stop(), logger)
  }
} catch (error) {
  if (!(error instanceof GatewayConfigError)) throw error
  logger.error(error.message)
  process.exit(1)
}
