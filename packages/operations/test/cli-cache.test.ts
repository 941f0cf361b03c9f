import { randomUUID } from 'node:crypto'
import { caches } from '@pm/cache'
import { DOMAINS, type Domain } from '@pm/db'
import { createMigratedDatabase, type TestDatabase } from '@pm/testing'
import { runPm } from '@pm/testing/cli'
import { type PrivateRedis, redisServerBinary, startPrivateRedis } from '@pm/testing/redis'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// `pm integrity fix` deletes and nulls rows behind the gateway's back: the gateways' cached answers of those
// databases must go stale exactly as after a mutation through the gateway (a bump of the namespace's
// generation in Redis, which every gateway sharing the cache hears).
const MEDIA_FILE = `query($id: UUID!) { mediaFile(id: $id) { id fileName } }`

let redis: PrivateRedis
let stack: TestStack<'catalog' | 'media'>
const others: { domain: Domain; database: TestDatabase }[] = []
const cacheName = `cli-cache-${randomUUID()}`

/** pm's environment: the stack's databases (and the others'), the gateway cache's Redis and name. */
function cliEnv(redisUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: redisUrl,
    GATEWAY_CACHE_NAME: cacheName,
    DB_CATALOG_URL: stack.subgraphs.catalog.testDatabase.url,
    DB_MEDIA_URL: stack.subgraphs.media.testDatabase.url,
  }
  for (const d of others) env[`DB_${d.domain.toUpperCase()}_URL`] = d.database.url
  return env
}

describe.skipIf(!redisServerBinary())('pm integrity fix and the gateway cache', () => {
  beforeAll(async () => {
    redis = await startPrivateRedis()
    stack = await startTestStack({
      only: ['catalog', 'media'],
      gateway: { redisUrl: redis.url, cache: { name: cacheName } },
    })
    for (const d of DOMAINS.filter((d) => d !== 'catalog' && d !== 'media'))
      others.push({ domain: d, database: await createMigratedDatabase(d, `cli_cache_${d}`) })
  }, 180_000)

  afterAll(async () => {
    await stack?.stop()
    await Promise.all(others.map((d) => d.database.drop()))
    await redis?.stop()
  })

  it('makes the cached answers of the databases it changed stale in every gateway', async () => {
    // A media file of a product that does not exist: the fix deletes it (policy delete).
    const orphan = await stack.subgraphs.media.database.db
      .insertInto('media_files')
      .values({ file_name: 'orphan.jpg', product_id: randomUUID() })
      .returning('id')
      .executeTakeFirstOrThrow()
    const first = await stack.request(MEDIA_FILE, { id: orphan.id })
    expect(first.errors).toBeUndefined()
    expect(first.data.mediaFile).toMatchObject({ id: orphan.id, fileName: 'orphan.jpg' })
    // Cached: the second read is answered by the gateway cache, not by media.
    const hitsBefore = stack.gateway.cacheStats()!.namespaces['sg:media']!.l1Hits
    const second = await stack.request(MEDIA_FILE, { id: orphan.id })
    expect(second.data.mediaFile.id).toBe(orphan.id)
    expect(stack.gateway.cacheStats()!.namespaces['sg:media']!.l1Hits).toBeGreaterThan(hitsBefore)

    const gatewayCache = caches(cacheName)[0]!
    const generation = gatewayCache.generation('sg:media')
    const fixed = await runPm(cliEnv(redis.url), 'integrity', 'fix')
    expect(fixed.stderr).not.toMatch(/warning|note:/)
    expect(fixed.code).toBe(0)
    expect(fixed.stdout).toMatch(/media\.media_files\.product_id: delete 1 rows/)

    // The gateway hears of the bump through Redis (asynchronously): then it asks media again.
    while (gatewayCache.generation('sg:media') === generation) await new Promise((r) => setTimeout(r, 20))
    const after = await stack.request(MEDIA_FILE, { id: orphan.id })
    expect(after.errors).toBeUndefined()
    expect(after.data.mediaFile).toBeNull()
  }, 120_000)

  it('fixes all the same when Redis cannot be reached, and says that gateways were not told', async () => {
    const orphan = await stack.subgraphs.media.database.db
      .insertInto('media_files')
      .values({ file_name: 'orphan-2.jpg', product_id: randomUUID() })
      .returning('id')
      .executeTakeFirstOrThrow()
    // Nothing listens there.
    const fixed = await runPm(cliEnv('redis://127.0.0.1:9'), 'integrity', 'fix')
    expect(fixed.code).toBe(0)
    expect(fixed.stdout).toMatch(/media\.media_files\.product_id: delete 1 rows/)
    expect(fixed.stderr).toMatch(
      /warning: the gateway cache could not be told that media changed \(Redis unreachable\)/,
    )
    const left = await stack.subgraphs.media.database.db
      .selectFrom('media_files')
      .select('id')
      .where('id', '=', orphan.id)
      .execute()
    expect(left).toEqual([])
  }, 120_000)
})
