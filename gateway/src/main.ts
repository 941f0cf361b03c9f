// First: later loads of @apollo/federation-internals get plain exports (see the file).
import './federation-internals'
import cluster from 'node:cluster'
import { createLogger, onShutdownSignal, startTelemetry } from '@pm/service-kit'
import { runPrimary } from './cluster'
import { GatewayConfigError, loadGatewayEnvironment } from './environment'
import { startGateway } from './gateway'

const logger = createLogger({ service: 'gateway' })
try {
  const environment = loadGatewayEnvironment()
  if (environment.workers > 1 && cluster.isPrimary) runPrimary(environment.workers, logger)
  else {
    await startTelemetry('gateway', logger)
    const gateway = await startGateway({ ...environment, logger })
    onShutdownSignal(() => gateway.stop(), logger)
  }
} catch (error) {
  if (!(error instanceof GatewayConfigError)) throw error
  logger.error(error.message)
  process.exit(1)
}
