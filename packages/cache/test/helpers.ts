import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { type CacheLogger, TwoLevelCache, type TwoLevelCacheOptions } from '../src'

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const uniqueName = () => `test-${randomUUID()}`

/** Polls until `check` holds; fails the test after `ms` instead of hanging. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms = 5_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** Options as createRedis (service-kit) sets them, with a quick fixed back-off so reconnect tests stay fast. */
export function redisClient(url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: () => 50,
  })
  redis.on('error', () => {})
  return redis
}

export interface RecordingLogger extends CacheLogger {
  warns: string[]
  infos: string[]
}

export function recordingLogger(): RecordingLogger {
  const warns: string[] = []
  const infos: string[] = []
  return { warns, infos, warn: (message) => warns.push(message), info: (message) => infos.push(message) }
}

/** Caches and clients made by a test, closed after it. */
export class Fixture {
  private readonly caches: TwoLevelCache[] = []
  private readonly clients: Redis[] = []

  constructor(private readonly url?: string) {}

  client(url = this.url!): Redis {
    const redis = redisClient(url)
    this.clients.push(redis)
    return redis
  }

  /** A plain client for looking at what the caches wrote, connected. */
  async inspector(): Promise<Redis> {
    const redis = this.client()
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve))
    return redis
  }

  /** A cache on its own connection, as a separate process would have. */
  async cache(
    options: Partial<TwoLevelCacheOptions> & { name: string },
    url = this.url,
  ): Promise<TwoLevelCache> {
    const cache = new TwoLevelCache({ redis: url ? this.client(url) : undefined, ...options })
    this.caches.push(cache)
    await cache.ready(3_000)
    return cache
  }

  async close(): Promise<void> {
    await Promise.all(this.caches.map((cache) => cache.close()))
    for (const client of this.clients) client.disconnect()
  }
}
