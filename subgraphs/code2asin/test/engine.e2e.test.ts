import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ean, type FakeItem, type FakeSpApi, MARKETPLACE, startFakeSpApi } from './sp-api-server'

let stack: TestStack<'core' | 'catalog' | 'code2asin'>
let fake: FakeSpApi
let storageDir = ''
const userId = randomUUID()
let token = ''
const SUPPLIER = 'MATCH-SUP'
const supplierId = randomUUID()

function upc(body11: string) {
  const sum = [...body11].reduce((s, d, i) => s + Number(d) * (i % 2 ? 1 : 3), 0)
  return body11 + ((10 - (sum % 10)) % 10)
}

interface Seeded {
  id: string
  ean: string | null
  upc: string | null
  title: string
  kind: 'ean' | 'upc' | 'fuzzy' | 'none'
}

/**
 * The supplier's 60 products: 30 whose EAN Amazon knows (each EAN also on a second, unrelated item, so the
 * identifier searches need pagination), 10 known by UPC, 10 only findable by keywords, 10 unknown.
 */
const NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'fox', 'golf', 'hotel', 'india', 'juliet']
const products: Seeded[] = Array.from({ length: 60 }, (_, i) => {
  const kind = i < 30 ? 'ean' : i < 40 ? 'upc' : i < 50 ? 'fuzzy' : 'none'
  return {
    id: randomUUID(),
    ean: kind === 'upc' ? null : ean(`3760${String(i).padStart(8, '0')}`),
    upc: kind === 'upc' ? upc(`0${String(i).padStart(10, '0')}`) : null,
    title:
      kind === 'none'
        ? `Objet introuvable ${i}`
        : `${kind === 'fuzzy' ? 'Scie sauteuse' : 'Perceuse visseuse'} ${NAMES[i % 10]} ${i}`,
    kind,
  }
})
const asinOf = (i: number) => `B0M${String(i).padStart(7, '0')}`

const JOB_FIELDS = `id status totalCodes processedCodes progressPercentage exactMatches fuzzyMatches noMatches
  failedLookups successfulConversions retryCount maxRetries batchSize providerRequests lastError target autoVerifyConfidence
  provider { kind credentialsSetting endpoint tokenEndpoint marketplaceId clientId clientSecret refreshToken ratePerSecond uploadId }`
const CREATE = `mutation($input: CreateCode2AsinJobInput!) { createCode2AsinJob(input: $input) { ${JOB_FIELDS} } }`
const JOB = `query($id: UUID!) { code2asinJob(id: $id) { ${JOB_FIELDS}
  results(first: 100) { totalCount edges { node { id productId asin matchType matchConfidence isVerified errorCode errorMessage amazonTitle amazonData amazonImages } } } } }`
const RESUME = `mutation($id: UUID!) { resumeCode2AsinJob(id: $id) { id status } }`
const CANCEL = `mutation($id: UUID!) { cancelCode2AsinJob(id: $id) { id status } }`
const VERIFY = `mutation($id: UUID!, $verified: Boolean!) { verifyAsinMatch(resultId: $id, verified: $verified) { id isVerified } }`
const PRODUCT = `query($id: UUID!) { product(id: $id) { id asin bestAsinMatch { id asin isVerified } } }`

const asUser = () => ({ authorization: `Bearer ${token}` })

async function ok<T = any>(query: string, variables: Record<string, unknown>) {
  const response = await stack.request<T>(query, variables, asUser())
  expect(response.errors).toBeUndefined()
  return response.data as T
}

/** Polls until the condition holds (the test's own timeout bounds it). */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, pauseMs = 100): Promise<T> {
  for (;;) {
    const value = await read()
    if (done(value)) return value
    await new Promise((r) => setTimeout(r, pauseMs))
  }
}

const job = async (id: string) => (await ok(JOB, { id })).code2asinJob
const finished = (id: string) =>
  waitFor(
    () => job(id),
    (j) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(j.status),
  )
/** The queue holds no run of this job any more (its task returned). */
const queueIdle = (id: string) =>
  waitFor(
    async () => {
      const { rows } = await sql<{ n: string }>`
        SELECT count(*) AS n FROM graphile_worker.jobs WHERE key = ${`code2asin:${id}`}`.execute(
        stack.subgraphs.code2asin.database.db,
      )
      return Number(rows[0]!.n)
    },
    (n) => n === 0,
  )

const spApi = (o: Record<string, unknown> = {}) => ({
  kind: 'AMAZON_SP_API',
  endpoint: fake.url,
  tokenEndpoint: `${fake.url}/auth/o2/token`,
  marketplaceId: MARKETPLACE,
  ...fake.credentials,
  ratePerSecond: 500,
  burst: 10,
  ...o,
})

async function upload(content: string, filename: string) {
  const response = await fetch(`${stack.gatewayUrl}/uploads?filename=${encodeURIComponent(filename)}`, {
    method: 'POST',
    headers: { ...asUser(), 'content-type': 'application/octet-stream', 'x-apollo-operation-name': 'upload' },
    body: content,
  })
  expect(response.status).toBe(201)
  return ((await response.json()) as { id: string }).id
}

beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'pm-code2asin-storage-'))
  process.env.STORAGE_DIR = storageDir
  process.env.FETCH_ALLOW_PRIVATE = 'true'
  process.env.CODE2ASIN_RETRY_BASE_MS = '5'
  process.env.CODE2ASIN_LEASE_SECONDS = '2'
  process.env.GATEWAY_CACHE_NAME = `code2asin-e2e-${randomUUID().slice(0, 8)}`
  fake = await startFakeSpApi()
  const items: FakeItem[] = products.flatMap((p, i): FakeItem[] => {
    if (p.kind === 'ean') {
      return [
        { asin: asinOf(i), ean: p.ean!, title: p.title, brand: 'Bosch', rank: 100 + i },
        {
          asin: `B0X${String(i).padStart(7, '0')}`,
          ean: p.ean!,
          title: `Accessoire sans rapport ${i}`,
          brand: 'Acme',
        },
      ]
    }
    if (p.kind === 'upc') return [{ asin: asinOf(i), upc: p.upc!, title: p.title, brand: 'Bosch' }]
    if (p.kind === 'fuzzy') return [{ asin: asinOf(i), title: `Bosch ${p.title} sans fil`, brand: 'Bosch' }]
    return []
  })
  fake.add(items)
  stack = await startTestStack({
    only: ['core', 'catalog', 'code2asin'],
    gateway: { redisUrl: process.env.REDIS_URL!, cache: { name: process.env.GATEWAY_CACHE_NAME } },
  })
  token = stack.tokenFor({
    userId,
    permissions: ['code2asin:create', 'code2asin:read', 'code2asin:update', 'product:read'],
  })
  const catalog = stack.subgraphs.catalog.database.db
  const brand = await catalog
    .insertInto('brands')
    .values({ name: 'Bosch', code: 'BOSCH' })
    .returning('id')
    .executeTakeFirstOrThrow()
  await catalog
    .insertInto('suppliers')
    .values({ id: supplierId, code: SUPPLIER, name: 'Matching supplier' })
    .execute()
  await catalog
    .insertInto('products')
    .values(
      products.map((p) => ({
        id: p.id,
        title: p.title,
        ean: p.ean,
        upc: p.upc,
        supplier_id: supplierId,
        brand_id: brand.id,
      })),
    )
    .execute()
  await stack.startWorker('code2asin')
}, 120_000)

afterAll(async () => {
  await stack?.stop()
  await fake?.close()
  await rm(storageDir, { recursive: true, force: true })
})

beforeEach(() => {
  fake.behaviour = {
    mode: 'ok',
    first429: 0,
    first503: 0,
    failAfter: Infinity,
    slowMs: 2_000,
    rateLimitHeader: '500',
  }
  fake.searches.length = 0
})

describe('code2asin matching end to end', () => {
  it('matches a supplier through SP-API: exact by EAN and UPC, fuzzy by keywords, none; auto-verified ASINs reach the catalog', async () => {
    fake.behaviour.first429 = 2
    fake.behaviour.first503 = 1
    // Pages of 5 items: which products share a chunk of 20 codes depends on their random ids, and any chunk
    // holding three known EANs (six items) then needs a second page, so pagination is always exercised.
    fake.behaviour.maxPageSize = 5
    const created = (
      await ok(CREATE, {
        input: {
          supplierCode: SUPPLIER,
          batchSize: 25,
          maxRetries: 5,
          provider: spApi(),
          autoVerifyConfidence: '95',
        },
      })
    ).createCode2AsinJob
    expect(created).toMatchObject({
      status: 'PENDING',
      totalCodes: 60,
      target: 'SUPPLIER',
      provider: {
        kind: 'AMAZON_SP_API',
        clientId: fake.credentials.clientId,
        clientSecret: '***',
        refreshToken: '***',
      },
    })
    const done = await finished(created.id)
    expect(done).toMatchObject({
      status: 'COMPLETED',
      totalCodes: 60,
      processedCodes: 60,
      progressPercentage: 100,
      exactMatches: 40,
      fuzzyMatches: 10,
      noMatches: 10,
      failedLookups: 0,
      retryCount: 3,
      lastError: null,
    })
    const byProduct = new Map(done.results.edges.map((e: any) => [e.node.productId, e.node]))
    products.forEach((p, i) => {
      const r: any = byProduct.get(p.id)
      if (p.kind === 'none') expect(r).toMatchObject({ asin: null, matchType: null })
      else expect(r).toMatchObject({ asin: asinOf(i), matchType: p.kind === 'fuzzy' ? 'FUZZY' : 'EXACT' })
      if (p.kind === 'ean') expect(Number(r.matchConfidence)).toBe(100)
      if (p.kind === 'fuzzy') expect(Number(r.matchConfidence)).toBeLessThan(90)
    })
    const first: any = byProduct.get(products[0]!.id)
    expect(first.isVerified).toBe(true)
    expect(first.amazonData).toMatchObject({
      title: products[0]!.title,
      brand: 'Bosch',
      marketplaceId: MARKETPLACE,
      salesRank: { rank: 100 },
      images: [expect.stringMatching(/B0M0000000\.jpg$/), expect.any(String)],
    })
    expect(first.amazonImages).toHaveLength(2)
    // The identifier searches went 20 codes at a time and followed nextToken.
    expect(fake.searches.some((s) => s.query.get('pageToken'))).toBe(true)
    expect(fake.searches.every((s) => (s.query.get('identifiers')?.split(',').length ?? 0) <= 20)).toBe(true)
    expect(fake.searches.some((s) => s.query.get('keywords'))).toBe(true)

    // Verified matches are the product's ASIN, through the gateway (its cache made stale by the worker).
    const exact = (await ok(PRODUCT, { id: products[0]!.id })).product
    expect(exact).toMatchObject({ asin: asinOf(0), bestAsinMatch: { asin: asinOf(0), isVerified: true } })
    const fuzzy = (await ok(PRODUCT, { id: products[45]!.id })).product
    expect(fuzzy.asin).toBeNull()
    expect(fuzzy.bestAsinMatch).toMatchObject({ asin: asinOf(45), isVerified: false })

    // A person verifies the fuzzy match: catalog and bestAsinMatch agree; unverifying clears it again.
    const fuzzyResult: any = byProduct.get(products[45]!.id)
    await ok(VERIFY, { id: fuzzyResult.id, verified: true })
    expect((await ok(PRODUCT, { id: products[45]!.id })).product).toMatchObject({
      asin: asinOf(45),
      bestAsinMatch: { id: fuzzyResult.id, asin: asinOf(45), isVerified: true },
    })
    await ok(VERIFY, { id: fuzzyResult.id, verified: false })
    expect((await ok(PRODUCT, { id: products[45]!.id })).product.asin).toBeNull()
  })

  it('fails on 429 forever with nothing of the batch written, then resumes without asking twice', async () => {
    const ids = products.slice(0, 40).map((p) => p.id)
    // The first batch (20 EANs: one search, two pages) passes; every later search is refused.
    fake.behaviour.failAfter = 2
    const created = (
      await ok(CREATE, { input: { productIds: ids, batchSize: 20, maxRetries: 2, provider: spApi() } })
    ).createCode2AsinJob
    const failed = await finished(created.id)
    expect(failed).toMatchObject({ status: 'FAILED', processedCodes: 20, retryCount: 2, target: 'PRODUCTS' })
    expect(failed.lastError).toMatch(
      /^PROVIDER_RATE_LIMITED: searchCatalogItems kept answering 429 .*after 2 retries/,
    )
    expect(failed.results.totalCount).toBe(20)
    await queueIdle(created.id)

    const before = fake.searches.length
    fake.behaviour.failAfter = Infinity
    expect((await ok(RESUME, { id: created.id })).resumeCode2AsinJob.status).toBe('PENDING')
    const done = await finished(created.id)
    expect(done).toMatchObject({
      status: 'COMPLETED',
      processedCodes: 40,
      exactMatches: 40,
      results: { totalCount: 40 },
    })
    const asked = fake.searches.slice(before).flatMap((s) => s.query.get('identifiers')?.split(',') ?? [])
    const firstBatch = new Set(products.slice(0, 20).map((p) => p.ean))
    expect(asked.length).toBeGreaterThan(0)
    expect(asked.filter((code) => firstBatch.has(code))).toEqual([])
  })

  it('records unreadable answers as failed lookups, asks them again on resume; a silent provider fails the job', async () => {
    fake.behaviour.mode = 'garbage'
    const ids = products.slice(40, 45).map((p) => p.id)
    const created = (await ok(CREATE, { input: { productIds: ids, maxRetries: 1, provider: spApi() } }))
      .createCode2AsinJob
    const done = await finished(created.id)
    expect(done).toMatchObject({ status: 'COMPLETED', failedLookups: 5, noMatches: 0, processedCodes: 5 })
    expect(done.results.edges[0].node).toMatchObject({ asin: null, errorCode: 'PROVIDER_BAD_RESPONSE' })
    expect(done.results.edges[0].node.errorMessage).toMatch(/not a list of items/)
    await queueIdle(created.id)
    fake.behaviour.mode = 'ok'
    await ok(RESUME, { id: created.id })
    expect(await finished(created.id)).toMatchObject({
      status: 'COMPLETED',
      failedLookups: 0,
      fuzzyMatches: 5,
      results: { totalCount: 5 },
    })

    fake.behaviour.mode = 'slow'
    const slow = (
      await ok(CREATE, { input: { productIds: ids, maxRetries: 1, provider: spApi({ timeoutMs: 200 }) } })
    ).createCode2AsinJob
    const timedOut = await finished(slow.id)
    expect(timedOut).toMatchObject({ status: 'FAILED', processedCodes: 0, results: { totalCount: 0 } })
    expect(timedOut.lastError).toMatch(/^PROVIDER_TIMEOUT: .* did not answer within 200 ms/)

    const refused = (
      await ok(CREATE, { input: { productIds: ids, provider: spApi({ clientSecret: 'not-the-secret' }) } })
    ).createCode2AsinJob
    const auth = await finished(refused.id)
    expect(auth.lastError).toMatch(/^PROVIDER_AUTH: Login with Amazon refused the credentials/)
    expect(auth.lastError).not.toMatch(/not-the-secret/)
  })

  it('cancels a running job: the worker stops before its next batch', async () => {
    fake.behaviour.mode = 'slow'
    fake.behaviour.slowMs = 300
    const ids = products.slice(0, 10).map((p) => p.id)
    const created = (await ok(CREATE, { input: { productIds: ids, batchSize: 1, provider: spApi() } }))
      .createCode2AsinJob
    await waitFor(
      () => job(created.id),
      (j) => j.processedCodes >= 1,
    )
    expect((await ok(CANCEL, { id: created.id })).cancelCode2AsinJob.status).toBe('CANCELLED')
    await queueIdle(created.id)
    const after = await job(created.id)
    expect(after.status).toBe('CANCELLED')
    expect(after.processedCodes).toBeLessThan(10)
  })

  it('matches from an uploaded lookup table, and refuses a table with duplicate EANs naming the lines', async () => {
    const rows = products.slice(0, 5).map((p, i) => `${p.ean};${asinOf(i)};${p.title}`)
    const table = await upload(`ean;asin;title\n${rows.join('\n')}\n`, 'table.csv')
    const ids = products.slice(0, 6).map((p) => p.id)
    const created = (
      await ok(CREATE, { input: { productIds: ids, provider: { kind: 'LOOKUP_TABLE', uploadId: table } } })
    ).createCode2AsinJob
    expect(created.provider).toEqual(
      expect.objectContaining({ kind: 'LOOKUP_TABLE', uploadId: table, clientSecret: null }),
    )
    const done = await finished(created.id)
    expect(done).toMatchObject({ status: 'COMPLETED', exactMatches: 5, noMatches: 1, failedLookups: 0 })

    const duplicate = await upload(
      `ean,asin\n${products[0]!.ean},${asinOf(0)}\n${products[0]!.ean},${asinOf(1)}\n`,
      'dup.csv',
    )
    const refused = await stack.request(
      CREATE,
      { input: { productIds: ids, provider: { kind: 'LOOKUP_TABLE', uploadId: duplicate } } },
      asUser(),
    )
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.provider.uploadId',
    })
    expect(refused.errors?.[0]?.message).toMatch(/two ASINs: .*\(line 2\) and .*\(line 3\)/)
    const someoneElse = await stack.request(CREATE, {
      input: { productIds: ids, provider: { kind: 'LOOKUP_TABLE', uploadId: table } },
    })
    expect(someoneElse.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' })
  })

  it('covers the products without a verified match, and refuses bad provider settings', async () => {
    const table = await upload(
      `ean,asin\n${products
        .filter((p) => p.ean)
        .map((p) => `${p.ean},${asinOf(products.indexOf(p))}`)
        .join('\n')}\n`,
      'all.csv',
    )
    const created = (
      await ok(CREATE, {
        input: {
          withoutVerifiedAsin: true,
          supplierCode: SUPPLIER,
          provider: { kind: 'LOOKUP_TABLE', uploadId: table },
        },
      })
    ).createCode2AsinJob
    const done = await finished(created.id)
    // The first test auto-verified the 40 exact matches (EAN and UPC).
    expect(done).toMatchObject({ status: 'COMPLETED', totalCodes: 20, target: 'UNVERIFIED' })
    const bad = await stack.request(
      CREATE,
      { input: { productIds: [products[0]!.id], provider: spApi({ clientSecret: null }) } },
      asUser(),
    )
    expect(bad.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.provider.clientSecret',
    })
    const masked = await stack.request(
      CREATE,
      { input: { productIds: [products[0]!.id], provider: spApi({ refreshToken: '***' }) } },
      asUser(),
    )
    expect(masked.errors?.[0]?.extensions).toMatchObject({ field: 'input.provider.refreshToken' })
    const rate = await stack.request(
      CREATE,
      { input: { productIds: [products[0]!.id], provider: spApi({ ratePerSecond: 0 }) } },
      asUser(),
    )
    expect(rate.errors?.[0]?.extensions).toMatchObject({ field: 'input.provider.ratePerSecond' })
  })

  it('runs on the SP-API account stored once in the secret app setting code2asin.sp_api, never showing it', async () => {
    const ids = products.slice(0, 10).map((p) => p.id)
    const stored = { kind: 'AMAZON_SP_API', marketplaceId: MARKETPLACE, ratePerSecond: 500, burst: 10 }
    const create = (provider: Record<string, unknown>) =>
      stack.request(CREATE, { input: { productIds: ids, provider } }, asUser())
    // No setting yet: refused at creation, naming the setting to set.
    const missing = await create(stored)
    expect(missing.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.provider',
      setting: 'code2asin.sp_api',
    })
    expect(missing.errors?.[0]?.message).toMatch(/app setting code2asin\.sp_api/)

    const SET = `mutation($input: SetAppSettingInput!) { setAppSetting(input: $input) { key value isSecret } }`
    const account = {
      ...fake.credentials,
      endpoint: fake.url,
      tokenEndpoint: `${fake.url}/auth/o2/token`,
      marketplaceId: MARKETPLACE,
    }
    const setAccount = async (value: unknown, isSecret: boolean) => {
      const res = await stack.request(SET, {
        input: { key: 'code2asin.sp_api', category: 'code2asin', value, isSecret },
      })
      expect(res.errors).toBeUndefined()
      return res.data.setAppSetting
    }
    // Stored in the clear, it is refused: it must be a secret.
    await setAccount(account, false)
    const clear = await create(stored)
    expect(clear.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.provider' })
    expect(clear.errors?.[0]?.message).toMatch(/not secret/)
    // Incomplete: the missing key is named.
    await setAccount({ clientId: account.clientId, refreshToken: account.refreshToken }, true)
    expect((await create(stored)).errors?.[0]?.message).toMatch(/code2asin\.sp_api has no clientSecret/)

    expect(await setAccount(account, true)).toEqual({ key: 'code2asin.sp_api', value: '***', isSecret: true })
    // The public graph has no way to the value: the internal read is not part of it.
    const internal = await stack.request(`{ internalAppSetting(key: "code2asin.sp_api") { value } }`)
    expect(internal.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED')
    // The stored secrets go only to the stored endpoints: a job cannot point them elsewhere.
    const redirected = await create({ ...stored, tokenEndpoint: 'https://collector.example/token' })
    expect(redirected.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.provider.tokenEndpoint',
    })

    const tokensBefore = fake.tokenRequests
    const created = await create(stored)
    expect(created.errors).toBeUndefined()
    const job0 = created.data.createCode2AsinJob
    expect(job0.provider).toEqual({
      kind: 'AMAZON_SP_API',
      credentialsSetting: 'code2asin.sp_api',
      endpoint: null,
      tokenEndpoint: null,
      marketplaceId: MARKETPLACE,
      clientId: null,
      clientSecret: null,
      refreshToken: null,
      ratePerSecond: 500,
      uploadId: null,
    })
    const done = await finished(job0.id)
    expect(done).toMatchObject({ status: 'COMPLETED', exactMatches: 10, lastError: null })
    expect(fake.tokenRequests).toBeGreaterThan(tokensBefore)
    // The job row holds no credential.
    const row = await stack.subgraphs.code2asin.database.db
      .selectFrom('code2asin_jobs')
      .select('provider_config')
      .where('id', '=', job0.id)
      .executeTakeFirstOrThrow()
    const raw = JSON.stringify(row.provider_config)
    for (const secret of Object.values(fake.credentials)) expect(raw).not.toContain(secret)

    // A rotated secret is read at the next run: a wrong one fails the job without showing it.
    await setAccount({ ...account, clientSecret: 'rotated-but-wrong' }, true)
    const refused = await create(stored)
    const failed = await finished(refused.data.createCode2AsinJob.id)
    expect(failed.status).toBe('FAILED')
    expect(failed.lastError).toMatch(/^PROVIDER_AUTH: /)
    expect(failed.lastError).not.toMatch(/rotated-but-wrong/)
    // Removed since: resuming the failed job fails it again, naming the setting.
    await queueIdle(refused.data.createCode2AsinJob.id)
    const removed = await stack.request(
      `mutation { deleteAppSetting(key: "code2asin.sp_api") { key value } }`,
    )
    expect(removed.data.deleteAppSetting).toEqual({ key: 'code2asin.sp_api', value: '***' })
    await ok(RESUME, { id: refused.data.createCode2AsinJob.id })
    const resumed = await waitFor(
      () => job(refused.data.createCode2AsinJob.id),
      (j) => j.status === 'FAILED' && j.lastError?.startsWith('PROVIDER_CONFIG'),
    )
    expect(resumed.lastError).toMatch(/^PROVIDER_CONFIG: no SP-API credentials: .*code2asin\.sp_api/)
  })
})
