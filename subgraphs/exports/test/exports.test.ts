import { randomUUID } from 'node:crypto'
import { startTestSubgraph, type TestSubgraph } from '@pm/testing/subgraph'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subgraph } from '../src/module'

let sg: TestSubgraph<'exports'>

const STATUSES = ['completed', 'failed', 'running', 'pending'] as const
const shopify = randomUUID()
const woo = randomUUID()
const minio = randomUUID()

interface SeedJob {
  id: string
  platform_id: string | null
  job_type: string
  status: string
  created_at: Date
}

// 60 jobs; the first ten share one created_at so pagination meets ties.
const jobs: SeedJob[] = Array.from({ length: 60 }, (_, i) => ({
  id: randomUUID(),
  platform_id: i % 7 === 6 ? null : [shopify, woo, minio][i % 3]!,
  job_type: i % 2 === 0 ? 'full_sync' : 'incremental_sync',
  status: STATUSES[i % 4]!,
  created_at: i < 10 ? new Date('2026-03-01T00:00:00Z') : new Date(Date.UTC(2026, 2, 2, 0, i)),
}))
// Product ids as catalog would know them; exports cannot tell an orphan from a live one.
const products = Array.from({ length: 60 }, () => randomUUID())
const orphanProduct = randomUUID()

interface SeedItem {
  id: string
  job_id: string
  product_id: string
  status: string
  processed_at: Date | null
}
// Each job exports four products; each product is in four jobs. One item per job is still pending.
const items: SeedItem[] = jobs.flatMap((job, i) =>
  [0, 1, 2, 3].map((n) => ({
    id: randomUUID(),
    job_id: job.id,
    product_id: products[(i + n * 15) % 60]!,
    status: n === 0 ? 'pending' : n === 3 ? 'failed' : 'success',
    processed_at: n === 0 ? null : new Date(Date.UTC(2026, 2, 5, i, n)),
  })),
)

function newestFirst(a: SeedJob, b: SeedJob) {
  return b.created_at.getTime() - a.created_at.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

/** processed_at DESC with NULL (pending) first, then id DESC. */
function itemOrder(a: Pick<SeedItem, 'id' | 'processed_at'>, b: Pick<SeedItem, 'id' | 'processed_at'>) {
  const ta = a.processed_at?.getTime() ?? Number.POSITIVE_INFINITY
  const tb = b.processed_at?.getTime() ?? Number.POSITIVE_INFINITY
  return tb - ta || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

async function count(query: string, variables?: Record<string, unknown>) {
  const before = sg.queryCount()
  const res = await sg.request(query, variables)
  return { res, used: sg.queryCount() - before }
}

beforeAll(async () => {
  sg = await startTestSubgraph(subgraph)
  const db = sg.database.db
  await db
    .insertInto('export_platforms')
    .values([
      {
        id: shopify,
        name: 'Shopify FR',
        platform_type: 'shopify',
        config: {
          shop: 'fr.myshopify.com',
          API_KEY: 'abc',
          auth: { accessToken: 'shpat_123', password: 'p', scopes: ['read', 'write'] },
          webhooks: [{ topic: 'orders/create', signingSecret: 's' }],
        },
        field_mappings: { title: 'name', metafieldKey: 'custom.ean', price: 'price' },
        created_at: new Date('2026-01-01T00:00:00Z'),
      },
      {
        id: woo,
        name: 'WooCommerce',
        platform_type: 'woocommerce',
        is_active: false,
        config: {
          url: 'https://shop.example.com',
          consumer_key: 'ck_1',
          consumer_secret: 'cs_1',
          version: 3,
        },
        field_mappings: null,
      },
      {
        id: minio,
        name: 'Archive bucket',
        platform_type: 'minio',
        config: {
          endpoint: 'minio:9000',
          bucket: 'exports',
          Credentials: { accessKey: 'a', secretKey: 'b' },
        },
      },
    ])
    .execute()
  await db.insertInto('export_jobs').values(jobs).execute()
  await db.insertInto('export_job_items').values(items).execute()
  await db
    .insertInto('export_job_items')
    .values({
      job_id: jobs[0]!.id,
      product_id: orphanProduct,
      status: 'failed',
      error_message: 'product deleted',
    })
    .execute()
})
afterAll(() => sg?.stop())

describe('exports subgraph: entities', () => {
  it('resolves ExportPlatform, ExportJob and Product representations, null for missing ids', async () => {
    const missing = randomUUID()
    const noItems = randomUUID()
    const res = await sg.request(
      `query($r: [_Any!]!) { _entities(representations: $r) {
        __typename
        ... on ExportPlatform { id name }
        ... on ExportJob { id status }
        ... on Product { id exportItems(first: 1) { totalCount } }
      } }`,
      {
        r: [
          { __typename: 'ExportPlatform', id: minio },
          { __typename: 'ExportPlatform', id: missing },
          { __typename: 'ExportJob', id: jobs[5]!.id },
          { __typename: 'ExportJob', id: missing },
          { __typename: 'ExportJob', id: 'not-a-uuid' },
          { __typename: 'Product', id: products[0] },
          { __typename: 'Product', id: noItems },
        ],
      },
    )
    expect(res.errors).toBeUndefined()
    expect(res.data._entities).toEqual([
      { __typename: 'ExportPlatform', id: minio, name: 'Archive bucket' },
      null,
      { __typename: 'ExportJob', id: jobs[5]!.id, status: jobs[5]!.status.toUpperCase() },
      null,
      null,
      { __typename: 'Product', id: products[0], exportItems: { totalCount: 4 } },
      // catalog decides whether the product exists; exports only has nothing for it.
      { __typename: 'Product', id: noItems, exportItems: { totalCount: 0 } },
    ])
  })

  it('returns { id } for every item product, orphans included (the gateway resolves them to null)', async () => {
    const res = await sg.request(
      `{ exportJob(id: "${jobs[0]!.id}") { items(status: FAILED) { edges { node { productId product { id } errorMessage } } } } }`,
    )
    expect(res.errors).toBeUndefined()
    const nodes = res.data.exportJob.items.edges.map((e: any) => e.node)
    expect(nodes).toContainEqual({
      productId: orphanProduct,
      product: { id: orphanProduct },
      errorMessage: 'product deleted',
    })
    for (const node of nodes) expect(node.product).toEqual({ id: node.productId })
  })

  it('runs the same number of statements for 5 and 50 Products with their export items', async () => {
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product {
      id exportItems(first: 2) { totalCount edges { node { id status product { id } job { id platform { name } } } } }
    } } }`
    const reps = (n: number) => products.slice(0, n).map((id) => ({ __typename: 'Product', id }))
    const five = await count(query, { r: reps(5) })
    const fifty = await count(query, { r: reps(50) })
    expect(five.res.errors).toBeUndefined()
    expect(fifty.res.errors).toBeUndefined()
    expect(fifty.res.data._entities).toHaveLength(50)
    for (const entity of fifty.res.data._entities) {
      const expected = items.filter((i) => i.product_id === entity.id).sort(itemOrder)
      expect(entity.exportItems.totalCount).toBe(expected.length)
      expect(entity.exportItems.edges.map((e: any) => e.node.id)).toEqual(
        expected.slice(0, 2).map((i) => i.id),
      )
      for (const e of entity.exportItems.edges) expect(e.node.product).toEqual({ id: entity.id })
    }
    // items page, items counts, jobs, platforms.
    expect(five.used).toBe(4)
    expect(fifty.used).toBe(five.used)
  })
})

describe('exports subgraph: platforms', () => {
  it('masks secret-looking keys in config and fieldMappings at any depth', async () => {
    const res = await sg.request(`{ exportPlatform(id: "${shopify}") { config fieldMappings } }`)
    expect(res.errors).toBeUndefined()
    expect(res.data.exportPlatform).toEqual({
      config: {
        shop: 'fr.myshopify.com',
        API_KEY: '***',
        auth: { accessToken: '***', password: '***', scopes: ['read', 'write'] },
        webhooks: [{ topic: 'orders/create', signingSecret: '***' }],
      },
      fieldMappings: { title: 'name', metafieldKey: '***', price: 'price' },
    })
  })

  it('lists platforms by name, filtered by isActive, with no secret in any config', async () => {
    const res = await sg.request(`{
      all: exportPlatforms { name platformType isActive config }
      active: exportPlatforms(isActive: true) { name }
      inactive: exportPlatforms(isActive: false) { name }
      missing: exportPlatform(id: "${randomUUID()}") { id }
    }`)
    expect(res.errors).toBeUndefined()
    expect(res.data.all.map((p: any) => p.name)).toEqual(['Archive bucket', 'Shopify FR', 'WooCommerce'])
    expect(res.data.all[1]).toMatchObject({ platformType: 'SHOPIFY', isActive: true })
    expect(res.data.all[0].config).toEqual({ endpoint: 'minio:9000', bucket: 'exports', Credentials: '***' })
    expect(res.data.all[2].config).toEqual({
      url: 'https://shop.example.com',
      consumer_key: '***',
      consumer_secret: '***',
      version: 3,
    })
    const text = JSON.stringify(res.data)
    for (const secret of ['abc', 'shpat_123', 'ck_1', 'cs_1', '"b"']) expect(text).not.toContain(secret)
    expect(res.data.active.map((p: any) => p.name)).toEqual(['Archive bucket', 'Shopify FR'])
    expect(res.data.inactive.map((p: any) => p.name)).toEqual(['WooCommerce'])
    expect(res.data.missing).toBeNull()
  })

  it('pages each platform’s jobs in one statement for all platforms', async () => {
    const { res, used } = await count(
      '{ exportPlatforms { id jobs(status: FAILED, first: 2) { totalCount edges { node { id status } } } } }',
    )
    expect(res.errors).toBeUndefined()
    for (const platform of res.data.exportPlatforms) {
      const expected = jobs
        .filter((j) => j.platform_id === platform.id && j.status === 'failed')
        .sort(newestFirst)
      expect(platform.jobs.totalCount).toBe(expected.length)
      expect(platform.jobs.edges.map((e: any) => e.node.id)).toEqual(expected.slice(0, 2).map((j) => j.id))
    }
    // platforms, jobs page, jobs counts.
    expect(used).toBe(3)
  })
})

describe('exports subgraph: jobs', () => {
  const ids = (res: any) => res.data.exportJobs.edges.map((e: any) => e.node.id)

  it('lists jobs newest first, filtered by status, platform and job type', async () => {
    const cases: Array<[string, (j: SeedJob) => boolean]> = [
      ['{}', () => true],
      ['{ status: FAILED }', (j) => j.status === 'failed'],
      [`{ platformId: "${shopify}" }`, (j) => j.platform_id === shopify],
      ['{ jobType: INCREMENTAL_SYNC }', (j) => j.job_type === 'incremental_sync'],
      [
        `{ status: COMPLETED, platformId: "${minio}", jobType: FULL_SYNC }`,
        (j) => j.status === 'completed' && j.platform_id === minio && j.job_type === 'full_sync',
      ],
    ]
    for (const [filter, keep] of cases) {
      const res = await sg.request(
        `{ exportJobs(filter: ${filter}, first: 100) { totalCount edges { node { id } } } }`,
      )
      expect(res.errors).toBeUndefined()
      const expected = jobs.filter(keep).sort(newestFirst)
      expect(res.data.exportJobs.totalCount).toBe(expected.length)
      expect(ids(res)).toEqual(expected.map((j) => j.id))
    }
  })

  it('walks jobs with identical created_at three by three without skipping or repeating', async () => {
    const seen: string[] = []
    let after: string | null = null
    for (let page = 0; page < 30; page++) {
      const res: any = await sg.request(
        'query($after: String) { exportJobs(first: 3, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      )
      expect(res.errors).toBeUndefined()
      seen.push(...ids(res))
      if (!res.data.exportJobs.pageInfo.hasNextPage) break
      after = res.data.exportJobs.pageInfo.endCursor
    }
    expect(seen).toEqual([...jobs].sort(newestFirst).map((j) => j.id))
  })

  it('walks a job’s items, pending first, across pages', async () => {
    const job = jobs[0]!
    const seen: string[] = []
    let after: string | null = null
    for (let page = 0; page < 10; page++) {
      const res: any = await sg.request(
        `query($after: String) { exportJob(id: "${job.id}") { items(first: 2, after: $after) {
          totalCount edges { node { id status processedAt } } pageInfo { hasNextPage endCursor } } } }`,
        { after },
      )
      expect(res.errors).toBeUndefined()
      expect(res.data.exportJob.items.totalCount).toBe(5)
      seen.push(...res.data.exportJob.items.edges.map((e: any) => e.node.id))
      if (!res.data.exportJob.items.pageInfo.hasNextPage) break
      after = res.data.exportJob.items.pageInfo.endCursor
    }
    const orphan = await sg.database.db
      .selectFrom('export_job_items')
      .selectAll()
      .where('product_id', '=', orphanProduct)
      .executeTakeFirstOrThrow()
    const expected = [...items.filter((i) => i.job_id === job.id), orphan].sort(itemOrder)
    expect(seen).toEqual(expected.map((i) => i.id))
  })

  it('rejects a forged cursor and an oversized page with BAD_USER_INPUT', async () => {
    const forged = Buffer.from(JSON.stringify(['CREATED_AT:DESC', 'not-a-date', randomUUID()])).toString(
      'base64url',
    )
    for (const q of [
      `{ exportJobs(after: "${forged}") { totalCount } }`,
      '{ exportJobs(after: "garbage") { totalCount } }',
      '{ exportJobs(first: 101) { totalCount } }',
      `{ exportJob(id: "${jobs[0]!.id}") { items(first: 101) { totalCount } } }`,
    ]) {
      const res = await sg.request(q)
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    }
  })

  it('runs the same number of statements for 5 and 50 jobs with their items and platform', async () => {
    const query = `query($n: Int) { exportJobs(first: $n) { edges { node {
      id platform { id name config }
      items(first: 3) { totalCount edges { node { id processedAt product { id } } } }
    } } } }`
    const five = await count(query, { n: 5 })
    const fifty = await count(query, { n: 50 })
    expect(five.res.errors).toBeUndefined()
    expect(fifty.res.errors).toBeUndefined()
    expect(fifty.res.data.exportJobs.edges).toHaveLength(50)
    for (const { node } of fifty.res.data.exportJobs.edges) {
      const seed = jobs.find((j) => j.id === node.id)!
      const expected = items.filter((i) => i.job_id === seed.id).sort(itemOrder)
      expect(node.platform?.id ?? null).toBe(seed.platform_id)
      expect(node.items.totalCount).toBe(expected.length + (seed === jobs[0] ? 1 : 0))
      expect(node.items.edges).toHaveLength(3)
      expect(node.items.edges[0].node.processedAt).toBeNull()
    }
    // jobs page, platforms, items page, items counts.
    expect(five.used).toBe(4)
    expect(fifty.used).toBe(five.used)
  })
})
