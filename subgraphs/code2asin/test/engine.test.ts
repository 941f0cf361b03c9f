import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { AccountProblem, parseSpApiAccount } from '../src/engine/account'
import { parseLookupTable } from '../src/engine/lookup-table'
import { ProviderError } from '../src/engine/provider'
import {
  bestExact,
  bestFuzzy,
  type CatalogItem,
  gtin14,
  keywordsOf,
  type MatchProduct,
  scoreExact,
  scoreFuzzy,
  tokenSetSimilarity,
} from '../src/engine/scoring'
import { parseItem, SpApiProvider } from '../src/engine/sp-api'
import { type FakeSpApi, MARKETPLACE, startFakeSpApi } from './sp-api-server'

const product = (o: Partial<MatchProduct> = {}): MatchProduct => ({
  id: 'p',
  ean: '4006381333931',
  upc: null,
  gtin: null,
  title: 'Perceuse visseuse Bosch GSR 18V-55 Professional',
  brand: 'Bosch',
  manufacturerReference: '06019H5200',
  ...o,
})

const item = (o: Partial<CatalogItem> = {}): CatalogItem => ({
  asin: 'B0TEST0001',
  title: 'Bosch Professional GSR 18V-55 perceuse visseuse sans fil',
  brand: 'Bosch Professional',
  manufacturer: 'Bosch',
  modelNumber: '06019H5200',
  identifiers: [{ type: 'EAN', value: '4006381333931' }],
  images: [],
  salesRank: null,
  marketplaceId: MARKETPLACE,
  category: null,
  ...o,
})

describe('scoring', () => {
  it('token-set similarity is Dice over normalised words', () => {
    expect(tokenSetSimilarity('Perceuse à percussion', 'PERCEUSE a percussion')).toBe(1)
    expect(tokenSetSimilarity('a b c d', 'a b x y')).toBe(0.5)
    expect(tokenSetSimilarity('', 'a')).toBe(0)
  })

  it('compares codes as GTIN-14 whatever their length', () => {
    expect(gtin14('4006381333931')).toBe('04006381333931')
    expect(gtin14('012345678905')).toBe('00012345678905')
    expect(gtin14('4006-3813-33931')).toBe('04006381333931')
    expect(gtin14('abc')).toBeNull()
  })

  it('scores an identifier match from 90, raised by brand and title agreeing', () => {
    const agreeing = scoreExact(product(), item())!
    expect(agreeing).toBeGreaterThan(95)
    const strange = scoreExact(
      product(),
      item({ brand: 'Acme', manufacturer: null, title: 'Something else' }),
    )
    expect(strange).toBe(90)
    expect(scoreExact(product(), item({ identifiers: [{ type: 'EAN', value: '5012345678900' }] }))).toBeNull()
    // A UPC-A is the same code as its EAN-13 with a leading zero.
    expect(
      scoreExact(
        product({ ean: null, upc: '012345678905' }),
        item({ identifiers: [{ type: 'EAN', value: '0012345678905' }] }),
      ),
    ).not.toBeNull()
  })

  it('scores keyword candidates below any identifier match, and keeps only those above the minimum', () => {
    const close = scoreFuzzy(product({ ean: null }), item({ identifiers: [] }))
    expect(close).toBeGreaterThan(70)
    expect(close).toBeLessThanOrEqual(89)
    const far = item({
      asin: 'B0TEST0002',
      identifiers: [],
      title: 'Tondeuse à gazon',
      brand: 'Makita',
      manufacturer: null,
      modelNumber: null,
    })
    expect(scoreFuzzy(product(), far)).toBeLessThan(20)
    expect(bestFuzzy(product(), [far], 50)).toBeNull()
    expect(bestFuzzy(product(), [far, item()], 50)?.item.asin).toBe('B0TEST0001')
    expect(bestExact(product(), [far, item()])).toMatchObject({
      matchType: 'exact',
      item: { asin: 'B0TEST0001' },
    })
    expect(keywordsOf(product())).toEqual([
      'bosch',
      'perceuse',
      'visseuse',
      'gsr',
      '18v',
      '55',
      'professional',
      '06019h5200',
    ])
  })
})

describe('lookup table', () => {
  it('reads CSV with ; or , and JSON in both forms, codes as GTIN-14', () => {
    const csv = parseLookupTable(
      'EAN;ASIN;Titre\n4006381333931;b0test0001;Perceuse\n012345678905;B0TEST0002;\n',
    )
    expect(csv.get('04006381333931')).toMatchObject({ asin: 'B0TEST0001', title: 'Perceuse', line: 2 })
    expect(csv.get('00012345678905')?.asin).toBe('B0TEST0002')
    expect(parseLookupTable('[{"ean":"4006381333931","asin":"B0TEST0001"}]').size).toBe(1)
    expect(parseLookupTable('{"4006381333931":"B0TEST0001"}', 't.json').size).toBe(1)
    // The same pair twice is one entry.
    expect(parseLookupTable('ean,asin\n4006381333931,B0TEST0001\n4006381333931,B0TEST0001\n').size).toBe(1)
  })

  it('refuses two ASINs for one code naming both lines, and bad lines by number', () => {
    const duplicate = () =>
      parseLookupTable(
        'ean,asin\n4006381333931,B0TEST0001\n5012345678900,B0TEST0003\n4006381333931,B0TEST0002\n',
      )
    expect(duplicate).toThrow(ProviderError)
    expect(duplicate).toThrow(/4006381333931 has two ASINs: B0TEST0001 \(line 2\) and B0TEST0002 \(line 4\)/)
    expect(() => parseLookupTable('ean,asin\n12,B0TEST0001\n')).toThrow(/line 2: "12" is not an EAN/)
    expect(() => parseLookupTable('ean,asin\n4006381333931,nope\n')).toThrow(/line 2: "nope" is not an ASIN/)
    expect(() => parseLookupTable('code;produit\n1;2\n')).toThrow(/"ean" column and an "asin" column/)
    expect(() => parseLookupTable('[1]')).toThrow(/element 1/)
    expect(() => parseLookupTable('{not json')).toThrow(/not valid JSON/)
  })
})

describe('the stored SP-API account (app setting code2asin.sp_api)', () => {
  const account = { clientId: 'id', clientSecret: 'the-secret', refreshToken: 'Atzr|the-token' }
  const problem = (value: unknown, isSecret = true) => {
    try {
      parseSpApiAccount(value === undefined ? null : { value, isSecret })
    } catch (error) {
      expect(error).toBeInstanceOf(AccountProblem)
      expect((error as Error).message).not.toMatch(/the-secret|the-token/)
      return (error as Error).message
    }
    throw new Error('accepted')
  }

  it('fills Amazon’s European endpoints in and keeps the marketplace when given', () => {
    expect(parseSpApiAccount({ value: account, isSecret: true })).toEqual({
      ...account,
      endpoint: 'https://sellingpartnerapi-eu.amazon.com',
      tokenEndpoint: 'https://api.amazon.com/auth/o2/token',
      marketplaceId: null,
    })
    expect(
      parseSpApiAccount({
        value: { ...account, endpoint: 'http://127.0.0.1:9/', marketplaceId: 'A1PA6795UKMFR9' },
        isSecret: true,
      }),
    ).toMatchObject({ endpoint: 'http://127.0.0.1:9', marketplaceId: 'A1PA6795UKMFR9' })
  })

  it('refuses a missing, clear, malformed or incomplete setting, naming it and never its values', () => {
    expect(problem(undefined)).toMatch(/^no SP-API credentials: .*app setting code2asin\.sp_api/)
    expect(problem(account, false)).toMatch(/code2asin\.sp_api is not secret/)
    expect(problem('***')).toMatch(/must be a JSON object/)
    expect(problem({ ...account, refreshToken: undefined })).toMatch(/has no refreshToken/)
    expect(problem({ ...account, clientSecret: '***' })).toMatch(/clientSecret must be a non-empty string/)
    expect(problem({ ...account, tokenEndpoint: 'ftp://x' })).toMatch(
      /tokenEndpoint must be an absolute http/,
    )
    expect(problem({ ...account, marketplaceId: 'fr' })).toMatch(
      /marketplaceId must be an Amazon marketplace/,
    )
  })
})

describe('SP-API provider against a loopback server', () => {
  let fake: FakeSpApi
  const provider = (o: { maxRetries?: number; timeoutMs?: number; clientSecret?: string } = {}) =>
    new SpApiProvider(
      {
        kind: 'sp_api',
        endpoint: fake.url,
        tokenEndpoint: `${fake.url}/auth/o2/token`,
        marketplaceId: MARKETPLACE,
        ...fake.credentials,
        ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}),
        ratePerSecond: 1_000,
        burst: 10,
        timeoutMs: o.timeoutMs ?? 5_000,
      },
      { maxRetries: o.maxRetries ?? 3, allowPrivate: true, retryBaseMs: 1 },
    )

  beforeAll(async () => {
    fake = await startFakeSpApi()
    // 15 codes, two items each: 30 items, two pages of 20.
    fake.add(
      Array.from({ length: 15 }, (_, i) => [
        {
          asin: `B0PAGE${String(i).padStart(4, '0')}`,
          ean: `40000000000${String(i).padStart(2, '0')}`,
          title: `Article ${i}`,
          brand: 'Bosch',
        },
        {
          asin: `B0DUPL${String(i).padStart(4, '0')}`,
          ean: `40000000000${String(i).padStart(2, '0')}`,
          title: `Autre ${i}`,
          brand: 'Acme',
        },
      ]).flat(),
    )
  })
  afterAll(() => fake.close())
  beforeEach(() => {
    fake.behaviour = {
      mode: 'ok',
      first429: 0,
      first503: 0,
      failAfter: Infinity,
      slowMs: 2_000,
      rateLimitHeader: '1000',
    }
    fake.searches.length = 0
  })

  const codes = Array.from({ length: 15 }, (_, i) => `40000000000${String(i).padStart(2, '0')}`)

  it('searches by identifiers across pages, with a token from Login with Amazon', async () => {
    const p = provider()
    const items = await p.searchByIdentifiers('EAN', codes)
    expect(items).toHaveLength(30)
    expect(fake.searches.map((s) => s.query.get('pageToken'))).toEqual([null, expect.any(String)])
    const first = fake.searches[0]!.query
    expect(first.get('identifiersType')).toBe('EAN')
    expect(first.get('marketplaceIds')).toBe(MARKETPLACE)
    expect(first.get('includedData')).toBe('summaries,identifiers,images,salesRanks')
    expect(items[0]).toMatchObject({
      title: 'Article 0',
      brand: 'Bosch',
      marketplaceId: MARKETPLACE,
      salesRank: { rank: 1234 },
    })
    expect(items[0]!.images[0]).toMatch(/B0PAGE0000\.jpg$/)
    expect(p.stats()).toEqual({ requests: 3, retries: 0 })
  })

  it('retries 429 and 5xx, counting retries, and refreshes a refused token', async () => {
    fake.behaviour.first429 = 2
    fake.behaviour.first503 = 1
    const p = provider()
    expect(await p.searchByIdentifiers('EAN', codes.slice(0, 5))).toHaveLength(10)
    expect(p.stats().retries).toBe(3)
    const tokens = fake.tokenRequests
    fake.expireTokens()
    expect(await p.searchByIdentifiers('EAN', codes.slice(0, 1))).toHaveLength(2)
    expect(fake.tokenRequests).toBe(tokens + 1)
  })

  it('gives up after maxRetries: 429 forever and 5xx fail the job, garbage only the lookup', async () => {
    fake.behaviour.mode = '429'
    const limited = await provider({ maxRetries: 2 })
      .searchByIdentifiers('EAN', codes)
      .catch((e) => e)
    expect(limited).toMatchObject({ code: 'PROVIDER_RATE_LIMITED', fatal: true })
    expect(limited.message).toMatch(/kept answering 429.*after 2 retries/)
    fake.behaviour.mode = '500'
    expect(
      await provider({ maxRetries: 1 })
        .searchByIdentifiers('EAN', codes)
        .catch((e) => e),
    ).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      fatal: true,
    })
    fake.behaviour.mode = 'garbage'
    expect(
      await provider({ maxRetries: 1 })
        .searchByKeywords(['a'], null)
        .catch((e) => e),
    ).toMatchObject({
      code: 'PROVIDER_BAD_RESPONSE',
      fatal: false,
    })
  })

  it('times out a silent provider, and refuses bad credentials at once', async () => {
    fake.behaviour.mode = 'slow'
    expect(
      await provider({ maxRetries: 1, timeoutMs: 100 })
        .searchByIdentifiers('EAN', codes)
        .catch((e) => e),
    ).toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      fatal: true,
    })
    fake.behaviour.mode = 'ok'
    const refused = await provider({ clientSecret: 'wrong' })
      .searchByIdentifiers('EAN', codes)
      .catch((e) => e)
    expect(refused).toMatchObject({ code: 'PROVIDER_AUTH', fatal: true })
    expect(refused.message).toMatch(/invalid grant/)
    expect(refused.message).not.toMatch(/wrong/)
  })

  it('drops items without a valid ASIN', () => {
    expect(parseItem({ asin: 'nope' }, MARKETPLACE)).toBeNull()
    expect(
      parseItem(
        { asin: 'B0TEST0001', summaries: 'x', images: [{ images: [{ link: 'javascript:x' }] }] },
        MARKETPLACE,
      ),
    ).toMatchObject({
      asin: 'B0TEST0001',
      title: null,
      images: [],
    })
  })
})
