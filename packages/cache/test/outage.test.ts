import { type PrivateRedis, redisServerBinary, startPrivateRedis } from '@pm/testing/redis'
import { afterEach, describe, expect, it } from 'vitest'
import { Fixture, recordingLogger, uniqueName, until } from './helpers'

describe.skipIf(!redisServerBinary())('Redis going away and coming back', () => {
  let fixture: Fixture | undefined
  let server: PrivateRedis | undefined
  afterEach(async () => {
    await fixture?.close()
    await server?.stop()
  })

  it('never throws or hangs while Redis is down, then replays the bump and re-syncs', async () => {
    server = await startPrivateRedis()
    fixture = new Fixture(server.url)
    const name = uniqueName()
    const logA = recordingLogger()
    const logB = recordingLogger()
    // A long degraded lifetime, so what L1 still answers below comes from L1, not from expiry luck.
    const a = await fixture.cache({ name, logger: logA, degradedL1TtlMs: 30_000 })
    const b = await fixture.cache({ name, logger: logB, degradedL1TtlMs: 30_000 })
    expect(b.stats().l2).toMatchObject({ connected: true, subscribed: true })

    await a.set('products', 'p1', 'one', 60)
    await b.set('users', 'u1', 'kept in L1', 60)
    expect(await b.get('products', 'p1')).toBe('one')

    await server.stop()
    await until(
      () => [a, b].every((cache) => !cache.stats().l2.connected && !cache.stats().l2.subscribed),
      2_000,
      'both caches to notice',
    )

    expect(await a.get('products', 'p1')).toBe('one')
    expect(await a.get('products', 'p2')).toBeUndefined()
    await a.set('products', 'p3', 'three', 60)
    expect(await a.get('products', 'p3')).toBe('three')
    expect((await a.getMany('products', ['p1', 'p3', 'p4'])).values).toEqual(['one', 'three', undefined])
    await a.bump(['products'])
    expect(a.generation('products')).toBe(1)
    expect(await a.get('products', 'p1')).toBeUndefined()
    await a.delete('products', 'p3')
    expect(b.generation('products')).toBe(0)
    expect(await b.get('users', 'u1')).toBe('kept in L1')
    // Nothing waited for Redis: every command failed at once (errors), none ran into the command timeout.
    expect(a.stats().l2.errors).toBeGreaterThan(0)
    expect(a.stats().l2.timeouts).toBe(0)
    expect(b.stats().l2.timeouts).toBe(0)
    expect(logA.warns).toHaveLength(1)
    expect(logB.warns).toHaveLength(1)

    await server.start()
    await until(() => b.generation('products') === 1, 5_000, 'the replayed bump to reach B')
    await until(() => [a, b].every((cache) => cache.stats().l2.subscribed), 2_000, 'both to resubscribe')
    // Redis restarted empty: only a cleared L1 makes this a miss.
    expect(b.stats().l1.entries).toBe(0)
    expect(await b.get('users', 'u1')).toBeUndefined()

    await a.set('products', 'p5', 'five', 60)
    expect(await b.get('products', 'p5')).toBe('five')
    expect(b.stats().namespaces.products!.l2Hits).toBeGreaterThanOrEqual(2)

    // The restarted Redis was raised to the processes' generations, so a new bump is not lost below them.
    await b.bump(['products'])
    expect(b.generation('products')).toBe(2)
    await until(() => a.generation('products') === 2, 2_000, "B's bump to reach A")
    expect(logA.warns).toHaveLength(1)
    expect(logA.infos).toHaveLength(1)
  })
})
