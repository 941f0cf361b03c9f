import { randomUUID } from 'node:crypto'
import { startTestSubgraph, type TestSubgraph } from '@pm/testing/subgraph'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subgraph } from '../src/module'

let sg: TestSubgraph<'code2asin'>
const sameInstant = new Date('2026-01-01T00:00:00Z')
const at = (minute: number) => new Date(Date.UTC(2026, 1, 1, 0, minute))

// Seven jobs sharing one created_at: pagination must still neither skip nor repeat.
const jobs = Array.from({ length: 7 }, (_, i) => ({
  id: randomUUID(),
  name: `job ${i}`,
  status: i < 4 ? 'completed' : 'running',
  supplier_code: i % 2 === 0 ? 'SUP-A' : 'SUP-B',
  total_codes: 200,
  processed_codes: 150,
  progress_percentage: 75,
  search_config: { marketplace: 'FR' },
  created_at: sameInstant,
}))

// 50 products, three results each, spread over the jobs: confidences 95.50, 80.00 and unscored.
const products = Array.from({ length: 50 }, () => randomUUID())
const results = products.flatMap((productId, p) =>
  (['80.00', null, '95.50'] as const).map((confidence, i) => ({
    id: randomUUID(),
    job_id: jobs[(p + i) % jobs.length]!.id,
    product_id: productId,
    product_ean: `376000000${String(p).padStart(4, '0')}`,
    asin: `B0${String(p).padStart(3, '0')}${i}XXXXX`,
    match_confidence: confidence,
    match_type: i === 2 ? 'exact' : 'fuzzy',
    amazon_price: '19.90',
    amazon_rating: '4.50',
    amazon_data: { bsr: p },
    // Results of one job share processed_at in pairs: nested pages must handle ties too.
    processed_at: at(Math.floor(p / 2)),
  })),
)

// Ranking cases, each its own product.
const tieVerified = randomUUID()
const tieNewest = randomUUID()
const onlyUnscored = randomUUID()
const scoredBeatsNull = randomUUID()
const ids = Object.fromEntries(
  ['verifiedOld', 'unverifiedNew', 'old', 'new', 'nullOld', 'nullNewVerified', 'low', 'unscoredVerified'].map(
    (k) => [k, randomUUID()],
  ),
)
const rankingRows = [
  {
    id: ids.verifiedOld!,
    product_id: tieVerified,
    match_confidence: '90.00',
    is_verified: true,
    processed_at: at(1),
  },
  {
    id: ids.unverifiedNew!,
    product_id: tieVerified,
    match_confidence: '90.00',
    is_verified: null,
    processed_at: at(9),
  },
  { id: ids.old!, product_id: tieNewest, match_confidence: '70.25', is_verified: false, processed_at: at(1) },
  { id: ids.new!, product_id: tieNewest, match_confidence: '70.25', is_verified: null, processed_at: at(2) },
  {
    id: ids.nullOld!,
    product_id: onlyUnscored,
    match_confidence: null,
    is_verified: false,
    processed_at: at(1),
  },
  {
    id: ids.nullNewVerified!,
    product_id: onlyUnscored,
    match_confidence: null,
    is_verified: true,
    processed_at: at(0),
  },
  {
    id: ids.low!,
    product_id: scoredBeatsNull,
    match_confidence: '0.01',
    is_verified: false,
    processed_at: at(0),
  },
  {
    id: ids.unscoredVerified!,
    product_id: scoredBeatsNull,
    match_confidence: null,
    is_verified: true,
    processed_at: at(5),
  },
].map((r) => ({ ...r, job_id: jobs[0]!.id, asin: 'B0RANKING0' }))

beforeAll(async () => {
  sg = await startTestSubgraph(subgraph)
  await sg.database.db.insertInto('code2asin_jobs').values(jobs).execute()
  await sg.database.db
    .insertInto('code2asin_results')
    .values([...results, ...rankingRows])
    .execute()
})
afterAll(() => sg?.stop())

const best = async (productId: string) => {
  const res = await sg.request(
    `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { bestAsinMatch { id } asinMatches { id } } } }`,
    { r: [{ __typename: 'Product', id: productId }] },
  )
  expect(res.errors).toBeUndefined()
  return res.data._entities[0] as { bestAsinMatch: { id: string } | null; asinMatches: { id: string }[] }
}

describe('code2asin subgraph', () => {
  it('resolves Code2AsinJob entities, null for a missing id', async () => {
    const res = await sg.request(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Code2AsinJob { id name progressPercentage searchConfig } } }`,
      {
        r: [
          { __typename: 'Code2AsinJob', id: jobs[2]!.id },
          { __typename: 'Code2AsinJob', id: randomUUID() },
        ],
      },
    )
    expect(res.errors).toBeUndefined()
    expect(res.data._entities).toEqual([
      { id: jobs[2]!.id, name: 'job 2', progressPercentage: 75, searchConfig: { marketplace: 'FR' } },
      null,
    ])
  })

  it('resolves Product entities; a product without matches gets an empty list and no best match', async () => {
    const missing = randomUUID()
    const res = await sg.request(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id asinMatches { matchConfidence } bestAsinMatch { matchConfidence } } } }`,
      {
        r: [
          { __typename: 'Product', id: products[0] },
          { __typename: 'Product', id: missing },
        ],
      },
    )
    expect(res.errors).toBeUndefined()
    expect(res.data._entities).toEqual([
      {
        id: products[0],
        asinMatches: [{ matchConfidence: '95.50' }, { matchConfidence: '80.00' }, { matchConfidence: null }],
        bestAsinMatch: { matchConfidence: '95.50' },
      },
      { id: missing, asinMatches: [], bestAsinMatch: null },
    ])
  })

  it('picks the best match: the verified one first, then the highest score, then the newest', async () => {
    const verified = await best(tieVerified)
    expect(verified.bestAsinMatch).toEqual({ id: ids.verifiedOld })
    expect(verified.asinMatches.map((m) => m.id)).toEqual([ids.verifiedOld, ids.unverifiedNew])
    expect((await best(tieNewest)).bestAsinMatch).toEqual({ id: ids.new })
    expect((await best(onlyUnscored)).bestAsinMatch).toEqual({ id: ids.nullNewVerified })
    // The verified match is the product's ASIN, whatever the scores.
    const scored = await best(scoredBeatsNull)
    expect(scored.bestAsinMatch).toEqual({ id: ids.unscoredVerified })
    expect(scored.asinMatches.map((m) => m.id)).toEqual([ids.unscoredVerified, ids.low])
  })

  it('returns Decimals exactly as stored and points results at their product and job', async () => {
    const res = await sg.request(
      `{ code2asinResultsByAsin(asin: "${results[2]!.asin}") { totalCount edges { node { id matchConfidence amazonPrice amazonRating amazonCurrency amazonData product { id } job { id } } } } }`,
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.code2asinResultsByAsin).toEqual({
      totalCount: 1,
      edges: [
        {
          node: {
            id: results[2]!.id,
            matchConfidence: '95.50',
            amazonPrice: '19.90',
            amazonRating: '4.50',
            amazonCurrency: 'EUR',
            amazonData: { bsr: 0 },
            product: { id: products[0] },
            job: { id: results[2]!.job_id },
          },
        },
      ],
    })
    const none = await sg.request(
      '{ code2asinResultsByAsin(asin: "B0NOTHERE0") { totalCount edges { cursor } } }',
    )
    expect(none.data.code2asinResultsByAsin).toEqual({ totalCount: 0, edges: [] })
  })

  it('looks a job up by id, null when missing, and filters jobs by status and supplier', async () => {
    const res = await sg.request(
      `{ a: code2asinJob(id: "${jobs[5]!.id}") { status supplierCode createdAt }
         b: code2asinJob(id: "${randomUUID()}") { id }
         running: code2asinJobs(status: RUNNING) { totalCount }
         runningB: code2asinJobs(status: RUNNING, supplierCode: "SUP-B") { totalCount edges { node { name } } } }`,
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.a).toEqual({
      status: 'RUNNING',
      supplierCode: 'SUP-B',
      createdAt: '2026-01-01T00:00:00.000Z',
    })
    expect(res.data.b).toBeNull()
    expect(res.data.running.totalCount).toBe(3)
    expect(res.data.runningB).toEqual({ totalCount: 1, edges: [{ node: { name: 'job 5' } }] })
  })

  it('walks jobs two by two across ties in created_at without skipping or repeating', async () => {
    const seen: string[] = []
    let after: string | null = null
    for (let page = 0; page < 10; page++) {
      const res: any = await sg.request(
        'query($after: String) { code2asinJobs(first: 2, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      )
      expect(res.errors).toBeUndefined()
      expect(res.data.code2asinJobs.totalCount).toBe(7)
      seen.push(...res.data.code2asinJobs.edges.map((e: any) => e.node.id))
      if (!res.data.code2asinJobs.pageInfo.hasNextPage) break
      after = res.data.code2asinJobs.pageInfo.endCursor
    }
    expect(seen).toHaveLength(7)
    expect(new Set(seen)).toEqual(new Set(jobs.map((j) => j.id)))
  })

  it("walks a job's results by match type across ties in processed_at", async () => {
    const job = jobs[1]!
    const expected = results.filter((r) => r.job_id === job.id && r.match_type === 'fuzzy').map((r) => r.id)
    const seen: string[] = []
    let after: string | null = null
    for (let page = 0; page < 30; page++) {
      const res: any = await sg.request(
        `query($after: String) { code2asinJob(id: "${job.id}") { results(matchType: FUZZY, first: 3, after: $after) { totalCount edges { node { id matchType } } pageInfo { hasNextPage endCursor } } } }`,
        { after },
      )
      expect(res.errors).toBeUndefined()
      const conn = res.data.code2asinJob.results
      expect(conn.totalCount).toBe(expected.length)
      expect(conn.edges.every((e: any) => e.node.matchType === 'FUZZY')).toBe(true)
      seen.push(...conn.edges.map((e: any) => e.node.id))
      if (!conn.pageInfo.hasNextPage) break
      after = conn.pageInfo.endCursor
    }
    expect(seen).toHaveLength(expected.length)
    expect(new Set(seen)).toEqual(new Set(expected))
  })

  it('rejects a forged cursor and an oversized page with BAD_USER_INPUT', async () => {
    const forged = Buffer.from(JSON.stringify(['CREATED_AT:DESC', 'not-a-date', randomUUID()])).toString(
      'base64url',
    )
    const a = await sg.request(`{ code2asinJobs(after: "${forged}") { totalCount } }`)
    expect(a.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    const b = await sg.request(
      `{ code2asinJob(id: "${jobs[0]!.id}") { results(after: "garbage") { totalCount } } }`,
    )
    expect(b.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    const c = await sg.request('{ code2asinResultsByAsin(asin: "X", first: 101) { totalCount } }')
    expect(c.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('runs the same number of statements for 5 and for 50 products', async () => {
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { asinMatches { id matchConfidence product { id } } bestAsinMatch { id } } } }`
    const run = async (n: number) => {
      const before = sg.queryCount()
      const res = await sg.request(query, {
        r: products.slice(0, n).map((id) => ({ __typename: 'Product', id })),
      })
      expect(res.errors).toBeUndefined()
      for (const p of res.data._entities) {
        expect(p.asinMatches).toHaveLength(3)
        expect(p.bestAsinMatch.id).toBe(p.asinMatches[0].id)
      }
      return sg.queryCount() - before
    }
    const five = await run(5)
    const fifty = await run(50)
    // asin matches + best matches.
    expect(five).toBe(2)
    expect(fifty).toBe(five)
  })

  it('pages every job its results in the same number of statements for first: 5 and first: 50', async () => {
    const query = `query($n: Int) { code2asinJobs(first: 10) { edges { node { id results(first: $n) { totalCount edges { node { id job { id } } } } } } } }`
    const run = async (n: number) => {
      const before = sg.queryCount()
      const res = await sg.request(query, { n })
      expect(res.errors).toBeUndefined()
      for (const edge of res.data.code2asinJobs.edges) {
        const expected = [...results, ...rankingRows].filter((r) => r.job_id === edge.node.id).length
        expect(edge.node.results.totalCount).toBe(expected)
        expect(edge.node.results.edges).toHaveLength(Math.min(n, expected))
        expect(edge.node.results.edges.every((e: any) => e.node.job.id === edge.node.id)).toBe(true)
      }
      return sg.queryCount() - before
    }
    const five = await run(5)
    const fifty = await run(50)
    // jobs page + results page + results counts + jobs of the results.
    expect(five).toBe(4)
    expect(fifty).toBe(five)
  })
})
