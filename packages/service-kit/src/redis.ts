import { Redis } from 'ioredis'
import type { Logger } from './logger'

/**
 * The one way to open Redis: bounded reconnect back-off, no offline queue (a command while Redis is
 * down fails at once, so callers fall back instead of waiting), errors logged once per outage.
 */
export function createRedis(url: string, logger: Logger, name = 'pm'): Redis {
  let down = false
  const redis = new Redis(url, {
    connectionName: name,
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  })
  redis.on('error', (error: Error) => {
    if (!down) logger.warn('redis unavailable; falling back', { error: error.message })
    down = true
  })
  redis.on('ready', () => {
    if (down) logger.info('redis available again')
    down = false
  })
  return redis
}
