import cluster from 'node:cluster'
import type { Logger, Route } from '@pm/service-kit'
import {
  clusterWorkerMetrics,
  METRICS_CONTENT_TYPE,
  type MetricFamilyJson,
  serveClusterMetrics,
} from '@pm/telemetry'

/**
 * GATEWAY_WORKERS > 1: one gateway per worker on the same port (the primary hands out connections). The
 * primary forks, replaces a worker that dies, passes a stop signal on to all of them, and merges the
 * workers' metrics for whichever of them a scrape reaches.
 */
export function runPrimary(workers: number, logger: Logger) {
  serveClusterMetrics()
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

/**
 * `/metrics` of a cluster worker: the whole gateway's figures (every worker's requests, subgraph fetches,
 * cache figures and Node figures, merged by the primary), not just this worker's. When the primary cannot
 * collect them, 503: a partial answer would read as counters going backwards.
 */
export function clusterMetricsRoute(extra: () => MetricFamilyJson[], logger: Logger): Route {
  const scrape = clusterWorkerMetrics(extra)
  return async (_req, res) => {
    let text: string
    try {
      text = await scrape()
    } catch (error) {
      logger.warn('cluster metrics unavailable', { error: (error as Error).message })
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(`${(error as Error).message}\n`)
      return
    }
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE })
    res.end(text)
  }
}
