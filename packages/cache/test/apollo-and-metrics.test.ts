import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cacheMetrics, keyValueCache, TwoLevelCache } from '../src'
import { Fixture, sleep, uniqueName } from './helpers'

const REDIS_URL = process.env.REDIS_URL

describe('keyValueCache', () => {
  it('get/set/delete with a ttl in seconds, null meaning the default', async () => {
    const cache = new TwoLevelCache({ name: uniqueName() })
    const kv = keyValueCache(cache)
    expect(await kv.get('h1')).toBeUndefined()
    await kv.set('h1', 'query { a }')
    await kv.set('h2', 'query { b }', { ttl: null })
    await kv.set('h3', 'query { c }', { ttl: 0.05 })
    expect(await kv.get('h1')).toBe('query { a }')
    expect(await kv.get('h2')).toBe('query { b }')
    expect(await kv.get('h3')).toBe('query { c }')
    expect(await cache.get('apq', 'h1')).toBe('query { a }')

    await kv.delete('h1')
    expect(await kv.get('h1')).toBeUndefined()
    await sleep(80)
    expect(await kv.get('h3')).toBeUndefined()
    expect(await kv.get('h2')).toBe('query { b }')
  })

  it('uses the namespace and default ttl it is given', async () => {
    const cache = new TwoLevelCache({ name: uniqueName() })
    const kv = keyValueCache(cache, 'documents', 0.05)
    await kv.set('h', 'query { a }')
    expect(await cache.get('documents', 'h')).toBe('query { a }')
    await sleep(80)
    expect(await kv.get('h')).toBeUndefined()
  })
})

describe.skipIf(!REDIS_URL)('keyValueCache over Redis', () => {
  let fixture: Fixture
  beforeEach(() => {
    fixture = new Fixture(REDIS_URL)
  })
  afterEach(() => fixture.close())

  it('shares documents between processes, stored for 24 h by default', async () => {
    const name = uniqueName()
    const a = keyValueCache(await fixture.cache({ name }))
    const b = keyValueCache(await fixture.cache({ name }))
    await a.set('sha', 'query { a }')
    await a.set('short', 'query { b }', { ttl: 30 })
    expect(await b.get('sha')).toBe('query { a }')
    const redis = await fixture.inspector()
    const day = await redis.pttl(`pm:cache:${name}:apq:0:sha`)
    expect(day).toBeGreaterThan(86_399_000)
    expect(day).toBeLessThanOrEqual(86_400_000)
    expect(await redis.pttl(`pm:cache:${name}:apq:0:short`)).toBeLessThanOrEqual(30_000)

    await a.delete('sha')
    expect(await a.get('sha')).toBeUndefined()
    expect(await keyValueCache(await fixture.cache({ name })).get('sha')).toBeUndefined()
  })
})

describe('cacheMetrics', () => {
  it('exposes the counters of every cache with cache, namespace and level labels', async () => {
    const first = new TwoLevelCache({ name: 'gateway' })
    const second = new TwoLevelCache({ name: 'we"ird\\name' })
    await first.set('apq', 'h', 'doc', 60)
    await first.get('apq', 'h')
    await first.get('apq', 'missing')
    await first.bump(['products'])
    await second.get('products', 'p1')

    const text = cacheMetrics([first.stats(), second.stats()])
    expect(text.endsWith('\n')).toBe(true)
    const lines = text.split('\n')
    for (const family of [
      'pm_cache_hits_total counter',
      'pm_cache_misses_total counter',
      'pm_cache_sets_total counter',
      'pm_cache_bumps_total counter',
      'pm_cache_l1_bytes gauge',
      'pm_cache_l1_entries gauge',
      'pm_cache_l1_evictions_total counter',
      'pm_cache_l2_errors_total counter',
      'pm_cache_l2_up gauge',
    ]) {
      expect(lines).toContain(`# TYPE ${family}`)
    }
    expect(lines).toContain('pm_cache_hits_total{cache="gateway",namespace="apq",level="l1"} 1')
    expect(lines).toContain('pm_cache_hits_total{cache="gateway",namespace="apq",level="l2"} 0')
    expect(lines).toContain('pm_cache_misses_total{cache="gateway",namespace="apq"} 1')
    expect(lines).toContain('pm_cache_sets_total{cache="gateway",namespace="apq"} 1')
    expect(lines).toContain('pm_cache_bumps_total{cache="gateway",namespace="products"} 1')
    expect(lines).toContain('pm_cache_l1_entries{cache="gateway"} 1')
    expect(lines).toContain('pm_cache_l1_evictions_total{cache="gateway"} 0')
    expect(lines).toContain('pm_cache_misses_total{cache="we\\"ird\\\\name",namespace="products"} 1')
    // L1-only caches have no Redis to report on.
    expect(text).not.toContain('pm_cache_l2_up{')
  })

  it.skipIf(!REDIS_URL)('reports Redis as up and its errors', async () => {
    const fixture = new Fixture(REDIS_URL)
    try {
      const cache = await fixture.cache({ name: uniqueName() })
      const text = cacheMetrics([cache.stats()])
      expect(text).toContain(`pm_cache_l2_up{cache="${cache.stats().name}"} 1`)
      expect(text).toContain(`pm_cache_l2_errors_total{cache="${cache.stats().name}"} 0`)
    } finally {
      await fixture.close()
    }
  })
})
