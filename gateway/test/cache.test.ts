import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { DOMAINS, type Domain } from '@pm/db'
import { seedDemoData } from '@pm/seed'
import { createLogger } from '@pm/service-kit'
import { freePort } from '@pm/testing'
import { type PrivateRedis, redisServerBinary, startPrivateRedis } from '@pm/testing/redis'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { postGraphQL } from '@pm/testing/subgraph'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Q1_PRODUCT_PAGE } from '../../bench/queries'
import { composeSupergraph } from '../src/compose'
import { GatewayConfigError, loadGatewayEnvironment } from '../src/environment'
import { DEFAULT_CACHE_POLICY, type RunningGateway, startGateway } from '../src/gateway'

const PRODUCT = /* GraphQL */ `
  query Product($id: UUID!) {
    product(id: $id) { id title brand { id name } primaryImage { id storageUrl } bestAsinMatch { asin } }
  }
`
const RENAME = /* GraphQL */ `
  mutation Rename($id: UUID!, $title: String!) { updateProduct(id: $id, input: { title: $title }) { id title } }
`
const RENAME_BRAND = /* GraphQL */ `
  mutation RenameBrand($id: UUID!, $name: String!) { updateBrand(id: $id, input: { name: $name }) { id name } }
`
// Shorter than the default 2 s, so that the outage test needs no long wait.
const DEGRADED_L1_TTL_MS = 300

let redis: PrivateRedis
let stack: TestStack
let other: RunningGateway
let supplierId: string
let otherSupplierId: string
let thirdSupplierId: string
let productId: string
let brandId: string
const cacheName = `test-${randomUUID()}`

/** Through one of the two gateways, as the stack's superuser. */
function ask(gateway: RunningGateway, query: string, variables: Record<string, unknown>) {
  const token = stack.tokenFor({ userId: stack.superuserId, superuser: true })
  return postGraphQL(gateway.graphqlUrl, query, variables, { authorization: `Bearer ${token}` })
}

/**
 * Statements the subgraphs a product page reads ran while `work` did. (Core is left out: the gateway asks
 * it for module states on its own schedule, whatever the operation.)
 */
async function statementsDuring<T>(work: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const count = () =>
    (['catalog', 'media', 'code2asin'] as const).reduce(
      (sum, d) => sum + stack.subgraphs[d].database.stats().queries,
      0,
    )
  const before = count()
  const result = await work()
  return { result, statements: count() - before }
}

async function until(condition: () => boolean, ms = 5_000) {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

const hits = (gateway: RunningGateway, level: 'l1Hits' | 'l2Hits', namespace = 'sg:catalog') =>
  gateway.cacheStats()?.namespaces[namespace]?.[level] ?? 0

describe.skipIf(!redisServerBinary())('the gateway cache (L1 in process, L2 in Redis)', () => {
  beforeAll(async () => {
    redis = await startPrivateRedis()
    const cache = { name: cacheName, degradedL1TtlMs: DEGRADED_L1_TTL_MS }
    stack = await startTestStack({ gateway: { redisUrl: redis.url, cache } })
    const dbs = Object.fromEntries(
      Object.entries(stack.subgraphs).map(([d, s]) => [d, (s as any).database.db]),
    )
    await seedDemoData(dbs as any, { products: 300 })
    const top = await sql<{ supplier_id: string; id: string; brand_id: string }>`
      SELECT supplier_id, id, brand_id FROM products
      WHERE is_active AND supplier_id IS NOT NULL AND brand_id IS NOT NULL
      ORDER BY created_at DESC, id DESC LIMIT 1`.execute(stack.subgraphs.catalog.database.db)
    ;({ supplier_id: supplierId, id: productId, brand_id: brandId } = top.rows[0]!)
    const second = await sql<{ supplier_id: string }>`
      SELECT supplier_id FROM products WHERE is_active AND supplier_id <> ${supplierId}
      GROUP BY supplier_id HAVING count(*) >= 6 LIMIT 1`.execute(stack.subgraphs.catalog.database.db)
    otherSupplierId = second.rows[0]!.supplier_id
    const third = await sql<{ supplier_id: string }>`
      SELECT supplier_id FROM products WHERE is_active AND supplier_id NOT IN (${supplierId}, ${otherSupplierId})
      GROUP BY supplier_id HAVING count(*) >= 6 LIMIT 1`.execute(stack.subgraphs.catalog.database.db)
    thirdSupplierId = third.rows[0]!.supplier_id
    // A second gateway: its own L1 and Redis connections, the same Redis and cache name, as another process.
    const composition = composeSupergraph(DOMAINS)
    if (!composition.ok) throw new Error(composition.errors.join('\n'))
    other = await startGateway({
      port: 0,
      host: '127.0.0.1',
      supergraphSdl: composition.supergraphSdl,
      subgraphUrls: Object.fromEntries(
        DOMAINS.map((d) => [d, stack.subgraphs[d as Domain].server.graphqlUrl]),
      ) as Record<Domain, string>,
      logger: createLogger({ service: 'other-gateway' }, 'error'),
      signingSecret: stack.secrets.signing,
      tokenSecret: stack.secrets.token,
      redisUrl: redis.url,
      cache,
    })
  }, 180_000)
  afterAll(async () => {
    await other?.stop()
    await stack?.stop()
    await redis?.stop()
  })

  it('answers a repeated product page without a statement, the same as the first time', async () => {
    const variables = { supplierId, first: 20 }
    const first = await statementsDuring(() => ask(stack.gateway, Q1_PRODUCT_PAGE, variables))
    expect(first.result.errors).toBeUndefined()
    expect(first.statements).toBeGreaterThan(0)
    expect(first.result.data.products.edges.length).toBeGreaterThan(0)
    const again = await statementsDuring(() => ask(stack.gateway, Q1_PRODUCT_PAGE, variables))
    expect(again.statements).toBe(0)
    expect(again.result).toEqual(first.result)
    expect(hits(stack.gateway, 'l1Hits')).toBeGreaterThan(0)
    // The other gateway has never seen it: its L1 misses, Redis has it.
    const elsewhere = await statementsDuring(() => ask(other, Q1_PRODUCT_PAGE, variables))
    expect(elsewhere.statements).toBe(0)
    expect(elsewhere.result).toEqual(first.result)
    expect(hits(other, 'l2Hits')).toBeGreaterThan(0)
  })

  it('sends a subgraph only the entities it does not hold yet', async () => {
    await ask(stack.gateway, Q1_PRODUCT_PAGE, { supplierId: otherSupplierId, first: 3 })
    const before = hits(stack.gateway, 'l1Hits', 'sg:media')
    const page = await ask(stack.gateway, Q1_PRODUCT_PAGE, { supplierId: otherSupplierId, first: 6 })
    expect(page.errors).toBeUndefined()
    // The catalog list is a new root fetch; of its six products, the three already seen come from L1.
    expect(hits(stack.gateway, 'l1Hits', 'sg:media') - before).toBe(3)
  })

  it('sends identical fetches in flight at once to the subgraph once, each caller getting a whole answer', async () => {
    const variables = { supplierId: thirdSupplierId, first: 6 }
    const single = await statementsDuring(() =>
      Promise.all(Array.from({ length: 6 }, () => ask(stack.gateway, Q1_PRODUCT_PAGE, variables))),
    )
    // One page's worth: the catalog list, then media and code2asin for its products; not six of each.
    expect(single.statements).toBe(3)
    const [first, ...others] = single.result
    expect(first!.errors).toBeUndefined()
    expect(first!.data.products.edges).toHaveLength(6)
    for (const other of others) expect(other).toEqual(first)
  })

  it('keeps answers per permission set: a refused field stays refused after a permitted caller read it', async () => {
    const configs = await sql<{ id: string }>`SELECT id FROM import_configs ORDER BY id LIMIT 1`.execute(
      stack.subgraphs.imports.database.db,
    )
    const id = configs.rows[0]!.id
    const query = 'query Config($id: UUID!) { importConfig(id: $id) { id configName connectionConfig } }'
    const as = (claims: Parameters<TestStack['tokenFor']>[0] | null) =>
      postGraphQL(
        stack.graphqlUrl,
        query,
        { id },
        claims ? { authorization: `Bearer ${stack.tokenFor(claims)}` } : {},
      )
    const reader = { userId: randomUUID(), permissions: ['import:read'] }
    const editor = { userId: randomUUID(), permissions: ['import:read', 'import:update'] }
    const refused = await as(reader)
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    for (let i = 0; i < 2; i++) {
      const allowed = await as(editor)
      expect(allowed.errors).toBeUndefined()
      expect(allowed.data.importConfig.connectionConfig).toBeDefined()
    }
    // The editor's answer is in the cache now; neither the reader nor an anonymous caller may get it.
    const again = await as(reader)
    expect(again.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    expect(again.data?.importConfig?.connectionConfig ?? null).toBeNull()
    const anonymous = await as(null)
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED')
    expect(anonymous.data?.importConfig ?? null).toBeNull()
    // Another user with the editor's permissions shares its entry: the key is the permission set, not the user.
    const before = hits(stack.gateway, 'l1Hits', 'sg:imports')
    const colleague = await as({ ...editor, userId: randomUUID() })
    expect(colleague.data.importConfig).toEqual((await as(editor)).data.importConfig)
    expect(hits(stack.gateway, 'l1Hits', 'sg:imports')).toBeGreaterThan(before)
  })

  it('shows a mutation made through one gateway at once through the other, every time', async () => {
    for (let i = 0; i < 20; i++) {
      const read = await ask(other, PRODUCT, { id: productId })
      expect(read.errors).toBeUndefined()
      const title = `Renamed ${i} ${randomUUID().slice(0, 8)}`
      const renamed = await ask(stack.gateway, RENAME, { id: productId, title })
      expect(renamed.errors).toBeUndefined()
      const [here, there] = await Promise.all([
        ask(stack.gateway, PRODUCT, { id: productId }),
        ask(other, PRODUCT, { id: productId }),
      ])
      expect(here.data.product.title).toBe(title)
      expect(there.data.product.title).toBe(title)
    }
  })

  it('drops nested answers too: a brand renamed shows in the product pages that embed it', async () => {
    const before = await ask(other, PRODUCT, { id: productId })
    expect(before.data.product.brand.id).toBe(brandId)
    const name = `Brand ${randomUUID().slice(0, 8)}`
    expect((await ask(stack.gateway, RENAME_BRAND, { id: brandId, name })).errors).toBeUndefined()
    expect((await ask(other, PRODUCT, { id: productId })).data.product.brand.name).toBe(name)
  })

  it('drops only the changed product after a price change, through both gateways', async () => {
    const priced = 'query Priced($id: UUID!) { product(id: $id) { id prices { priceType price } } }'
    const others = await sql<{ id: string }>`
      SELECT id FROM products WHERE id <> ${productId} ORDER BY id LIMIT 1`.execute(
      stack.subgraphs.catalog.database.db,
    )
    const otherProductId = others.rows[0]!.id
    const page = (gateway: RunningGateway, id: string) =>
      ask(gateway, Q1_PRODUCT_PAGE, { supplierId: id, first: 20 })
    for (const gateway of [stack.gateway, other]) {
      for (const id of [productId, otherProductId])
        expect((await ask(gateway, priced, { id })).errors).toBeUndefined()
      for (const id of [supplierId, otherSupplierId]) expect((await page(gateway, id)).errors).toBeUndefined()
    }
    const price = `${100 + Math.floor(Math.random() * 900)}.25`
    const set = await ask(
      stack.gateway,
      'mutation Price($input: SetProductPriceInput!) { setProductPrice(input: $input) { id price } }',
      { input: { productId, price } },
    )
    expect(set.errors).toBeUndefined()
    // What catalog told the gateway about the change stays between them.
    expect(JSON.stringify(set)).not.toContain('pmChangedEntities')
    for (const gateway of [stack.gateway, other]) {
      // The other product is still cached in both gateways; the changed one is read again and shows the price.
      const kept = await statementsDuring(() => ask(gateway, priced, { id: otherProductId }))
      expect(kept.statements).toBe(0)
      const changed = await ask(gateway, priced, { id: productId })
      expect(changed.data.product.prices.map((p: { price: string }) => p.price)).toContain(price)
      // Lists: another supplier's page is still cached; the product's own supplier's page shows the price.
      const otherPage = await statementsDuring(() => page(gateway, otherSupplierId))
      expect(otherPage.statements).toBe(0)
      const ownPage = await page(gateway, supplierId)
      const node = ownPage.data.products.edges.find((e: { node: { id: string } }) => e.node.id === productId)
      expect(node.node.prices.map((p: { price: string }) => p.price)).toContain(price)
    }
    expect(stack.gateway.cacheStats()?.namespaces['sg:catalog']?.tagBumps).toBeGreaterThan(0)
  })

  it("drops only the changed product's media after an image edit, and none of catalog", async () => {
    const media = 'query Media($id: UUID!) { product(id: $id) { id title media { id altText } } }'
    const files = await sql<{ id: string; product_id: string }>`
      SELECT DISTINCT ON (product_id) id, product_id FROM media_files WHERE product_id IS NOT NULL
      ORDER BY product_id, id LIMIT 2`.execute(stack.subgraphs.media.database.db)
    expect(files.rows).toHaveLength(2)
    const [edited, untouched] = files.rows as [
      { id: string; product_id: string },
      { id: string; product_id: string },
    ]
    for (const gateway of [stack.gateway, other]) {
      for (const f of files.rows)
        expect((await ask(gateway, media, { id: f.product_id })).errors).toBeUndefined()
    }
    const altText = `Alt ${randomUUID().slice(0, 8)}`
    const update = await ask(
      stack.gateway,
      'mutation Alt($id: UUID!, $alt: String) { updateMediaFile(id: $id, input: { altText: $alt }) { id } }',
      { id: edited.id, alt: altText },
    )
    expect(update.errors).toBeUndefined()
    for (const gateway of [stack.gateway, other]) {
      const kept = await statementsDuring(() => ask(gateway, media, { id: untouched.product_id }))
      expect(kept.statements).toBe(0)
      // The edited product: catalog's part still cached, media's read again by the first gateway (one
      // statement), which stores it in Redis for the second.
      const changed = await statementsDuring(() => ask(gateway, media, { id: edited.product_id }))
      expect(changed.statements).toBe(gateway === other ? 0 : 1)
      const file = changed.result.data.product.media.find((f: { id: string }) => f.id === edited.id)
      expect(file.altText).toBe(altText)
    }
  })

  it('shares persisted queries between gateways through Redis', async () => {
    const query = '{ products(first: 1) { edges { node { id } } } }'
    const { createHash } = await import('node:crypto')
    const sha256Hash = createHash('sha256').update(query).digest('hex')
    const token = stack.tokenFor({ userId: stack.superuserId, superuser: true })
    const post = (gateway: RunningGateway, body: Record<string, unknown>) =>
      fetch(gateway.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<any>)
    const extensions = { persistedQuery: { version: 1, sha256Hash } }
    const unknown = await post(other, { extensions })
    expect(unknown.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND')
    expect((await post(stack.gateway, { query, extensions })).errors).toBeUndefined()
    const byHash = await post(other, { extensions })
    expect(byHash.errors).toBeUndefined()
    expect(byHash.data.products.edges).toHaveLength(1)
  })

  it('shows a write at once through another process: a gateway of two workers (GATEWAY_WORKERS=2)', async () => {
    const port = await freePort()
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      GATEWAY_PORT: String(port),
      GATEWAY_WORKERS: '2',
      GATEWAY_ADMIN_PORT: '0',
      GATEWAY_CACHE_NAME: cacheName,
      GATEWAY_RATE_LIMIT_PER_MINUTE: '0',
      REDIS_URL: redis.url,
      LOG_LEVEL: 'error',
      GATEWAY_SIGNING_SECRET: stack.secrets.signing,
      AUTH_TOKEN_SECRET: stack.secrets.token,
    }
    for (const d of DOMAINS) env[`SUBGRAPH_${d.toUpperCase()}_URL`] = stack.subgraphs[d].server.graphqlUrl
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
      env,
      stdio: 'ignore',
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    try {
      const clusterUrl = `http://127.0.0.1:${port}/graphql`
      // A connection each: the primary deals connections to the workers in turn.
      const readOnNewConnection = (url: string) =>
        fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            connection: 'close',
            authorization: `Bearer ${stack.tokenFor({ userId: stack.superuserId, superuser: true })}`,
          },
          body: JSON.stringify({ query: PRODUCT, variables: { id: productId } }),
        }).then((r) => r.json() as Promise<any>)
      // Readiness: two workers of a gateway start slowly on a loaded 2-core machine; the test's own timeout
      // bounds the wait, and a gateway that exits instead fails it at once.
      let exitCode: number | null | undefined
      void exited.then((code) => {
        exitCode = code
      })
      while (
        !(await fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (exitCode !== undefined)
          throw new Error(`the two-worker gateway exited (${exitCode}) before it was ready`)
        await new Promise((r) => setTimeout(r, 100))
      }
      for (let i = 0; i < 10; i++) {
        // Several reads, so that both workers (connections are dealt round-robin) hold the product in L1.
        const reads = await Promise.all(Array.from({ length: 4 }, () => readOnNewConnection(clusterUrl)))
        for (const read of reads) expect(read.errors).toBeUndefined()
        const title = `Cluster ${i} ${randomUUID().slice(0, 8)}`
        expect((await ask(stack.gateway, RENAME, { id: productId, title })).errors).toBeUndefined()
        const after = await Promise.all(Array.from({ length: 4 }, () => readOnNewConnection(clusterUrl)))
        for (const read of after) expect(read.data.product.title).toBe(title)
      }
    } finally {
      child.kill('SIGTERM')
      // The primary passes the signal on and exits once both workers have stopped.
      expect(await exited).toBe(0)
    }
  }, 600_000)

  it('keeps answering right while Redis is down, and uses it again once it is back', async () => {
    await ask(other, PRODUCT, { id: productId })
    await redis.stop()
    await until(() => other.cacheStats()?.l2.subscribed === false)
    const title = `Offline ${randomUUID().slice(0, 8)}`
    const renamed = await ask(stack.gateway, RENAME, { id: productId, title })
    expect(renamed.errors).toBeUndefined()
    // The gateway that wrote knows at once; the other cannot be told while Redis is down, so it holds
    // what it read for at most the degraded L1 lifetime.
    expect((await ask(stack.gateway, PRODUCT, { id: productId })).data.product.title).toBe(title)
    await new Promise((r) => setTimeout(r, DEGRADED_L1_TTL_MS + 50))
    const there = await ask(other, PRODUCT, { id: productId })
    expect(there.errors).toBeUndefined()
    expect(there.data.product.title).toBe(title)
    // A page no one read before, with Redis gone: straight from the subgraphs, no error.
    const page = await ask(other, Q1_PRODUCT_PAGE, { supplierId, first: 7 })
    expect(page.errors).toBeUndefined()

    await redis.start()
    await until(
      () => stack.gateway.cacheStats()?.l2.subscribed === true && other.cacheStats()?.l2.subscribed === true,
      10_000,
    )
    await ask(stack.gateway, PRODUCT, { id: productId })
    const l2Before = hits(other, 'l2Hits')
    const fromRedis = await statementsDuring(() => ask(other, PRODUCT, { id: productId }))
    expect(fromRedis.result.data.product.title).toBe(title)
    expect(fromRedis.statements).toBe(0)
    expect(hits(other, 'l2Hits')).toBeGreaterThan(l2Before)
  })

  it('publishes its hit and miss counts per subgraph on /metrics', async () => {
    const text = await fetch(`${stack.gateway.adminUrl}/metrics`).then((r) => r.text())
    expect(text).toMatch(/pm_cache_hits_total\{[^}]*namespace="sg:catalog"[^}]*\} \d+/)
    expect(text).toMatch(/pm_cache_misses_total\{[^}]*namespace="sg:media"[^}]*\} \d+/)
  })
})

describe('cache and worker settings', () => {
  it('keeps per-user entries for every subgraph whose answers depend on who asks (a `self` rule)', () => {
    for (const d of DOMAINS) {
      const sdl = readFileSync(new URL(`../../subgraphs/${d}/src/schema.graphql`, import.meta.url), 'utf8')
      // A field readable by its owner without the permission: sharing entries across users would leak it.
      if (/@requiresPermission\([^)]*\bself:/.test(sdl)) expect(DEFAULT_CACHE_POLICY[d].perUser, d).toBe(true)
    }
    expect(DEFAULT_CACHE_POLICY.core.perUser).toBe(true)
  })

  const secrets = { GATEWAY_SIGNING_SECRET: 's'.repeat(40), AUTH_TOKEN_SECRET: 't'.repeat(40) }
  it('reads GATEWAY_CACHE*, GATEWAY_WORKERS and refuses workers that could not tell each other about writes', () => {
    const env = loadGatewayEnvironment({
      ...secrets,
      GATEWAY_CACHE_L1_MB: '8',
      GATEWAY_CACHE_TTL_CATALOG: '120',
      GATEWAY_CACHE_TTL_CORE: '0',
      GATEWAY_CACHE_NAME: 'eu-1',
    })
    expect(env.workers).toBe(1)
    expect(env.cache).toMatchObject({ name: 'eu-1', l1MaxBytes: 8 * 1_048_576, l1TtlMs: 60_000 })
    const policy = env.cache ? env.cache.policy : undefined
    expect(policy?.catalog).toEqual({ ttlSeconds: 120, roots: true, perUser: false })
    expect(policy?.core.ttlSeconds).toBe(0)
    expect(policy?.imports.ttlSeconds).toBe(1800)
    expect(loadGatewayEnvironment({ ...secrets, GATEWAY_CACHE: 'false' }).cache).toBe(false)
    expect(() => loadGatewayEnvironment({ ...secrets, GATEWAY_WORKERS: '2' })).toThrow(/needs REDIS_URL/)
    expect(
      loadGatewayEnvironment({ ...secrets, GATEWAY_WORKERS: 'auto', REDIS_URL: 'redis://127.0.0.1:6379' })
        .workers,
    ).toBeGreaterThanOrEqual(1)
    expect(loadGatewayEnvironment({ ...secrets, GATEWAY_WORKERS: '2', GATEWAY_CACHE: 'false' }).workers).toBe(
      2,
    )
    for (const [name, value] of [
      ['GATEWAY_WORKERS', '0'],
      ['GATEWAY_CACHE_L1_MB', '-1'],
      ['GATEWAY_CACHE_TTL_MEDIA', 'soon'],
      ['GATEWAY_CACHE_NAME', 'a b'],
      ['GATEWAY_CACHE', 'maybe'],
    ]) {
      expect(() => loadGatewayEnvironment({ ...secrets, [name!]: value! }), name).toThrow(GatewayConfigError)
    }
  })
})
