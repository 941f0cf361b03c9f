import { createLogger, onShutdownSignal } from '@pm/service-kit'
import { GatewayConfigError, loadGatewayEnvironment } from './environment'
import { startGateway } from './gateway'

const logger = createLogger({ service: 'gateway' })
try {
  const environment = loadGatewayEnvironment()
  const gateway = await startGateway({ ...environment, logger })
  onShutdownSignal(() => gateway.stop(), logger)
} catch (error) {
  if (!(error instanceof GatewayConfigError)) throw error
  logger.error(error.message)
  process.exit(1)
}
