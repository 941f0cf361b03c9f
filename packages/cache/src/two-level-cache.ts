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
  /** Tags a namespace keeps in Redis before it starts afresh with a whole bump (default 500,000). */
  tagLimit?: number
  logger?: CacheLogger
}

export interface NamespaceStats {
  l1Hits: number
  l2Hits: number
  misses: number
  sets: number
  bumps: number
  /** Tag invalidations (bumpTags calls) issued by this process. */
  tagBumps: number
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
  /** Per key: the generations of its tags the lookup saw, to hand back to setMany with what is fetched. */
  stamps: string[]
}

/** One value to store, with the tags it depends on and the stamp its lookup returned. */
export interface Entry {
  key: string
  value: string
  tags?: readonly string[]
  stamp?: string
}

interface Invalidation {
  namespace: string
  generation: number
  origin: string
}

interface TagInvalidation {
  namespace: string
  tags: string[]
  generation: number
  epoch: number
  origin: string
}

/** Upper bound on one Redis round trip: a Redis that stops answering must not stall callers. */
const COMMAND_TIMEOUT_MS = 1_000
const SYNC_RETRY_MS = 1_000
const DEFAULT_READY_MS = 2_000
const MAX_KEY_LENGTH = 200
/** Tags a namespace keeps in Redis before it starts afresh (a whole-namespace bump); TwoLevelCacheOptions.tagLimit. */
const DEFAULT_TAG_LIMIT = 500_000
/** More tags than this in one invalidation: the whole namespace goes instead (one message, one counter). */
export const MAX_TAGS_PER_BUMP = 1_000
/** Local tag generations are forgotten this long after learnt (beyond L1's lifetime), once there are many. */
const TAG_MEMORY_ENTRIES = 10_000
/** A stamp no entry has: a key whose tag is being invalidated right now is neither served from L1 nor kept there. */
const UNSETTLED = '?'

/**
 * One tag invalidation, atomic in Redis: the clock gives a generation no tag ever had, every tag gets it in the
 * namespace's hash of tags (no lifetime, so an eviction policy cannot drop one and revive what it made stale),
 * and the namespace's tag epoch counts the invalidation (syncGenerations reads it to notice one whose message it
 * missed). A hash past the limit is dropped and the namespace bumped whole instead: its values all become
 * unreachable, so the tags can start again from nothing. Answers {generation, epoch}, or {0, new namespace
 * generation} after such a reset.
 * KEYS: clock, tag epochs, the namespace's tags, generations. ARGV: namespace, limit, tags…
 */
const BUMP_TAGS_SCRIPT = `
local generation = redis.call('INCR', KEYS[1])
if redis.call('HLEN', KEYS[3]) + #ARGV - 2 > tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[3])
  return {0, redis.call('HINCRBY', KEYS[4], ARGV[1], 1)}
end
for i = 3, #ARGV do redis.call('HSET', KEYS[3], ARGV[i], generation) end
return {generation, redis.call('HINCRBY', KEYS[2], ARGV[1], 1)}
`

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

// L2 values carry their absolute deadline, so an L2 hit fills L1 for no longer than the writer's TTL, and the
// stamp (tag generations, digits and commas) they were stored under: `deadline:stamp|value`.
function encode(value: string, deadline: number, stamp: string): string {
  return `${deadline}:${stamp}|${value}`
}

function decode(raw: string | null): { value: string; deadline: number; stamp: string } | undefined {
  if (raw === null) return undefined
  const colon = raw.indexOf(':')
  const bar = raw.indexOf('|', colon + 1)
  const deadline = Number(raw.slice(0, colon))
  if (colon < 1 || bar < 0 || !Number.isFinite(deadline)) return undefined
  return { value: raw.slice(bar + 1), deadline, stamp: raw.slice(colon + 1, bar) }
}

/** The caches of this process by name: how a writer here reaches them when there is no Redis to bump. */
const inProcess = new Map<string, Set<TwoLevelCache>>()

/** The caches named `name` in this process (a gateway started by `pnpm start` next to the workers). */
export function caches(name: string): readonly TwoLevelCache[] {
  return [...(inProcess.get(name) ?? [])]
}

/**
 * L1 (in-process LRU) over L2 (Redis), invalidated two ways:
 * - per namespace, by generations: a bump moves the namespace to a new generation, so every key written under
 *   an older one is unreachable everywhere;
 * - per tag: a key may depend on tags (say `Product:<id>`, or `*` for "any change"); bumpTags gives each tag
 *   a new generation from a clock in Redis, and a value is served only under the tag generations it was stored
 *   under (its stamp). Other keys of the namespace stay.
 */
export class TwoLevelCache {
  private readonly name: string
  private readonly redis: Redis | undefined
  private readonly subscriber: Redis | undefined
  private readonly l1: L1
  private readonly l1TtlMs: number
  private readonly degradedL1TtlMs: number
  private readonly tagLimit: number
  private readonly logger: CacheLogger | undefined
  private readonly prefix: string
  private readonly generationsKey: string
  private readonly clockKey: string
  private readonly epochsKey: string
  private readonly channel: string
  private readonly origin = randomUUID()
  private readonly generations = new Map<string, number>()
  /** Per `namespace\0tag`: the newest generation known here, and when it was learnt. */
  private readonly tagGenerations = new Map<string, { generation: number; learnt: number }>()
  /** Per namespace: how many tag invalidations this process knows of (Redis counts them all). */
  private readonly tagEpochs = new Map<string, number>()
  /** Tags whose invalidation is on its way to Redis (by `namespace\0tag`, with a count). */
  private readonly unsettledTags = new Map<string, number>()
  /** Without Redis: orders this process's tag invalidations. */
  private localClock = 0
  private lastTagPrune = 0
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
    this.tagLimit = options.tagLimit ?? DEFAULT_TAG_LIMIT
    this.logger = options.logger
    this.prefix = `pm:cache:${this.name}:`
    this.generationsKey = `${this.prefix}generations`
    this.clockKey = `${this.prefix}tag-clock`
    this.epochsKey = `${this.prefix}tag-epochs`
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

  /**
   * L1 first, then ONE Redis round trip (MGET of the values, HGET of the generation, MGET of the tags' generations)
   * for the L1 misses. Redis errors = misses. `tags[i]`: the tags key i depends on (none by default).
   */
  async getMany(
    namespace: string,
    keys: readonly string[],
    tags?: readonly (readonly string[] | undefined)[],
  ): Promise<Lookup> {
    const counters = this.namespaceStats(namespace)
    const generation = this.generation(namespace)
    const values: (string | undefined)[] = new Array(keys.length).fill(undefined)
    const stamps: string[] = new Array(keys.length).fill('')
    const missing: number[] = []
    const now = Date.now()
    const maxAge = this.degraded ? this.degradedL1TtlMs : Number.POSITIVE_INFINITY
    keys.forEach((key, i) => {
      const stamp = this.localStamp(namespace, tags?.[i])
      stamps[i] = stamp
      const value =
        stamp === UNSETTLED
          ? undefined
          : this.l1.get(this.l1Key(namespace, generation, key), now, maxAge, stamp)
      if (value === undefined) missing.push(i)
      else values[i] = value
    })
    if (missing.length === 0 || !this.l2Available()) {
      counters.l1Hits += keys.length - missing.length
      counters.misses += missing.length
      return { generation, values, stamps }
    }

    const redis = this.redis!
    const tagList = [...new Set(missing.flatMap((i) => tags?.[i] ?? []))]
    let replies: unknown[]
    try {
      const missingKeys = missing.map((i) => this.redisKey(namespace, generation, keys[i]!))
      // The generations read after the values: any bump acknowledged before this call shows, message or not.
      const pipeline = redis.pipeline().mget(missingKeys).hget(this.generationsKey, namespace)
      if (tagList.length > 0) pipeline.hmget(this.tagsKey(namespace), ...tagList)
      replies = results(await withTimeout(pipeline.exec(), COMMAND_TIMEOUT_MS))
    } catch (error) {
      this.failed(error)
      counters.l1Hits += keys.length - missing.length
      counters.misses += missing.length
      return { generation, values, stamps }
    }
    this.succeeded()

    const remote = Number(replies[1] ?? 0)
    if (remote > generation) {
      // A bump we have not heard of yet (its message is still on the way): all of it, L1 hits included, is stale.
      this.advance(namespace, remote)
      counters.misses += keys.length
      return {
        generation: this.generation(namespace),
        values: new Array(keys.length).fill(undefined),
        // Tagged keys are not kept this once: which tag generations their fetch will match is unknown.
        stamps: keys.map((_, i) => (tags?.[i]?.length ? UNSETTLED : '')),
      }
    }
    const remoteTags = new Map<string, number>()
    if (tagList.length > 0) {
      const generations = replies[2] as (string | null)[]
      tagList.forEach((tag, j) => {
        const tagGeneration = Number(generations[j] ?? 0)
        remoteTags.set(tag, tagGeneration)
        this.learnTag(namespace, tag, tagGeneration, now)
      })
    }
    const raws = replies[0] as (string | null)[]
    const stillCurrent = this.generation(namespace) === generation
    const fillExpiry = this.l1ExpiryCap(now)
    let l2Hits = 0
    missing.forEach((i, j) => {
      // What Redis holds is valid under Redis's tag generations, whatever this process has heard so far.
      const stamp = (tags?.[i] ?? []).map((tag) => remoteTags.get(tag) ?? 0).join(',')
      stamps[i] = stamp
      const decoded = decode(raws[j] ?? null)
      if (!decoded || decoded.deadline <= now || decoded.stamp !== stamp) return
      values[i] = decoded.value
      l2Hits++
      if (stillCurrent && this.localStamp(namespace, tags?.[i]) === stamp) {
        const key = this.l1Key(namespace, generation, keys[i]!)
        this.l1.set(key, namespace, decoded.value, now, Math.min(fillExpiry, decoded.deadline), stamp)
      }
    })
    counters.l1Hits += keys.length - missing.length
    counters.l2Hits += l2Hits
    counters.misses += missing.length - l2Hits
    return { generation, values, stamps }
  }

  /**
   * Adopts every newer generation Redis holds (one HGETALL each of the generations and the tag epochs). Awaited
   * before an operation's reads, it makes L1 hits as fresh as Redis: any bump acknowledged before the call is
   * seen even if its pub/sub message is still on the way (under load Redis may write it out after the
   * publisher's acknowledgement); a tag invalidation not heard of yet drops the namespace's L1 (which tags it
   * touched is in its message only). Without Redis, or while it is down, the local generations stand.
   */
  async syncGenerations(): Promise<void> {
    if (!this.l2Available()) return
    let remote: Record<string, string>
    let epochs: Record<string, string>
    try {
      const replies = results(
        await withTimeout(
          this.redis!.pipeline().hgetall(this.generationsKey).hgetall(this.epochsKey).exec(),
          COMMAND_TIMEOUT_MS,
        ),
      )
      remote = replies[0] as Record<string, string>
      epochs = replies[1] as Record<string, string>
    } catch (error) {
      this.failed(error)
      return
    }
    this.succeeded()
    for (const [namespace, value] of Object.entries(remote)) {
      const generation = Number(value)
      if (generation > this.generation(namespace)) this.advance(namespace, generation)
    }
    for (const [namespace, value] of Object.entries(epochs)) {
      const epoch = Number(value)
      if (epoch > (this.tagEpochs.get(namespace) ?? 0)) {
        this.tagEpochs.set(namespace, epoch)
        this.l1.dropNamespace(namespace)
      }
    }
  }

  /**
   * Stores under the generation (and each entry's stamp) the read saw, so a bump in between leaves these values
   * unreachable.
   */
  async setMany(
    namespace: string,
    generation: number,
    entries: readonly Entry[],
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
      for (const { key, value, tags, stamp = '' } of entries) {
        // A tag invalidated since the read (or being invalidated): the value may be stale, L1 does not keep it.
        if (stamp === UNSETTLED || this.localStamp(namespace, tags) !== stamp) continue
        this.l1.set(this.l1Key(namespace, generation, key), namespace, value, now, expiresAt, stamp)
      }
    }
    if (!this.l2Available()) return fillL1()
    const pipeline = this.redis!.pipeline()
    for (const { key, value, stamp = '' } of entries) {
      if (stamp === UNSETTLED) continue
      pipeline.set(this.redisKey(namespace, generation, key), encode(value, deadline, stamp), 'PX', ttlMs)
    }
    // Read after the SETs: a bump acknowledged before them shows here, so L1 never keeps what it made dead.
    pipeline.hget(this.generationsKey, namespace)
    const tagList = [...new Set(entries.flatMap((e) => e.tags ?? []))]
    if (tagList.length > 0) pipeline.hmget(this.tagsKey(namespace), ...tagList)
    let replies: unknown[]
    try {
      replies = results(await withTimeout(pipeline.exec(), COMMAND_TIMEOUT_MS))
    } catch (error) {
      this.failed(error)
      return fillL1()
    }
    this.succeeded()
    if (tagList.length > 0) {
      const generations = replies.at(-1) as (string | null)[]
      tagList.forEach((tag, j) => {
        this.learnTag(namespace, tag, Number(generations[j] ?? 0), now)
      })
    }
    const remote = Number(replies.at(tagList.length > 0 ? -2 : -1) ?? 0)
    if (remote > generation) this.advance(namespace, remote)
    else fillL1()
  }

  /**
   * Invalidates the values depending on any of these tags of the namespace, everywhere; the namespace's other
   * values stay. Resolves once Redis acknowledged. When Redis cannot be told (or there are more than
   * MAX_TAGS_PER_BUMP tags), the whole namespace is bumped instead, and replayed when Redis is back.
   */
  async bumpTags(namespace: string, tags: readonly string[]): Promise<void> {
    const unique = [...new Set(tags)]
    if (unique.length === 0) return
    if (unique.length > MAX_TAGS_PER_BUMP) return this.bump([namespace])
    this.namespaceStats(namespace).tagBumps++
    const now = Date.now()
    if (!this.redis || this.closed) {
      this.localClock++
      for (const tag of unique) this.learnTag(namespace, tag, this.localClock, now)
      return
    }
    if (!this.l2Available()) return this.bump([namespace])
    const ids = unique.map((tag) => this.tagId(namespace, tag))
    for (const id of ids) this.unsettledTags.set(id, (this.unsettledTags.get(id) ?? 0) + 1)
    try {
      const redis = this.redis
      const keys = [this.clockKey, this.epochsKey, this.tagsKey(namespace), this.generationsKey]
      const [generation, epoch] = (await withTimeout(
        redis.eval(BUMP_TAGS_SCRIPT, keys.length, ...keys, namespace, this.tagLimit, ...unique),
        COMMAND_TIMEOUT_MS,
      )) as [number, number]
      if (generation === 0) {
        // The namespace started afresh (its tags past the limit): a whole bump, told as bump() tells it.
        this.advance(namespace, epoch)
        this.namespaceStats(namespace).bumps++
        const invalidation: Invalidation = { namespace, generation: epoch, origin: this.origin }
        await withTimeout(
          redis.publish(this.channel, JSON.stringify(invalidation)),
          COMMAND_TIMEOUT_MS,
        ).catch((error: unknown) => this.failed(error))
        return
      }
      for (const tag of unique) this.learnTag(namespace, tag, generation, now)
      this.tagEpochs.set(namespace, Math.max(this.tagEpochs.get(namespace) ?? 0, epoch))
      const invalidation: TagInvalidation = {
        namespace,
        tags: unique,
        generation,
        epoch,
        origin: this.origin,
      }
      try {
        await withTimeout(redis.publish(this.channel, JSON.stringify(invalidation)), COMMAND_TIMEOUT_MS)
      } catch (error) {
        // The tags did move in Redis: others see it on their next L2 read, or drop L1 on their next sync.
        this.failed(error)
      }
    } catch (error) {
      this.failed(error)
      await this.bump([namespace])
    } finally {
      for (const id of ids) {
        const left = (this.unsettledTags.get(id) ?? 1) - 1
        if (left > 0) this.unsettledTags.set(id, left)
        else this.unsettledTags.delete(id)
      }
    }
  }

  /** Invalidates whole namespaces everywhere; resolves once Redis acknowledged (or failed: replayed later). */
  async bump(namespaces: readonly string[]): Promise<void> {
    const unique = [...new Set(namespaces)]
    if (unique.length === 0) return
    for (const namespace of unique) {
      this.generations.set(namespace, this.generation(namespace) + 1)
      this.l1.dropNamespace(namespace)
      this.forgetTags(namespace)
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

  private tagId(namespace: string, tag: string): string {
    return `${namespace}\u0000${tag}`
  }

  /** The namespace's tags and their generations, one hash (fields never expire: see BUMP_TAGS_SCRIPT). */
  private tagsKey(namespace: string): string {
    return `${this.prefix}tags:${namespace}`
  }

  /** The generations of `tags` known here, joined (`''` without tags); UNSETTLED while one is being invalidated. */
  private localStamp(namespace: string, tags: readonly string[] | undefined): string {
    if (!tags || tags.length === 0) return ''
    let stamp = ''
    for (let i = 0; i < tags.length; i++) {
      const id = this.tagId(namespace, tags[i]!)
      if (this.unsettledTags.has(id)) return UNSETTLED
      stamp += `${i > 0 ? ',' : ''}${this.tagGenerations.get(id)?.generation ?? 0}`
    }
    return stamp
  }

  /**
   * Keeps the newest generation heard of for a tag. Generations come from one clock, so newer is larger. Once
   * many are known, those learnt more than twice L1's lifetime ago are forgotten: every L1 entry stored under
   * an older generation has expired by then, and an entry stored under the forgotten one merely misses.
   */
  private learnTag(namespace: string, tag: string, generation: number, now: number): void {
    const id = this.tagId(namespace, tag)
    const known = this.tagGenerations.get(id)
    if (known && known.generation >= generation) return
    this.tagGenerations.set(id, { generation, learnt: now })
    if (this.tagGenerations.size <= TAG_MEMORY_ENTRIES || now - this.lastTagPrune < this.l1TtlMs) return
    this.lastTagPrune = now
    const before = now - 2 * this.l1TtlMs
    for (const [key, value] of this.tagGenerations) {
      if (value.learnt < before && !this.unsettledTags.has(key)) this.tagGenerations.delete(key)
    }
  }

  private namespaceStats(namespace: string): NamespaceStats {
    let counters = this.counters.get(namespace)
    if (!counters) {
      counters = { l1Hits: 0, l2Hits: 0, misses: 0, sets: 0, bumps: 0, tagBumps: 0 }
      this.counters.set(namespace, counters)
    }
    return counters
  }

  /** Moves a namespace to a newer generation learnt from elsewhere; its L1 entries are now unreachable. */
  private advance(namespace: string, generation: number): void {
    if (generation > this.generation(namespace)) this.generations.set(namespace, generation)
    this.l1.dropNamespace(namespace)
    this.forgetTags(namespace)
  }

  /**
   * After the namespace's generation moved: what was stored under its tags is unreachable anyway, and Redis may
   * have started its tags afresh, so the ones known here go (learnt again from Redis's answers).
   */
  private forgetTags(namespace: string): void {
    const prefix = `${namespace}\u0000`
    for (const id of this.tagGenerations.keys()) if (id.startsWith(prefix)) this.tagGenerations.delete(id)
  }

  private receive(message: string): void {
    let invalidation: Invalidation | TagInvalidation
    try {
      invalidation = JSON.parse(message) as Invalidation | TagInvalidation
    } catch {
      return
    }
    if (invalidation.origin === this.origin || typeof invalidation.namespace !== 'string') return
    if ('tags' in invalidation && Array.isArray(invalidation.tags)) {
      const { namespace, tags } = invalidation
      const generation = Number(invalidation.generation) || 0
      const now = Date.now()
      for (const tag of tags) if (typeof tag === 'string') this.learnTag(namespace, tag, generation, now)
      const epoch = Number(invalidation.epoch) || 0
      if (epoch > (this.tagEpochs.get(namespace) ?? 0)) this.tagEpochs.set(namespace, epoch)
      return
    }
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
    const replies = results(
      await withTimeout(
        redis.pipeline().hgetall(this.generationsKey).hgetall(this.epochsKey).exec(),
        COMMAND_TIMEOUT_MS,
      ),
    )
    const remote = replies[0] as Record<string, string>
    const epochs = replies[1] as Record<string, string>
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
    // Tag invalidations may have been missed meanwhile (or Redis restarted, its clock with it): L1 is empty, and
    // what is stored from now on is stamped with what Redis says.
    this.tagGenerations.clear()
    this.tagEpochs.clear()
    for (const [namespace, value] of Object.entries(epochs)) this.tagEpochs.set(namespace, Number(value))
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
