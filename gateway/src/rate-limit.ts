import type { IncomingMessage } from 'node:http'
import type { Logger } from '@pm/service-kit'
import type { Redis } from 'ioredis'

/**
 * Who a request counts against, when given to the gateway (tests): by default the authenticated caller
 * (user:<id>, key:<id>), and the client address (ip:<address>) for anonymous requests.
 */
export type CallerKey = (req: IncomingMessage) => string | Promise<string>

function normalizeAddress(address: string): string {
  const trimmed = address.trim()
  // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; one caller, one key.
  return trimmed.startsWith('::ffff:') && trimmed.includes('.') ? trimmed.slice(7) : trimmed
}

/**
 * The client's address: the socket's peer, or with trustProxy the last X-Forwarded-For entry (the one the
 * nearest proxy added; entries to its left are whatever the client sent, so they are never trusted).
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const header = req.headers['x-forwarded-for']
    const entries = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')
    const nearest = entries
      .map((entry) => entry.trim())
      .filter(Boolean)
      .at(-1)
    if (nearest) return normalizeAddress(nearest)
  }
  return normalizeAddress(req.socket.remoteAddress ?? 'unknown')
}

export interface RateDecision {
  allowed: boolean
  limit: number
  remaining: number
  /** Seconds until the current window ends (the Retry-After of a refusal). */
  resetSeconds: number
}

export interface RateLimiterOptions {
  perMinute: number
  logger: Logger
  /** Counters shared by every gateway; without it (or while it is down) they are kept in this process. */
  redis?: Redis
  keyPrefix?: string
  /** Callers tracked in process at most; the oldest is forgotten first. */
  maxCallers?: number
  /** How long a Redis round trip may take before the request is counted in process instead. */
  redisTimeoutMs?: number
}

const WINDOW_MS = 60_000

/**
 * A fixed one-minute window per caller: one counter per caller per window, INCRBY + PEXPIRE in one Redis
 * round trip, so the keys expire by themselves. Redis failing or slow never fails a request: that request
 * is counted in process, where the counters of the current window live in a bounded map.
 */
export class RateLimiter {
  readonly perMinute: number
  private readonly logger: Logger
  private readonly redis: Redis | undefined
  private readonly keyPrefix: string
  private readonly maxCallers: number
  private readonly redisTimeoutMs: number
  private local = new Map<string, number>()
  private localWindow = -1
  private lastWarning = 0

  constructor(options: RateLimiterOptions) {
    this.perMinute = options.perMinute
    this.logger = options.logger
    this.redis = options.redis
    this.keyPrefix = options.keyPrefix ?? 'pm:gateway:rate:'
    this.maxCallers = options.maxCallers ?? 100_000
    this.redisTimeoutMs = options.redisTimeoutMs ?? 250
  }

  /** Counts `weight` requests for the caller and says whether they fit in `limit` (default perMinute). */
  async hit(caller: string, weight = 1, limit = this.perMinute): Promise<RateDecision> {
    const now = Date.now()
    const window = Math.floor(now / WINDOW_MS)
    const resetSeconds = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000))
    const count =
      (await this.countInRedis(caller, window, weight)) ?? this.countLocally(caller, window, weight)
    return {
      allowed: count <= limit,
      limit,
      remaining: Math.max(0, limit - count),
      resetSeconds,
    }
  }

  private countLocally(caller: string, window: number, weight: number): number {
    if (window !== this.localWindow) {
      // A new minute: every counter of the last one is obsolete.
      this.local = new Map()
      this.localWindow = window
    }
    const count = (this.local.get(caller) ?? 0) + weight
    this.local.delete(caller)
    this.local.set(caller, count)
    if (this.local.size > this.maxCallers) this.local.delete(this.local.keys().next().value!)
    return count
  }

  private async countInRedis(caller: string, window: number, weight: number): Promise<number | undefined> {
    const redis = this.redis
    if (redis?.status !== 'ready') return undefined
    const key = `${this.keyPrefix}${caller}:${window}`
    let timer: NodeJS.Timeout | undefined
    try {
      const exec = redis
        .pipeline()
        .incrby(key, weight)
        // A little past the window, so gateways whose clocks differ slightly never read a vanished counter.
        .pexpire(key, WINDOW_MS + 5_000)
        .exec()
      // A late failure, after the timeout already counted this request in process, is no one's error.
      exec.catch(() => {})
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.redisTimeoutMs)
      })
      const results = await Promise.race([exec, timeout])
      if (results === 'timeout') {
        this.warn('rate limit: redis too slow, counted in process', { timeoutMs: this.redisTimeoutMs })
        return undefined
      }
      const [error, count] = results?.[0] ?? [new Error('no reply')]
      if (error) throw error
      return Number(count)
    } catch (error) {
      this.warn('rate limit: redis failed, counted in process', { error: (error as Error).message })
      return undefined
    } finally {
      clearTimeout(timer)
    }
  }

  /** At most one warning a minute: under load a failing Redis would otherwise log once per request. */
  private warn(message: string, fields: Record<string, unknown>) {
    const now = Date.now()
    if (now - this.lastWarning < WINDOW_MS) return
    this.lastWarning = now
    this.logger.warn(message, fields)
  }
}
