import { randomUUID } from 'node:crypto'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let stack: TestStack<'catalog' | 'code2asin' | 'analytics'>
const supplierId = randomUUID()
const supplierProducts = [randomUUID(), randomUUID(), randomUUID()]
const [p1, p2, p3, p4, p5] = Array.from({ length: 5 }, () => randomUUID()) as [
  string,
  string,
  string,
  string,
  string,
]

const JOB_FIELDS = `id name status supplierCode totalCodes processedCodes successfulConversions failedConversions
  progressPercentage exactMatches fuzzyMatches noMatches batchSize maxRetries searchConfig startedAt completedAt`

const CREATE = `mutation($input: CreateCode2AsinJobInput!) { createCode2AsinJob(input: $input) { ${JOB_FIELDS} } }`
const RECORD = `mutation($jobId: UUID!, $results: [Code2AsinResultInput!]!) {
  recordAsinResults(jobId: $jobId, results: $results) {
    job { ${JOB_FIELDS} }
    recorded { id productId productEan asin matchType matchConfidence amazonPrice amazonCurrency amazonRating }
    unchangedCount
    rejected { index field code message }
  }
}`
const VERIFY = `mutation($id: UUID!, $verified: Boolean!, $asin: String, $matchType: AsinMatchType) {
  verifyAsinMatch(resultId: $id, verified: $verified, asin: $asin, matchType: $matchType) {
    id asin matchType matchConfidence isVerified amazonTitle job { successfulConversions failedConversions }
  }
}`
const CANCEL = `mutation($id: UUID!) { cancelCode2AsinJob(id: $id) { id status completedAt } }`

async function expectError(query: string, variables: Record<string, unknown>, code: string, field?: string) {
  const res = await stack.request(query, variables)
  expect(res.errors?.[0]?.extensions).toMatchObject({ code, ...(field ? { field } : {}) })
  return res.errors![0]!
}

async function createJob(input: Record<string, unknown>) {
  const res = await stack.request(CREATE, { input })
  expect(res.errors).toBeUndefined()
  return res.data.createCode2AsinJob
}

async function record(jobId: string, results: Record<string, unknown>[]) {
  const res = await stack.request(RECORD, { jobId, results })
  expect(res.errors).toBeUndefined()
  return res.data.recordAsinResults
}

/** The counters as the seed defines them, computed here from the job's result rows. */
async function countersFromResults(jobId: string) {
  const rows = await stack.subgraphs.code2asin.database.db
    .selectFrom('code2asin_results')
    .select(['product_id', 'asin', 'match_type'])
    .where('job_id', '=', jobId)
    .execute()
  const products = new Set(rows.map((r) => r.product_id))
  const matched = new Set(rows.filter((r) => r.asin !== null).map((r) => r.product_id))
  return {
    processedCodes: products.size,
    successfulConversions: matched.size,
    failedConversions: products.size - matched.size,
    exactMatches: rows.filter((r) => r.match_type === 'exact').length,
    fuzzyMatches: rows.filter((r) => r.match_type === 'partial' || r.match_type === 'fuzzy').length,
    noMatches: rows.filter((r) => r.asin === null).length,
  }
}

const match = (productId: string, asin: string, matchType: string, matchConfidence: string, extra = {}) => ({
  productId,
  asin,
  matchType,
  matchConfidence,
  ...extra,
})

beforeAll(async () => {
  stack = await startTestStack({ only: ['catalog', 'code2asin', 'analytics'] })
  const catalog = stack.subgraphs.catalog.database.db
  await catalog
    .insertInto('suppliers')
    .values({ id: supplierId, code: 'ASIN-SUP', name: 'Asin supplier' })
    .execute()
  await catalog
    .insertInto('products')
    .values([
      ...supplierProducts.map((id, i) => ({ id, title: `Supplied ${i}`, supplier_id: supplierId })),
      ...[p1, p2, p3, p4, p5].map((id, i) => ({ id, title: `Product ${i + 1}` })),
    ])
    .execute()
}, 120_000)
afterAll(() => stack?.stop())

describe('createCode2AsinJob', () => {
  it('creates a job for a set of products, checked with the catalog, and audits it in analytics', async () => {
    const job = await createJob({
      name: '  Weekly match ',
      productIds: [p1, p2, p3, p4, p1.toUpperCase()],
      searchConfig: { marketplace: 'amazon.fr' },
    })
    expect(job).toMatchObject({
      name: 'Weekly match',
      status: 'PENDING',
      supplierCode: null,
      totalCodes: 4,
      processedCodes: 0,
      progressPercentage: 0,
      batchSize: 100,
      maxRetries: 5,
      searchConfig: { marketplace: 'amazon.fr', productIds: [p1, p2, p3, p4] },
    })
    await stack.subgraphs.code2asin.server.auditRelay.flush()
    const audit = await stack.subgraphs.analytics.database.db
      .selectFrom('audit_logs')
      .select(['action', 'entity_type', 'changes'])
      .where('entity_id', '=', job.id)
      .execute()
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ action: 'create', entity_type: 'code2asin_job' })
    expect((audit[0]!.changes as any).after).toMatchObject({
      totalCodes: 4,
      searchConfig: { marketplace: 'amazon.fr' },
    })
  })

  it('creates a job for a supplier with its product count', async () => {
    const job = await createJob({ supplierCode: ' ASIN-SUP ', batchSize: 50 })
    expect(job).toMatchObject({
      name: 'Code2ASIN – ASIN-SUP',
      supplierCode: 'ASIN-SUP',
      totalCodes: 3,
      batchSize: 50,
    })
  })

  it('refuses bad input naming the field, and unknown products or suppliers with NOT_FOUND', async () => {
    await expectError(
      CREATE,
      { input: { productIds: [p1], supplierCode: 'ASIN-SUP' } },
      'BAD_USER_INPUT',
      'input.productIds',
    )
    await expectError(CREATE, { input: { name: 'nothing' } }, 'BAD_USER_INPUT', 'input.productIds')
    await expectError(CREATE, { input: { productIds: [] } }, 'BAD_USER_INPUT', 'input.productIds')
    await expectError(
      CREATE,
      { input: { productIds: [p1], batchSize: 0 } },
      'BAD_USER_INPUT',
      'input.batchSize',
    )
    await expectError(
      CREATE,
      { input: { productIds: [p1], name: 'n'.repeat(256) } },
      'BAD_USER_INPUT',
      'input.name',
    )
    await expectError(
      CREATE,
      { input: { productIds: [p1], searchConfig: { productIds: [] } } },
      'BAD_USER_INPUT',
      'input.searchConfig.productIds',
    )
    const unknown = await expectError(
      CREATE,
      { input: { productIds: [p1, randomUUID(), p2] } },
      'NOT_FOUND',
      'input.productIds[1]',
    )
    expect(unknown.message).toContain('catalog has no product')
    await expectError(CREATE, { input: { supplierCode: 'NOPE' } }, 'NOT_FOUND', 'input.supplierCode')
  })
})

describe('recordAsinResults', () => {
  it('keeps counters and progress consistent with the results, and a retried batch counts once', async () => {
    const job = await createJob({ productIds: [p1, p2, p3, p4] })
    const batch1 = [
      match(p1, 'B0ABCDEF01', 'EXACT', '99.5', {
        productEan: '4006381333931',
        amazonPrice: '19.9',
        amazonRating: '4.5',
        amazonData: { prime: true },
      }),
      match(p2, 'b0abcdef02', 'FUZZY', '71'),
      match(p2, 'B0ABCDEF03', 'PARTIAL', '80.25'),
    ]
    const first = await record(job.id, batch1)
    expect(first.rejected).toEqual([])
    expect(first.unchangedCount).toBe(0)
    expect(first.recorded).toHaveLength(3)
    expect(first.recorded.find((r: any) => r.productId === p1)).toMatchObject({
      productEan: '4006381333931',
      matchConfidence: '99.50',
      amazonPrice: '19.90',
      amazonCurrency: 'EUR',
      amazonRating: '4.50',
    })
    expect(first.recorded.find((r: any) => r.matchType === 'FUZZY').asin).toBe('B0ABCDEF02')
    expect(first.job).toMatchObject({
      status: 'RUNNING',
      processedCodes: 2,
      successfulConversions: 2,
      failedConversions: 0,
      exactMatches: 1,
      fuzzyMatches: 2,
      noMatches: 0,
      progressPercentage: 50,
      completedAt: null,
    })
    expect(first.job.startedAt).not.toBeNull()

    // The partner retries the same batch (lost acknowledgement): nothing is written or counted twice.
    const retry = await record(job.id, batch1)
    expect(retry.recorded).toEqual([])
    expect(retry.unchangedCount).toBe(3)
    expect(retry.job).toEqual(first.job)

    const batch2 = [
      { productId: p3 },
      match(p4, '0306406152', 'MANUAL', '100'),
      match(p4, 'A123', 'EXACT', '90'),
      match(p4, 'B0ABCDEF09', 'EXACT', '101'),
      match(p5, 'B0ABCDEF05', 'EXACT', '90'),
      match(p4, 'B0ABCDEF06', 'EXACT', '90', { productEan: '4006381333932' }),
      { productId: p3, matchType: 'EXACT' },
      match(p4, '0306406153', 'EXACT', '90'),
      match(p4, 'B0ABCDEF07', 'EXACT', '90', { amazonCurrency: 'EURO' }),
      match(p4, 'B0ABCDEF08', 'EXACT', '90', { amazonRating: '5.01' }),
      { productId: p3 },
    ]
    const second = await record(job.id, batch2)
    expect(second.rejected.map((r: any) => [r.index, r.field, r.code])).toEqual([
      [2, 'results[2].asin', 'BAD_USER_INPUT'],
      [3, 'results[3].matchConfidence', 'BAD_USER_INPUT'],
      [4, 'results[4].productId', 'BAD_USER_INPUT'],
      [5, 'results[5].productEan', 'BAD_USER_INPUT'],
      [6, 'results[6].matchType', 'BAD_USER_INPUT'],
      [7, 'results[7].asin', 'BAD_USER_INPUT'],
      [8, 'results[8].amazonCurrency', 'BAD_USER_INPUT'],
      [9, 'results[9].amazonRating', 'BAD_USER_INPUT'],
    ])
    expect(second.rejected[1].message).toContain('at most 100')
    expect(second.recorded.map((r: any) => r.asin).sort()).toEqual(['0306406152', null])
    expect(second.unchangedCount).toBe(1)
    expect(second.job).toMatchObject({
      status: 'COMPLETED',
      processedCodes: 4,
      successfulConversions: 3,
      failedConversions: 1,
      exactMatches: 1,
      fuzzyMatches: 2,
      noMatches: 1,
      progressPercentage: 100,
    })
    expect(second.job.completedAt).not.toBeNull()
    expect(second.job).toMatchObject(await countersFromResults(job.id))

    // A retry of the last batch after completion is still harmless.
    const late = await record(job.id, batch2)
    expect(late.recorded).toEqual([])
    expect(late.job).toEqual(second.job)

    const rows = await stack.subgraphs.code2asin.database.db
      .selectFrom('code2asin_results')
      .select('id')
      .where('job_id', '=', job.id)
      .execute()
    expect(rows).toHaveLength(5)

    // Readable through the graph, next to the catalog's fields.
    const product = await stack.request(
      `query($id: UUID!) { product(id: $id) { title bestAsinMatch { asin matchType } asinMatches { asin } } }`,
      { id: p2 },
    )
    expect(product.data.product).toEqual({
      title: 'Product 2',
      bestAsinMatch: { asin: 'B0ABCDEF03', matchType: 'PARTIAL' },
      asinMatches: [{ asin: 'B0ABCDEF03' }, { asin: 'B0ABCDEF02' }],
    })

    await stack.subgraphs.code2asin.server.auditRelay.flush()
    const audit = await stack.subgraphs.analytics.database.db
      .selectFrom('audit_logs')
      .select(['action', 'changes'])
      .where('entity_id', '=', job.id)
      .where('action', '=', 'record_results')
      .execute()
    // One entry per call that wrote something: the two retries wrote nothing.
    expect(audit).toHaveLength(2)
    expect(audit.map((a) => (a.changes as any).resultIds.length).sort()).toEqual([2, 3])
  })

  it('counts once when the same batch is sent concurrently', async () => {
    const job = await createJob({ supplierCode: 'ASIN-SUP' })
    const batch = supplierProducts.slice(0, 2).map((id, i) => match(id, `B0CONCUR0${i}`, 'EXACT', '95'))
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => stack.request(RECORD, { jobId: job.id, results: batch })),
    )
    for (const a of answers) expect(a.errors).toBeUndefined()
    expect(answers.reduce((n, a) => n + a.data.recordAsinResults.recorded.length, 0)).toBe(2)
    const final = await stack.request(`query($id: UUID!) { code2asinJob(id: $id) { ${JOB_FIELDS} } }`, {
      id: job.id,
    })
    expect(final.data.code2asinJob).toMatchObject({ status: 'RUNNING', processedCodes: 2, exactMatches: 2 })
    expect(final.data.code2asinJob.progressPercentage).toBe(66)
    expect(final.data.code2asinJob).toMatchObject(await countersFromResults(job.id))
  })

  it('refuses an unknown job, an empty or oversized call, and a cancelled job', async () => {
    await expectError(RECORD, { jobId: randomUUID(), results: [{ productId: p1 }] }, 'NOT_FOUND', 'jobId')
    await expectError(RECORD, { jobId: randomUUID(), results: [] }, 'BAD_USER_INPUT', 'results')
    const tooMany = Array.from({ length: 1001 }, () => ({ productId: p1 }))
    await expectError(RECORD, { jobId: randomUUID(), results: tooMany }, 'BAD_USER_INPUT', 'results')

    const job = await createJob({ productIds: [p5] })
    const cancelled = await stack.request(CANCEL, { id: job.id })
    expect(cancelled.data.cancelCode2AsinJob).toMatchObject({ id: job.id, status: 'CANCELLED' })
    expect(cancelled.data.cancelCode2AsinJob.completedAt).not.toBeNull()
    expect((await stack.request(CANCEL, { id: job.id })).data.cancelCode2AsinJob.status).toBe('CANCELLED')
    await expectError(RECORD, { jobId: job.id, results: [{ productId: p5 }] }, 'CONFLICT', 'jobId')
  })
})

describe('verifyAsinMatch and cancelCode2AsinJob', () => {
  it('verifies a match, records a manual one, and keeps the job counters in step', async () => {
    const job = await createJob({ productIds: [p1, p2] })
    const { recorded } = await record(job.id, [
      match(p1, 'B0VERIFY01', 'FUZZY', '60', { amazonTitle: 'Wrong' }),
      { productId: p2 },
    ])
    const fuzzy = recorded.find((r: any) => r.asin === 'B0VERIFY01')
    const none = recorded.find((r: any) => r.asin === null)

    const verified = await stack.request(VERIFY, { id: fuzzy.id, verified: true })
    expect(verified.data.verifyAsinMatch).toMatchObject({
      isVerified: true,
      matchType: 'FUZZY',
      matchConfidence: '60.00',
    })

    const manual = await stack.request(VERIFY, {
      id: none.id,
      verified: true,
      asin: 'b0manual01',
      matchType: 'MANUAL',
    })
    expect(manual.errors).toBeUndefined()
    expect(manual.data.verifyAsinMatch).toMatchObject({
      asin: 'B0MANUAL01',
      matchType: 'MANUAL',
      matchConfidence: '100.00',
      isVerified: true,
      job: { successfulConversions: 2, failedConversions: 0 },
    })

    const replaced = await stack.request(VERIFY, { id: fuzzy.id, verified: true, asin: 'B0VERIFY02' })
    expect(replaced.data.verifyAsinMatch).toMatchObject({
      asin: 'B0VERIFY02',
      matchType: 'MANUAL',
      amazonTitle: null,
    })
    const after = await stack.request(`query($id: UUID!) { code2asinJob(id: $id) { ${JOB_FIELDS} } }`, {
      id: job.id,
    })
    expect(after.data.code2asinJob).toMatchObject(await countersFromResults(job.id))

    await expectError(VERIFY, { id: fuzzy.id, verified: true, asin: 'B0-BAD' }, 'BAD_USER_INPUT', 'asin')
    await expectError(
      VERIFY,
      { id: fuzzy.id, verified: true, matchType: 'EXACT' },
      'BAD_USER_INPUT',
      'matchType',
    )
    await expectError(VERIFY, { id: randomUUID(), verified: true }, 'NOT_FOUND', 'resultId')
    // Another result of the product already holds that asin.
    const { recorded: more } = await record(job.id, [match(p1, 'B0VERIFY03', 'EXACT', '97')])
    await expectError(VERIFY, { id: more[0].id, verified: true, asin: 'B0VERIFY02' }, 'CONFLICT', 'asin')
    // A no-match result cannot be verified without an asin.
    const other = await createJob({ productIds: [p3] })
    const { recorded: empty } = await record(other.id, [{ productId: p3 }])
    await expectError(VERIFY, { id: empty[0].id, verified: true }, 'BAD_USER_INPUT', 'verified')
  })

  it('cancels only pending or running jobs', async () => {
    const job = await createJob({ productIds: [p1] })
    await record(job.id, [match(p1, 'B0CANCEL01', 'EXACT', '99')])
    await expectError(CANCEL, { id: job.id }, 'CONFLICT', 'id')
    await expectError(CANCEL, { id: randomUUID() }, 'NOT_FOUND', 'id')
  })
})

describe('with catalog down', () => {
  it('answers SERVICE_UNAVAILABLE for a new job, while recording results needs no catalog', async () => {
    const job = await createJob({ productIds: [p4] })
    await stack.subgraphs.catalog.server.stop()
    await expectError(CREATE, { input: { productIds: [p1] } }, 'SERVICE_UNAVAILABLE')
    await expectError(CREATE, { input: { supplierCode: 'ASIN-SUP' } }, 'SERVICE_UNAVAILABLE')
    const done = await record(job.id, [match(p4, 'B0OFFLINE1', 'EXACT', '98')])
    expect(done.job).toMatchObject({ status: 'COMPLETED', progressPercentage: 100 })
  })
})
