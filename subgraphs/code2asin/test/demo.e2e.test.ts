import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signedPeers } from '@pm/service-kit'
import { createStorage, loadStorageConfig } from '@pm/storage'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_JOB_NAME, demoLookupTable, startDemoMatching } from '../src/engine/demo'
import { ean } from './sp-api-server'

let stack: TestStack<'catalog' | 'code2asin'>
let storageDir = ''
const SUPPLIER = 'DEMO-PHONES'

const products = Array.from({ length: 40 }, (_, i) => ({
  id: randomUUID(),
  ean: ean(`3700${String(i * 7919).padStart(8, '0')}`),
  title: `Smartphone Xiaomi modèle ${i} 128 Go "5G"; double SIM`,
}))

const JOB = `query($id: UUID!) { code2asinJob(id: $id) { id name status supplierCode totalCodes processedCodes
  exactMatches noMatches failedLookups lastError provider { kind uploadId }
  results(first: 100) { totalCount edges { node { productId asin matchType matchConfidence isVerified } } } } }`
const PRODUCTS = `query($code: String!) { supplierByCode(code: $code) { products(first: 100) { edges { node { id asin } } } } }`

const peers = () =>
  signedPeers(
    {
      catalog: stack.subgraphs.catalog.server.graphqlUrl,
      code2asin: stack.subgraphs.code2asin.server.graphqlUrl,
    },
    stack.secrets.signing,
  )

beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'pm-code2asin-demo-'))
  process.env.STORAGE_DIR = storageDir
  // The worker makes the gateway's cached answers stale through Redis, under the gateway's cache name.
  process.env.GATEWAY_CACHE_NAME = `code2asin-demo-${randomUUID().slice(0, 8)}`
  stack = await startTestStack({
    only: ['catalog', 'code2asin'],
    gateway: { redisUrl: process.env.REDIS_URL!, cache: { name: process.env.GATEWAY_CACHE_NAME } },
  })
  const catalog = stack.subgraphs.catalog.database.db
  const brand = await catalog
    .insertInto('brands')
    .values({ name: 'Xiaomi', code: 'XIAOMI' })
    .returning('id')
    .executeTakeFirstOrThrow()
  const supplierId = randomUUID()
  await catalog
    .insertInto('suppliers')
    .values({ id: supplierId, code: SUPPLIER, name: 'Demo phones' })
    .execute()
  await catalog
    .insertInto('products')
    .values(products.map((p) => ({ ...p, supplier_id: supplierId, brand_id: brand.id })))
    .execute()
  await stack.startWorker('code2asin')
}, 120_000)

afterAll(async () => {
  await stack?.stop()
  if (storageDir) await rm(storageDir, { recursive: true, force: true })
})

describe('demo matching', () => {
  it('stores a lookup table made from the supplier’s products and matches them with a real job, once', async () => {
    const storage = createStorage(loadStorageConfig(process.env))
    const started = await startDemoMatching({ peers: peers(), storage, supplierCode: SUPPLIER })
    expect(started).toMatchObject({ created: true, products: 40 })
    // What the table holds, read back from its CSV: ean → asin, and whether the listing carries the product's title.
    const { csv, rows } = demoLookupTable(
      products.map((p) => ({ ...p, upc: null, gtin: null, brand: 'Xiaomi', manufacturerReference: null })),
    )
    expect(started!.tableRows).toBe(rows)
    const table = new Map(
      csv
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => {
          const [code, asin] = line.split(';')
          return [code!, { asin: asin!, own: !line.includes('(listing Amazon)') }]
        }),
    )
    // Some products in the table, some not, some listed under another title.
    expect(table.size).toBeGreaterThan(20)
    expect(table.size).toBeLessThan(40)
    expect([...table.values()].some((t) => !t.own)).toBe(true)

    let job: any
    for (;;) {
      job = (await stack.request(JOB, { id: started!.jobId })).data.code2asinJob
      if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(job).toMatchObject({
      name: DEMO_JOB_NAME,
      status: 'COMPLETED',
      supplierCode: SUPPLIER,
      totalCodes: 40,
      processedCodes: 40,
      exactMatches: table.size,
      noMatches: 40 - table.size,
      failedLookups: 0,
      lastError: null,
      provider: { kind: 'LOOKUP_TABLE' },
    })
    const byProduct = new Map(job.results.edges.map((e: any) => [e.node.productId, e.node]))
    const catalogAsin = new Map<string, string | null>(
      (await stack.request(PRODUCTS, { code: SUPPLIER })).data.supplierByCode.products.edges.map((e: any) => [
        e.node.id,
        e.node.asin,
      ]),
    )
    products.forEach((p) => {
      const expected = table.get(p.ean)
      const result: any = byProduct.get(p.id)
      if (!expected) {
        expect(result).toMatchObject({ asin: null, matchType: null, isVerified: false })
        expect(catalogAsin.get(p.id)).toBeNull()
        return
      }
      expect(result).toMatchObject({ asin: expected.asin, matchType: 'EXACT', isVerified: expected.own })
      // Its own title and brand: 100; another listing: the EAN alone (90), under the auto-verify line.
      expect(Number(result.matchConfidence)).toBe(expected.own ? 100 : 90)
      // Verified matches reached the catalog; the others wait for a person.
      expect(catalogAsin.get(p.id)).toBe(expected.own ? expected.asin : null)
    })

    // A second start finds the job and does nothing.
    const again = await startDemoMatching({ peers: peers(), storage, supplierCode: SUPPLIER })
    expect(again).toEqual({ jobId: started!.jobId, created: false, products: 0, tableRows: 0 })
    const jobs = await stack.subgraphs.code2asin.database.db
      .selectFrom('code2asin_jobs')
      .select('id')
      .execute()
    expect(jobs).toHaveLength(1)
    // No such supplier (a catalogue without the demo data): nothing to do.
    expect(await startDemoMatching({ peers: peers(), storage, supplierCode: 'NOBODY' })).toBeNull()
  })
})
