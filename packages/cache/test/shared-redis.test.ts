import { createHash } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TwoLevelCache } from '../src'
import { Fixture, recordingLogger, uniqueName, until } from './helpers'

const REDIS_URL = process.env.REDIS_URL

describe.skipIf(!REDIS_URL)('two processes sharing Redis', () => {
  let fixture: Fixture
  let name: string
  beforeEach(() => {
    fixture = new Fixture(REDIS_URL)
    name = uniqueName()
  })
  afterEach(() => fixture.close())

  it('ready() means connected and subscribed', async () => {
    const cache = await fixture.cache({ name })
    expect(cache.stats().l2).toEqual({
      enabled: true,
      connected: true,
      subscribed: true,
      errors: 0,
      timeouts: 0,
    })
  })

  it('hits after the first set, and an L2 hit in the other process fills its L1', async () => {
    const a = await fixture.cache({ name })
    const b = await fixture.cache({ name })
    const first = await a.getMany('products', ['p1', 'p2'])
    expect(first.values).toEqual([undefined, undefined])
    await a.setMany(
      'products',
      first.generation,
      [
        { key: 'p1', value: 'one' },
        { key: 'p2', value: 'two' },
      ],
      60,
    )
    expect((await a.getMany('products', ['p1', 'p2'])).values).toEqual(['one', 'two'])
    expect(a.stats().namespaces.products).toMatchObject({ l1Hits: 2, l2Hits: 0, misses: 2, sets: 2 })

    expect((await b.getMany('products', ['p2', 'p1', 'p3'])).values).toEqual(['two', 'one', undefined])
    expect(b.stats().namespaces.products).toMatchObject({ l1Hits: 0, l2Hits: 2, misses: 1 })
    expect(b.stats().l1.entries).toBe(2)
    expect((await b.getMany('products', ['p1', 'p2'])).values).toEqual(['one', 'two'])
    expect(b.stats().namespaces.products).toMatchObject({ l1Hits: 2, l2Hits: 2, misses: 1 })
  })

  it('with l1MaxBytes 0 every read goes to Redis', async () => {
    const a = await fixture.cache({ name, l1MaxBytes: 0 })
    await a.set('apq', 'doc', 'query { x }', 60)
    for (let i = 0; i < 3; i++) expect(await a.get('apq', 'doc')).toBe('query { x }')
    expect(a.stats().namespaces.apq).toMatchObject({ l1Hits: 0, l2Hits: 3, misses: 0 })
    expect(a.stats().l1).toMatchObject({ entries: 0, bytes: 0 })
  })

  it('keys L2 by generation, hashing long keys, with the ttl of the set', async () => {
    const redis = await fixture.inspector()
    const a = await fixture.cache({ name })
    const long = 'k'.repeat(300)
    await a.set('products', 'short', 'v', 30)
    await a.set('products', long, 'w', 30)
    const prefix = `pm:cache:${name}:products:0:`
    const sha1 = createHash('sha1').update(long).digest('hex')
    expect(await redis.exists(`${prefix}short`, `${prefix}${sha1}`)).toBe(2)
    const pttl = await redis.pttl(`${prefix}short`)
    expect(pttl).toBeGreaterThan(29_000)
    expect(pttl).toBeLessThanOrEqual(30_000)
    expect(await a.get('products', long)).toBe('w')

    await a.bump(['products'])
    expect(await redis.hget(`pm:cache:${name}:generations`, 'products')).toBe('1')
    await a.set('products', 'short', 'v2', 30)
    expect(await redis.exists(`pm:cache:${name}:products:1:short`)).toBe(1)
  })

  it('after bump() resolved, the bumper and the other process both miss, 50 times in a row', async () => {
    const a = await fixture.cache({ name })
    const b = await fixture.cache({ name })
    for (let i = 0; i < 50; i++) {
      await a.setMany('products', a.generation('products'), [{ key: 'p1', value: `v${i}` }], 60)
      expect(await a.get('products', 'p1')).toBe(`v${i}`)
      await a.bump(['products'])
      expect(await a.get('products', 'p1')).toBeUndefined()
      // B has no L1 copy, so this tests L2 ordering: the bump's message may still be on its way to B.
      const read = await b.getMany('products', ['p1'])
      expect(read.values).toEqual([undefined])
      expect(read.generation).toBe(a.generation('products'))
    }
  })

  it("the bump message drops the other process's L1 copies", async () => {
    const a = await fixture.cache({ name })
    const b = await fixture.cache({ name })
    await a.set('products', 'p1', 'old', 60)
    await a.set('users', 'u1', 'kept', 60)
    expect(await b.get('products', 'p1')).toBe('old')
    expect(await b.get('users', 'u1')).toBe('kept')
    expect(b.stats().l1.entries).toBe(2)

    await a.bump(['products'])
    await until(() => b.generation('products') === a.generation('products'), 2_000, 'the bump message')
    expect(b.stats().l1.entries).toBe(1)
    expect(await b.get('products', 'p1')).toBeUndefined()
    expect(await b.get('users', 'u1')).toBe('kept')
  })

  it('a set under the generation read before a bump is never served, here or there', async () => {
    const a = await fixture.cache({ name })
    const b = await fixture.cache({ name })
    for (let i = 0; i < 50; i++) {
      const read = await b.getMany('products', ['p1'])
      await a.bump(['products'])
      // B may not have heard of the bump yet: this is the read-then-invalidate race.
      await b.setMany('products', read.generation, [{ key: 'p1', value: `stale${i}` }], 60)
      expect((await b.getMany('products', ['p1'])).values).toEqual([undefined])
      expect((await a.getMany('products', ['p1'])).values).toEqual([undefined])
    }
  })

  it('a bump whose message has not arrived yet still shows on the next Redis round trip', async () => {
    const redis = await fixture.inspector()
    const b = await fixture.cache({ name })
    const generations = `pm:cache:${name}:generations`
    const read = await b.getMany('products', ['p1'])

    // Another process's HINCRBY landed, its PUBLISH is still on the way (here: never sent).
    await redis.hincrby(generations, 'products', 1)
    await b.setMany('products', read.generation, [{ key: 'p1', value: 'stale' }], 60)
    expect(b.generation('products')).toBe(read.generation + 1)
    expect(await b.get('products', 'p1')).toBeUndefined()

    await b.set('products', 'p2', 'cached', 60)
    expect(await b.get('products', 'p2')).toBe('cached')
    await redis.hincrby(generations, 'products', 1)
    const lookup = await b.getMany('products', ['p2', 'p3'])
    expect(lookup).toEqual({
      generation: read.generation + 2,
      values: [undefined, undefined],
      stamps: ['', ''],
    })
    expect(b.stats().l1.entries).toBe(0)
  })

  it('syncGenerations() makes an L1 hit as fresh as Redis, message or not', async () => {
    const redis = await fixture.inspector()
    const b = await fixture.cache({ name })
    const read = await b.getMany('products', ['p1'])
    await b.setMany('products', read.generation, [{ key: 'p1', value: 'old' }], 60)
    // Only L1 would answer now: without a sync, the bump below (message never sent) goes unseen.
    await redis.hincrby(`pm:cache:${name}:generations`, 'products', 1)
    expect((await b.getMany('products', ['p1'])).values).toEqual(['old'])
    await b.syncGenerations()
    expect(b.generation('products')).toBe(read.generation + 1)
    expect((await b.getMany('products', ['p1'])).values).toEqual([undefined])
  })

  it('bumps many namespaces at once and counts them', async () => {
    const a = await fixture.cache({ name })
    const b = await fixture.cache({ name })
    await a.bump(['products', 'media', 'products'])
    expect(a.generation('products')).toBe(1)
    expect(a.generation('media')).toBe(1)
    expect(a.stats().namespaces.products!.bumps).toBe(1)
    await until(
      () => b.generation('media') === 1 && b.generation('products') === 1,
      2_000,
      'the bump messages',
    )

    // A process started after the bumps loads the generations when it subscribes.
    const c = await fixture.cache({ name })
    expect(c.generation('products')).toBe(1)
    expect(c.generation('media')).toBe(1)
  })

  it('a tag invalidation drops the values under that tag, here and there, and keeps the others', async () => {
    const a = await fixture.cache({ name })
    const b = await fixture.cache({ name })
    const keys = ['p1', 'p2', 'list']
    const tags = [['Product:1'], ['Product:2'], ['*']]
    const store = async (cache: TwoLevelCache, suffix: string) => {
      const read = await cache.getMany('products', keys, tags)
      await cache.setMany(
        'products',
        read.generation,
        keys.map((key, i) => ({ key, value: `${key}${suffix}`, tags: tags[i], stamp: read.stamps[i] })),
        60,
      )
    }
    await store(a, '-old')
    // B fills its L1 from Redis.
    expect((await b.getMany('products', keys, tags)).values).toEqual(['p1-old', 'p2-old', 'list-old'])
    expect((await b.getMany('products', keys, tags)).values).toEqual(['p1-old', 'p2-old', 'list-old'])
    expect(b.stats().namespaces.products).toMatchObject({ l1Hits: 3, l2Hits: 3 })

    await a.bumpTags('products', ['Product:1', '*'])
    expect(a.stats().namespaces.products).toMatchObject({ tagBumps: 1, bumps: 0 })
    // At once in the bumper (L1) and in Redis for a process that has not heard yet (no L1 copy).
    expect((await a.getMany('products', keys, tags)).values).toEqual([undefined, 'p2-old', undefined])
    const c = await fixture.cache({ name })
    expect((await c.getMany('products', keys, tags)).values).toEqual([undefined, 'p2-old', undefined])
    // B's L1 copies of the tagged values die with the message; p2's stays in L1.
    const l1Before = b.stats().namespaces.products!.l1Hits
    await until(
      async () => (await b.getMany('products', ['p1'], [['Product:1']])).values[0] === undefined,
      5_000,
      'the tag message',
    )
    expect((await b.getMany('products', keys, tags)).values).toEqual([undefined, 'p2-old', undefined])
    expect(b.stats().namespaces.products!.l1Hits).toBeGreaterThan(l1Before)
    expect(b.generation('products')).toBe(0)

    // Stored again after the invalidation: served under the new tag generations everywhere (p2, never
    // invalidated, is still A's own copy).
    await store(b, '-new')
    expect((await a.getMany('products', keys, tags)).values).toEqual(['p1-new', 'p2-old', 'list-new'])
  })

  it('a value read before a tag invalidation and stored after it is never served', async () => {
    const a = await fixture.cache({ name })
    const b = await fixture.cache({ name })
    for (let i = 0; i < 20; i++) {
      const read = await b.getMany('products', ['p1'], [['Product:1']])
      await a.bumpTags('products', ['Product:1'])
      await b.setMany(
        'products',
        read.generation,
        [{ key: 'p1', value: `stale${i}`, tags: ['Product:1'], stamp: read.stamps[0] }],
        60,
      )
      expect((await b.getMany('products', ['p1'], [['Product:1']])).values).toEqual([undefined])
      expect((await a.getMany('products', ['p1'], [['Product:1']])).values).toEqual([undefined])
    }
  })

  it('a tag invalidation whose message never came drops L1 on the next syncGenerations()', async () => {
    const redis = await fixture.inspector()
    const b = await fixture.cache({ name })
    const read = await b.getMany('products', ['p1'], [['Product:1']])
    await b.setMany(
      'products',
      read.generation,
      [{ key: 'p1', value: 'old', tags: ['Product:1'], stamp: read.stamps[0] }],
      60,
    )
    expect((await b.getMany('products', ['p1'], [['Product:1']])).values).toEqual(['old'])
    // Another process's invalidation, as its script leaves Redis, its message lost.
    const clock = await redis.incr(`pm:cache:${name}:tag-clock`)
    await redis.hset(`pm:cache:${name}:tags:products`, 'Product:1', clock)
    await redis.hincrby(`pm:cache:${name}:tag-epochs`, 'products', 1)
    await b.syncGenerations()
    expect((await b.getMany('products', ['p1'], [['Product:1']])).values).toEqual([undefined])
  })

  it("keeps a namespace's tags without a lifetime, and starts afresh with a whole bump past the limit", async () => {
    const redis = await fixture.inspector()
    const a = await fixture.cache({ name, tagLimit: 2 })
    const b = await fixture.cache({ name })
    const read = await a.getMany('products', ['p1', 'p9'], [['Product:1'], []])
    await a.setMany(
      'products',
      read.generation,
      [
        { key: 'p1', value: 'one', tags: ['Product:1'], stamp: read.stamps[0] },
        { key: 'p9', value: 'untagged', stamp: read.stamps[1] },
      ],
      60,
    )
    await a.bumpTags('products', ['Product:2', 'Product:3'])
    expect(await redis.hlen(`pm:cache:${name}:tags:products`)).toBe(2)
    expect(await redis.pttl(`pm:cache:${name}:tags:products`)).toBe(-1)
    expect((await a.getMany('products', ['p1'], [['Product:1']])).values).toEqual(['one'])
    // A third tag passes the limit: the tags go, and so does everything the namespace held, everywhere.
    await a.bumpTags('products', ['Product:4'])
    expect(await redis.exists(`pm:cache:${name}:tags:products`)).toBe(0)
    expect(a.generation('products')).toBe(read.generation + 1)
    expect((await a.getMany('products', ['p1', 'p9'], [['Product:1'], []])).values).toEqual([
      undefined,
      undefined,
    ])
    await until(() => b.generation('products') === read.generation + 1, 5_000, 'the bump message')
    expect((await b.getMany('products', ['p9'])).values).toEqual([undefined])
  })

  it('delete removes the entry from L1 and L2', async () => {
    const a = await fixture.cache({ name })
    await a.set('apq', 'h', 'doc', 60)
    await a.delete('apq', 'h')
    expect(await a.get('apq', 'h')).toBeUndefined()
    const c = await fixture.cache({ name })
    expect(await c.get('apq', 'h')).toBeUndefined()
  })

  it('close() leaves the given client open and stops using Redis', async () => {
    const logger = recordingLogger()
    const redis = await fixture.inspector()
    const cache = new TwoLevelCache({ name, redis, logger })
    await cache.ready(3_000)
    await cache.close()
    expect(await redis.ping()).toBe('PONG')
    expect(cache.stats().l2).toMatchObject({ connected: false, subscribed: false })
    await cache.set('ns', 'k', 'v', 60)
    expect(await redis.exists(`pm:cache:${name}:ns:0:k`)).toBe(0)
    expect(logger.warns).toEqual([])
  })
})
