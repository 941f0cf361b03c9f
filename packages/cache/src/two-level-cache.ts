import { createHash, randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { L1 } from './l1'

export interface CacheLogger {
  warn(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
}

export interface TwoLevelCacheOptions {
  /** Key prefix `pm:cache:<name>:`; processes with the same name share L2 and invalidations. */
  name: string
  /** An ioredis client for L2 commands (made by createRedis: no offline queue, bounded retries). Absent = L1 only. */
  redis?: Redis
  /** L1 bound in bytes (approx: 2 × (key.length + value.length)); default 64 MiB. 0 disables L1. */
  l1MaxBytes?: number
  /** L1 entry lifetime cap; default 60_000. An entry lives min(this, ttlSeconds of its set). */
  l1TtlMs?: number
  /** L1 lifetime while the invalidation subscription is down (others' bumps can't reach us); default 2_000. */
  degradedL1TtlMs?: number
  logger?: CacheLogger
}

export interface NamespaceStats {
  l1Hits: number
  l2Hits: number
  misses: number
  sets: number
  bumps: number
}

export interface CacheStats {
  name: string
  l1: { entries: number; bytes: number; maxBytes: number; evictions: number }
  /**
   * errors: L2 commands that failed; timeouts: those of them that waited COMMAND_TIMEOUT_MS for an answer (a
   * Redis that is known to be down is not waited for: its commands fail at once and count as errors only).
   */
  l2: { enabled: boolean; connected: boolean; subscribed: boolean; errors: number; timeouts: number }
  namespaces: Record<string, NamespaceStats>
}

export interface Lookup {
  generation: number
  values: (string | undefined)[]
}

interface Invalidation {
  namespace: string
  generation: number
  origin: string
}

/** Upper bound on one Redis round trip: a Redis that stops answering must not stall callers. */
const COMMAND_TIMEOUT_MS = 1_000
const SYNC_RETRY_MS = 1_000
const DEFAULT_READY_MS = 2_000
const MAX_KEY_LENGTH = 200

/** A Redis command that got no answer in time. */
class RedisTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisTimeout(`redis did not answer within ${ms} ms`)), ms)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** A pipeline's results, or the first command error thrown. */
function results(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new Error('pipeline discarded')
  return replies.map(([error, value]) => {
    if (error) throw error
    return value
  })
}

// L2 values carry their absolute deadline so an L2 hit fills L1 for no longer than the writer's TTL.
function encode(value: string, deadline: number): string {
  return `${deadline}:${value}`
}

function decode(raw: string | null): { value: string; deadline: number } | undefined {
  if (raw === null) return undefined
  const colon = raw.indexOf(':')
  const deadline = Number(raw.slice(0, colon))
  if (colon < 1 || !Number.isFinite(deadline)) return undefined
  return { value: raw.slice(colon + 1), deadline }
}

/**
 * L1 (in-process LRU) over L2 (Redis), invalidated per namespace by generations: a bump moves the
 * namespace to a new generation, so every key written under an older one is unreachable everywhere.
 */
/** The caches of this process by name: how a writer here reaches them when there is no Redis to bump. */
const inProcess = new Map<string, Set<TwoLevelCache>>()

/** The caches named `name` in this process (a gateway started by `pnpm start` next to the workers). */
export function caches(name: string): readonly TwoLevelCache[] {
  return [...(inProcess.get(name) ?? [])]
}

export class TwoLevelCache {
  private readonly name: string
  private readonly redis: Redis | undefined
  private readonly subscriber: Redis | undefined
  private readonly l1: L1
  private readonly l1TtlMs: number
  private readonly degradedL1TtlMs: number
  private readonly logger: CacheLogger | undefined
  private readonly prefix: string
  private readonly generationsKey: string
  private readonly channel: string
  private readonly origin = randomUUID()
  private readonly generations = new Map<string, number>()
  private readonly counters = new Map<string, NamespaceStats>()
  /** Namespaces bumped locally whose HINCRBY did not reach Redis: replayed on the next sync. */
  private readonly pendingBumps = new Set<string>()
  private readonly readyWaiters = new Set<() => void>()
  private errors = 0
  private timeouts = 0
  private subscribed = false
  private synced = false
  private syncing = false
  private syncAgain = false
  private down = false
  private closed = false
  private retryTimer: NodeJS.Timeout | undefined
  private readonly onRedisReady = () => this.sync()

  constructor(options: TwoLevelCacheOptions) {
    this.name = options.name
    this.redis = options.redis
    this.l1 = new L1(options.l1MaxBytes ?? 64 * 1024 * 1024)
    this.l1TtlMs = options.l1TtlMs ?? 60_000
    this.degradedL1TtlMs = options.degradedL1TtlMs ?? 2_000
    this.logger = options.logger
    this.prefix = `pm:cache:${this.name}:`
    this.generationsKey = `${this.prefix}generations`
    this.channel = `${this.prefix}invalidate`
    const named = inProcess.get(this.name) ?? new Set()
    named.add(this)
    inProcess.set(this.name, named)
    if (!this.redis) return

    this.redis.on('ready', this.onRedisReady)
    // Resubscribing ourselves (not ioredis) tells us exactly when the subscription is back, so we can re-sync.
    const subscriber = this.redis.duplicate({ autoResubscribe: false, lazyConnect: false })
    this.subscriber = subscriber
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(
        () => {
          if (this.closed) return
          this.subscribed = true
          this.sync()
        },
        (error: Error) => this.failed(error),
      )
    })
    subscriber.on('close', () => {
      if (this.subscribed) this.failed(new Error('invalidation subscription lost'))
      this.subscribed = false
      this.synced = false
    })
    subscriber.on('error', (error: Error) => this.markDown(error))
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.receive(message)
    })
  }

  /** Resolves once L2 is usable (generations loaded, subscribed) or after `ms`, whichever first; never rejects. */
  ready(ms = DEFAULT_READY_MS): Promise<void> {
    if (!this.redis || this.synced || this.closed) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.readyWaiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      timer.unref()
      this.readyWaiters.add(done)
    })
  }

  /** The namespace's current generation (sync, local state kept in step through Redis). */
  generation(namespace: string): number {
    return this.generations.get(namespace) ?? 0
  }

  /** L1 first, then ONE Redis round trip (MGET + HGET of the generation) for the L1 misses. Redis errors = misses. */
  async getMany(namespace: string, keys: readonly string[]): Promise<Lookup> {
    const counters = this.namespaceStats(namespace)
    const generation = this.generation(namespace)
    const values: (string | undefined)[] = new Array(keys.length).fill(undefined)
    const missing: number[] = []
    const now = Date.now()
    const maxAge = this.degraded ? this.degradedL1TtlMs : Number.POSITIVE_INFINITY
    keys.forEach((key, i) => {
      const value = this.l1.get(this.l1Key(namespace, generation, key), now, maxAge)
      if (value === undefined) missing.push(i)
      else values[i] = value
    })
    if (missing.length === 0 || !this.l2Available()) {
      counters.l1Hits += keys.length - missing.length
      counters.misses += missing.length
      return { generation, values }
    }

    const redis = this.redis!
    let replies: unknown[]
    try {
      const missingKeys = missing.map((i) => this.redisKey(namespace, generation, keys[i]!))
      // The generation read after the values: any bump acknowledged before this call shows, message or not.
      replies = results(
        await withTimeout(
          redis.pipeline().mget(missingKeys).hget(this.generationsKey, namespace).exec(),
          COMMAND_TIMEOUT_MS,
        ),
      )
    } catch (error) {
      this.failed(error)
      counters.l1Hits += keys.length - missing.length
      counters.misses += missing.length
      return { generation, values }
    }
    this.succeeded()

    const remote = Number(replies[1] ?? 0)
    if (remote > generation) {
      // A bump we have not heard of yet (its message is still on the way): all of it, L1 hits included, is stale.
      this.advance(namespace, remote)
      counters.misses += keys.length
      return { generation: this.generation(namespace), values: new Array(keys.length).fill(undefined) }
    }
    const raws = replies[0] as (string | null)[]
    const stillCurrent = this.generation(namespace) === generation
    const fillExpiry = this.l1ExpiryCap(now)
    let l2Hits = 0
    missing.forEach((i, j) => {
      const decoded = decode(raws[j] ?? null)
      if (!decoded || decoded.deadline <= now) return
      values[i] = decoded.value
      l2Hits++
      if (stillCurrent) {
        const key = this.l1Key(namespace, generation, keys[i]!)
        this.l1.set(key, namespace, decoded.value, now, Math.min(fillExpiry, decoded.deadline))
      }
    })
    counters.l1Hits += keys.length - missing.length
    counters.l2Hits += l2Hits
    counters.misses += missing.length - l2Hits
    return { generation, values }
  }

  /**
   * Adopts every newer generation Redis holds (one HGETALL). Awaited before an operation's reads, it makes
   * L1 hits as fresh as Redis: any bump acknowledged before the call is seen even if its pub/sub message is
   * still on the way (under load Redis may write it out after the publisher's acknowledgement). Without
   * Redis, or while it is down, the local generations stand.
   */
  async syncGenerations(): Promise<void> {
    if (!this.l2Available()) return
    let remote: Record<string, string>
    try {
      remote = await withTimeout(this.redis!.hgetall(this.generationsKey), COMMAND_TIMEOUT_MS)
    } catch (error) {
      this.failed(error)
      return
    }
    this.succeeded()
    for (const [namespace, value] of Object.entries(remote)) {
      const generation = Number(value)
      if (generation > this.generation(namespace)) this.advance(namespace, generation)
    }
  }

  /** Stores under the generation the read saw, so a bump in between leaves these values unreachable. */
  async setMany(
    namespace: string,
    generation: number,
    entries: readonly { key: string; value: string }[],
    ttlSeconds: number,
  ): Promise<void> {
    // Bumped since the read: the values belong to a dead generation, storing them would only waste memory.
    if (entries.length === 0 || !(ttlSeconds > 0) || generation < this.generation(namespace)) return
    this.namespaceStats(namespace).sets += entries.length
    const ttlMs = Math.max(1, Math.round(ttlSeconds * 1000))
    const now = Date.now()
    const deadline = now + ttlMs
    const fillL1 = () => {
      if (generation !== this.generation(namespace)) return
      const expiresAt = Math.min(this.l1ExpiryCap(now), deadline)
      for (const { key, value } of entries) {
        this.l1.set(this.l1Key(namespace, generation, key), namespace, value, now, expiresAt)
      }
    }
    if (!this.l2Available()) return fillL1()
    const pipeline = this.redis!.pipeline()
    for (const { key, value } of entries) {
      pipeline.set(this.redisKey(namespace, generation, key), encode(value, deadline), 'PX', ttlMs)
    }
    // Read after the SETs: a bump acknowledged before them shows here, so L1 never keeps what it made dead.
    pipeline.hget(this.generationsKey, namespace)
    let remote: number
    try {
      remote = Number(results(await withTimeout(pipeline.exec(), COMMAND_TIMEOUT_MS)).at(-1) ?? 0)
    } catch (error) {
      this.failed(error)
      return fillL1()
    }
    this.succeeded()
    if (remote > generation) this.advance(namespace, remote)
    else fillL1()
  }

  /** Invalidates whole namespaces everywhere; resolves once Redis acknowledged (or failed: replayed later). */
  async bump(namespaces: readonly string[]): Promise<void> {
    const unique = [...new Set(namespaces)]
    if (unique.length === 0) return
    for (const namespace of unique) {
      this.generations.set(namespace, this.generation(namespace) + 1)
      this.l1.dropNamespace(namespace)
      this.namespaceStats(namespace).bumps++
    }
    if (!this.redis || this.closed) return
    if (!this.l2Available()) {
      for (const namespace of unique) this.pendingBumps.add(namespace)
      return
    }
    try {
      await this.publishBumps(unique)
    } catch (error) {
      for (const namespace of unique) this.pendingBumps.add(namespace)
      this.failed(error)
    }
  }

  /** Bumps not yet acknowledged by Redis (replayed when it is back, if this process still runs then). */
  get unsentBumps(): number {
    return this.pendingBumps.size
  }

  /** Simple key/value: getMany/setMany of one key at the namespace's current generation. */
  async get(namespace: string, key: string): Promise<string | undefined> {
    return (await this.getMany(namespace, [key])).values[0]
  }

  async set(namespace: string, key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.setMany(namespace, this.generation(namespace), [{ key, value }], ttlSeconds)
  }

  async delete(namespace: string, key: string): Promise<void> {
    const generation = this.generation(namespace)
    this.l1.delete(this.l1Key(namespace, generation, key))
    if (!this.l2Available()) return
    try {
      await withTimeout(this.redis!.del(this.redisKey(namespace, generation, key)), COMMAND_TIMEOUT_MS)
    } catch (error) {
      this.failed(error)
    }
  }

  stats(): CacheStats {
    const namespaces: Record<string, NamespaceStats> = {}
    for (const [namespace, counters] of this.counters) namespaces[namespace] = { ...counters }
    return {
      name: this.name,
      l1: {
        entries: this.l1.size,
        bytes: this.l1.bytes,
        maxBytes: this.l1.maxBytes,
        evictions: this.l1.evictions,
      },
      l2: {
        enabled: this.redis !== undefined,
        connected: !this.closed && this.redis?.status === 'ready',
        subscribed: this.subscribed,
        errors: this.errors,
        timeouts: this.timeouts,
      },
      namespaces,
    }
  }

  /** Unsubscribes and closes the subscriber connection it made; the given `redis` stays the caller's. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    inProcess.get(this.name)?.delete(this)
    this.synced = false
    this.subscribed = false
    clearTimeout(this.retryTimer)
    for (const done of [...this.readyWaiters]) done()
    this.redis?.off('ready', this.onRedisReady)
    const subscriber = this.subscriber
    if (!subscriber) return
    subscriber.removeAllListeners('ready')
    subscriber.removeAllListeners('message')
    try {
      if (subscriber.status === 'ready') {
        await withTimeout(subscriber.unsubscribe(this.channel), COMMAND_TIMEOUT_MS)
        await withTimeout(subscriber.quit(), COMMAND_TIMEOUT_MS)
      }
    } catch {
      // Closing anyway: disconnect() below drops the socket and stops reconnecting.
    }
    subscriber.disconnect()
  }

  private get degraded(): boolean {
    return this.redis !== undefined && !this.synced
  }

  private l1ExpiryCap(now: number): number {
    return now + (this.degraded ? Math.min(this.l1TtlMs, this.degradedL1TtlMs) : this.l1TtlMs)
  }

  private l2Available(): boolean {
    if (!this.redis || this.closed) return false
    if (this.redis.status === 'ready') return true
    // Not even sent: counted like a failed command so the outage shows in the error rate.
    this.failed(new Error(`redis ${this.redis.status}`))
    return false
  }

  private l1Key(namespace: string, generation: number, key: string): string {
    return `${namespace}\u0000${generation}\u0000${key}`
  }

  private redisKey(namespace: string, generation: number, key: string): string {
    const part = key.length > MAX_KEY_LENGTH ? createHash('sha1').update(key).digest('hex') : key
    return `${this.prefix}${namespace}:${generation}:${part}`
  }

  private namespaceStats(namespace: string): NamespaceStats {
    let counters = this.counters.get(namespace)
    if (!counters) {
      counters = { l1Hits: 0, l2Hits: 0, misses: 0, sets: 0, bumps: 0 }
      this.counters.set(namespace, counters)
    }
    return counters
  }

  /** Moves a namespace to a newer generation learnt from elsewhere; its L1 entries are now unreachable. */
  private advance(namespace: string, generation: number): void {
    if (generation > this.generation(namespace)) this.generations.set(namespace, generation)
    this.l1.dropNamespace(namespace)
  }

  private receive(message: string): void {
    let invalidation: Invalidation
    try {
      invalidation = JSON.parse(message) as Invalidation
    } catch {
      return
    }
    if (invalidation.origin === this.origin || typeof invalidation.namespace !== 'string') return
    this.advance(invalidation.namespace, Number(invalidation.generation) || 0)
  }

  /** HINCRBY each namespace, then PUBLISH the new generations; throws when the HINCRBYs did not land. */
  private async publishBumps(namespaces: readonly string[]): Promise<void> {
    const redis = this.redis!
    const increments = redis.pipeline()
    for (const namespace of namespaces) increments.hincrby(this.generationsKey, namespace, 1)
    const remotes = results(await withTimeout(increments.exec(), COMMAND_TIMEOUT_MS)) as number[]
    const publishes = redis.pipeline()
    namespaces.forEach((namespace, i) => {
      const generation = Math.max(this.generation(namespace), remotes[i]!)
      this.generations.set(namespace, generation)
      const invalidation: Invalidation = { namespace, generation, origin: this.origin }
      publishes.publish(this.channel, JSON.stringify(invalidation))
    })
    try {
      results(await withTimeout(publishes.exec(), COMMAND_TIMEOUT_MS))
    } catch (error) {
      // The generation did move in Redis: others see it on their next L2 read or re-sync, no replay needed.
      this.failed(error)
    }
  }

  /**
   * After (re)subscribing: replay bumps Redis missed, adopt newer generations, push ours where Redis is
   * behind (it restarted empty), and clear L1, since invalidations may have been missed meanwhile.
   */
  private sync(): void {
    if (this.closed || !this.subscribed || this.redis?.status !== 'ready') return
    if (this.syncing) {
      this.syncAgain = true
      return
    }
    this.syncing = true
    clearTimeout(this.retryTimer)
    this.resync().then(
      () => {
        this.syncing = false
        if (this.syncAgain) {
          this.syncAgain = false
          this.sync()
        }
      },
      (error: unknown) => {
        this.syncing = false
        this.syncAgain = false
        this.failed(error)
        if (this.closed) return
        this.retryTimer = setTimeout(() => this.sync(), SYNC_RETRY_MS)
        this.retryTimer.unref()
      },
    )
  }

  private async resync(): Promise<void> {
    const pending = [...this.pendingBumps]
    this.pendingBumps.clear()
    try {
      if (pending.length > 0) await this.publishBumps(pending)
    } catch (error) {
      for (const namespace of pending) this.pendingBumps.add(namespace)
      throw error
    }
    const redis = this.redis!
    const remote = (await withTimeout(redis.hgetall(this.generationsKey), COMMAND_TIMEOUT_MS)) as Record<
      string,
      string
    >
    for (const [namespace, value] of Object.entries(remote)) {
      const generation = Number(value)
      if (generation > this.generation(namespace)) this.generations.set(namespace, generation)
    }
    const behind = [...this.generations].filter(
      ([namespace, local]) => local > Number(remote[namespace] ?? 0),
    )
    if (behind.length > 0) {
      // Raising by the difference may overshoot when two processes do it at once: an extra invalidation, harmless.
      const raises = redis.pipeline()
      for (const [namespace, local] of behind) {
        raises.hincrby(this.generationsKey, namespace, local - Number(remote[namespace] ?? 0))
      }
      const raised = results(await withTimeout(raises.exec(), COMMAND_TIMEOUT_MS)) as number[]
      behind.forEach(([namespace], i) => {
        this.generations.set(namespace, Math.max(this.generation(namespace), raised[i]!))
      })
    }
    if (this.closed || !this.subscribed) return
    this.l1.clear()
    this.synced = true
    this.succeeded()
    for (const done of [...this.readyWaiters]) done()
  }

  /** Ends the outage (for logging) once a command worked and the invalidations are flowing again. */
  private succeeded(): void {
    if (!this.down || !this.synced) return
    this.down = false
    this.logger?.info('cache: redis available again', { cache: this.name })
  }

  private failed(error: unknown): void {
    this.errors++
    if (error instanceof RedisTimeout) this.timeouts++
    this.markDown(error)
  }

  private markDown(error: unknown): void {
    if (this.down || this.closed) return
    this.down = true
    this.logger?.warn('cache: redis unavailable, serving from L1 or missing', {
      cache: this.name,
      error: error instanceof Error ? error.message : String(error),
    })
  }
}
