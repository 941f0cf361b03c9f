import { describe, expect, it } from 'vitest'
import { subgraphCacheInvalidator, subgraphCacheNamespace, TwoLevelCache } from '../src'
import { sleep, uniqueName } from './helpers'

// L1 only (no redis): what's not in the process is a miss.
describe('L1', () => {
  it('evicts the least recently used entries to stay within its byte bound', async () => {
    const probe = new TwoLevelCache({ name: uniqueName() })
    await probe.set('ns', 'a', 'x'.repeat(100), 60)
    const entryBytes = probe.stats().l1.bytes
    expect(entryBytes).toBeGreaterThanOrEqual(2 * 101)

    const cache = new TwoLevelCache({ name: uniqueName(), l1MaxBytes: Math.floor(entryBytes * 2.5) })
    await cache.set('ns', 'a', 'x'.repeat(100), 60)
    await cache.set('ns', 'b', 'y'.repeat(100), 60)
    expect(await cache.get('ns', 'a')).toBe('x'.repeat(100)) // a is now the most recently used
    await cache.set('ns', 'c', 'z'.repeat(100), 60)

    expect(await cache.get('ns', 'b')).toBeUndefined()
    expect(await cache.get('ns', 'a')).toBe('x'.repeat(100))
    expect(await cache.get('ns', 'c')).toBe('z'.repeat(100))
    const { l1 } = cache.stats()
    expect(l1).toMatchObject({ entries: 2, evictions: 1, bytes: 2 * entryBytes })
    expect(l1.bytes).toBeLessThanOrEqual(l1.maxBytes)
  })

  it('does not keep an entry bigger than the whole bound', async () => {
    const cache = new TwoLevelCache({ name: uniqueName(), l1MaxBytes: 100 })
    await cache.set('ns', 'big', 'x'.repeat(100), 60)
    expect(await cache.get('ns', 'big')).toBeUndefined()
    expect(cache.stats().l1).toMatchObject({ entries: 0, bytes: 0 })
  })

  it('expires entries after l1TtlMs, or sooner when the set asked for a shorter ttl', async () => {
    const cache = new TwoLevelCache({ name: uniqueName(), l1TtlMs: 50 })
    await cache.set('ns', 'capped', 'v', 60)
    const long = new TwoLevelCache({ name: uniqueName() })
    await long.set('ns', 'short', 'v', 0.05)
    await long.set('ns', 'kept', 'v', 60)
    expect(await cache.get('ns', 'capped')).toBe('v')
    expect(await long.get('ns', 'short')).toBe('v')

    await sleep(80)
    expect(await cache.get('ns', 'capped')).toBeUndefined()
    expect(await long.get('ns', 'short')).toBeUndefined()
    expect(await long.get('ns', 'kept')).toBe('v')
  })

  it('with l1MaxBytes 0 and no redis, nothing is kept', async () => {
    const cache = new TwoLevelCache({ name: uniqueName(), l1MaxBytes: 0 })
    await cache.set('ns', 'k', 'v', 60)
    expect(await cache.get('ns', 'k')).toBeUndefined()
  })

  it('getMany answers in key order and counts hits and misses per namespace', async () => {
    const cache = new TwoLevelCache({ name: uniqueName() })
    const { generation, values } = await cache.getMany('products', ['p1', 'p2', 'p3'])
    expect(values).toEqual([undefined, undefined, undefined])
    await cache.setMany(
      'products',
      generation,
      [
        { key: 'p1', value: 'one' },
        { key: 'p3', value: 'three' },
      ],
      60,
    )
    expect((await cache.getMany('products', ['p3', 'p2', 'p1'])).values).toEqual(['three', undefined, 'one'])
    expect(cache.stats().namespaces.products).toEqual({
      l1Hits: 2,
      l2Hits: 0,
      misses: 4,
      sets: 2,
      bumps: 0,
      tagBumps: 0,
    })
    expect(cache.stats().l2).toEqual({
      enabled: false,
      connected: false,
      subscribed: false,
      errors: 0,
      timeouts: 0,
    })
  })

  it('a bump drops the namespace at once, and values read before it are never stored', async () => {
    const cache = new TwoLevelCache({ name: uniqueName() })
    const before = await cache.getMany('products', ['p1'])
    await cache.setMany('products', before.generation, [{ key: 'p1', value: 'old' }], 60)
    await cache.set('other', 'k', 'kept', 60)
    const read = await cache.getMany('products', ['p1'])
    expect(read.values).toEqual(['old'])

    await cache.bump(['products'])
    expect(cache.generation('products')).toBe(read.generation + 1)
    expect((await cache.getMany('products', ['p1'])).values).toEqual([undefined])
    expect(cache.stats().l1.entries).toBe(1) // only 'other' is left

    await cache.setMany('products', read.generation, [{ key: 'p1', value: 'stale' }], 60)
    expect((await cache.getMany('products', ['p1'])).values).toEqual([undefined])
    expect(await cache.get('other', 'k')).toBe('kept')
    expect(cache.stats().namespaces.products!.bumps).toBe(1)
  })

  it('ready() resolves at once without redis, and close() is idempotent', async () => {
    const cache = new TwoLevelCache({ name: uniqueName() })
    await cache.ready()
    await cache.close()
    await cache.close()
  })

  it('a writer without Redis reaches the caches of the same name in this process, and only those', async () => {
    const name = uniqueName()
    const gateway = new TwoLevelCache({ name })
    const other = new TwoLevelCache({ name: uniqueName() })
    const catalog = subgraphCacheNamespace('catalog')
    for (const cache of [gateway, other]) await cache.set(catalog, 'page', 'before the import', 60)
    await subgraphCacheInvalidator(undefined, name).invalidate(['catalog'])
    expect(await gateway.get(catalog, 'page')).toBeUndefined()
    expect(await other.get(catalog, 'page')).toBe('before the import')
    // A closed cache is no longer reached (nor kept alive by the registry).
    await gateway.close()
    await subgraphCacheInvalidator(undefined, name).invalidate(['catalog'])
    expect(gateway.stats().namespaces[catalog]?.bumps).toBe(1)
  })
})
