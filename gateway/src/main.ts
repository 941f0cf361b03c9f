// First: later loads of @apollo/federation-internals get plain exports (see the file).
import './federation-internals'
import cluster from 'node:cluster'
import { createLogger, onShutdownSignal, startTelemetry } from '@pm/service-kit'
import { GatewayConfigError, loadGatewayEnvironment } from './environment'
import { startGateway } from './gateway'

const logger = createLogger({ service: 'gateway' })
try {
  const environment = loadGatewayEnvironment()
  if (environment.workers > 1 && cluster.isPrimary) runPrimary(environment.workers)
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

/**
 * GATEWAY_WORKERS > 1: one gateway per worker on the same port (the primary hands out connections). The
 * primary only forks, replaces a worker that dies, and passes a stop signal on to all of them.
 */
function runPrimary(workers: number) {
  let stopping = false
  for (let i = 0; i < workers; i++) cluster.fork()
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
      return
    }
    logger.error('gateway worker died; starting another', { pid: worker.process.pid, code, signal })
    cluster.fork()
  })
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1)
    stopping = true
    logger.info('shutting down', { signal, workers })
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  logger.info('gateway primary started', { workers })
}
