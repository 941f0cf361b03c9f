import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

/**
 * A loopback stand-in for Amazon's Login with Amazon token endpoint and the Selling Partner API's Catalog Items
 * 2022-04-01 searchCatalogItems, answering the documented shapes: identifiers (≤ 20, identifiersType) or
 * keywords search, marketplaceIds, includedData, pageSize/pageToken pagination, errors as { errors: [...] },
 * x-amzn-RateLimit-Limit on every answer. `behaviour` turns on 429s, 5xx, garbage and slowness.
 */
export interface FakeItem {
  asin: string
  ean?: string
  upc?: string
  title: string
  brand: string
  modelNumber?: string
  rank?: number
}

export interface Behaviour {
  /** Answers to searchCatalogItems: 'ok', '429' (always), '500' (always), 'garbage' (200, not JSON), 'slow'. */
  mode: 'ok' | '429' | '500' | 'garbage' | 'slow'
  /** The first N searches answer 429 (then `mode`). */
  first429: number
  /** The first N searches answer 503 (then `mode`). */
  first503: number
  /** Delay of a 'slow' answer. */
  slowMs: number
  /** After N searches, every search answers 429. */
  failAfter: number
  /** Sent in x-amzn-RateLimit-Limit. */
  rateLimitHeader: string
  /** The most items a page holds (Amazon's limit is 20; it may answer fewer than asked). */
  maxPageSize?: number
}

export interface FakeSpApi {
  url: string
  credentials: { clientId: string; clientSecret: string; refreshToken: string }
  behaviour: Behaviour
  /** Every searchCatalogItems request received (time in ms from performance.now, its query). */
  searches: { at: number; query: URLSearchParams; status: number }[]
  tokenRequests: number
  add(items: FakeItem[]): void
  /** Tokens issued so far stop working (the next search gets 401 and must refresh). */
  expireTokens(): void
  close(): Promise<void>
}

export const MARKETPLACE = 'A13V1IB3VIYZZH'

/** An EAN-13: the 12 digits given and their check digit (for the tests' catalogues). */
export function ean(body12: string) {
  const sum = [...body12].reduce((s, d, i) => s + Number(d) * (i % 2 ? 3 : 1), 0)
  return body12 + ((10 - (sum % 10)) % 10)
}

const words = (s: string) =>
  new Set(
    s
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter(Boolean),
  )

function itemJson(item: FakeItem, included: Set<string>) {
  const out: Record<string, unknown> = { asin: item.asin }
  if (included.has('summaries')) {
    out.summaries = [
      {
        marketplaceId: MARKETPLACE,
        brand: item.brand,
        itemName: item.title,
        manufacturer: item.brand,
        modelNumber: item.modelNumber,
        browseClassification: { displayName: 'Bricolage', classificationId: '590748031' },
      },
    ]
  }
  if (included.has('identifiers')) {
    out.identifiers = [
      {
        marketplaceId: MARKETPLACE,
        identifiers: [
          ...(item.ean ? [{ identifierType: 'EAN', identifier: item.ean }] : []),
          ...(item.upc ? [{ identifierType: 'UPC', identifier: item.upc }] : []),
        ],
      },
    ]
  }
  if (included.has('images')) {
    out.images = [
      {
        marketplaceId: MARKETPLACE,
        images: [
          {
            variant: 'PT01',
            link: `https://m.media-amazon.com/images/I/${item.asin}-2.jpg`,
            height: 500,
            width: 500,
          },
          {
            variant: 'MAIN',
            link: `https://m.media-amazon.com/images/I/${item.asin}.jpg`,
            height: 1000,
            width: 1000,
          },
        ],
      },
    ]
  }
  if (included.has('salesRanks')) {
    out.salesRanks = [
      {
        marketplaceId: MARKETPLACE,
        displayGroupRanks: [
          {
            websiteDisplayGroup: 'home_improvement_display_on_website',
            title: 'Bricolage',
            rank: item.rank ?? 1234,
          },
        ],
      },
    ]
  }
  return out
}

const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text)
}

async function readBody(req: IncomingMessage) {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function startFakeSpApi(): Promise<FakeSpApi> {
  const byCode = new Map<string, FakeItem[]>()
  // Keyword search through an index of the titles' words (the benchmark holds 10,000 items).
  const byWord = new Map<string, FakeItem[]>()
  const valid = new Set<string>()
  let tokens = 0
  const credentials = {
    clientId: 'amzn1.application-oa2-client.test',
    clientSecret: 'lwa-secret',
    refreshToken: 'Atzr|refresh',
  }
  const fake: FakeSpApi = {
    url: '',
    credentials,
    behaviour: {
      mode: 'ok',
      first429: 0,
      first503: 0,
      failAfter: Infinity,
      slowMs: 2_000,
      rateLimitHeader: '2.0',
    },
    searches: [],
    tokenRequests: 0,
    add(list) {
      for (const item of list) {
        for (const w of words(item.title)) {
          const bucket = byWord.get(w)
          if (bucket) bucket.push(item)
          else byWord.set(w, [item])
        }
        for (const code of [item.ean, item.upc]) {
          if (!code) continue
          const key = code.padStart(14, '0')
          byCode.set(key, [...(byCode.get(key) ?? []), item])
        }
      }
    },
    expireTokens() {
      valid.clear()
    },
    close: () => new Promise((r) => server.close(() => r())),
  }
  let searchCount = 0
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (req.method === 'POST' && url.pathname === '/auth/o2/token') {
      fake.tokenRequests++
      const form = new URLSearchParams(await readBody(req))
      if (form.get('grant_type') !== 'refresh_token')
        return send(res, 400, { error: 'unsupported_grant_type' })
      if (
        form.get('client_id') !== credentials.clientId ||
        form.get('client_secret') !== credentials.clientSecret ||
        form.get('refresh_token') !== credentials.refreshToken
      ) {
        return send(res, 400, {
          error: 'invalid_grant',
          error_description: 'The request has an invalid grant parameter : refresh_token',
        })
      }
      const token = `Atza|token-${++tokens}`
      valid.add(token)
      return send(res, 200, {
        access_token: token,
        token_type: 'bearer',
        expires_in: 3600,
        refresh_token: credentials.refreshToken,
      })
    }
    if (req.method !== 'GET' || url.pathname !== '/catalog/2022-04-01/items') {
      return send(res, 404, { errors: [{ code: 'NotFound', message: 'Resource not found' }] })
    }
    const headers = {
      'x-amzn-ratelimit-limit': fake.behaviour.rateLimitHeader,
      'x-amzn-requestid': `req-${searchCount}`,
    }
    const record = (status: number) =>
      fake.searches.push({ at: performance.now(), query: url.searchParams, status })
    const token = req.headers['x-amz-access-token']
    if (typeof token !== 'string' || !valid.has(token)) {
      record(403)
      return send(
        res,
        403,
        { errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.' }] },
        headers,
      )
    }
    // Counted from the last reset of `searches`, the way the tests set their scene.
    const n = fake.searches.filter((r) => r.status !== 403).length + 1
    searchCount++
    const b = fake.behaviour
    if (n <= b.first429 || b.mode === '429' || n > b.failAfter) {
      record(429)
      return send(
        res,
        429,
        {
          errors: [{ code: 'QuotaExceeded', message: 'You exceeded your quota for the requested resource.' }],
        },
        headers,
      )
    }
    if (n <= b.first429 + b.first503 || b.mode === '500') {
      record(503)
      return send(
        res,
        503,
        { errors: [{ code: 'ServiceUnavailable', message: 'Service temporarily unavailable.' }] },
        headers,
      )
    }
    if (b.mode === 'garbage') {
      record(200)
      return res.writeHead(200, { 'content-type': 'text/html', ...headers }).end('<html>Oops</html>')
    }
    if (b.mode === 'slow') await new Promise((r) => setTimeout(r, b.slowMs))
    const marketplaces = url.searchParams.get('marketplaceIds')
    if (!marketplaces) {
      record(400)
      return send(
        res,
        400,
        { errors: [{ code: 'InvalidInput', message: 'Missing required marketplaceIds.' }] },
        headers,
      )
    }
    const included = new Set((url.searchParams.get('includedData') ?? 'summaries').split(','))
    const pageSize = Math.min(b.maxPageSize ?? 20, Number(url.searchParams.get('pageSize') ?? 10))
    const identifiers = url.searchParams.get('identifiers')
    let found: FakeItem[]
    if (identifiers) {
      const codes = identifiers.split(',')
      if (codes.length > 20 || !url.searchParams.get('identifiersType')) {
        record(400)
        return send(
          res,
          400,
          { errors: [{ code: 'InvalidInput', message: 'identifiers: at most 20, with identifiersType.' }] },
          headers,
        )
      }
      found = [...new Set(codes.flatMap((c) => byCode.get(c.padStart(14, '0')) ?? []))]
    } else {
      const asked = words((url.searchParams.get('keywords') ?? '').replaceAll(',', ' '))
      const hits = new Map<FakeItem, number>()
      for (const w of asked) for (const item of byWord.get(w) ?? []) hits.set(item, (hits.get(item) ?? 0) + 1)
      found = [...hits]
        .filter(([, n]) => n >= 2)
        .sort((a, b) => b[1] - a[1])
        .map(([item]) => item)
    }
    const offset = Number(Buffer.from(url.searchParams.get('pageToken') ?? 'MA==', 'base64').toString()) || 0
    const page = found.slice(offset, offset + pageSize)
    const next =
      offset + pageSize < found.length ? Buffer.from(String(offset + pageSize)).toString('base64') : undefined
    record(200)
    return send(
      res,
      200,
      {
        numberOfResults: found.length,
        pagination: next ? { nextToken: next } : {},
        refinements: { brands: [], classifications: [] },
        items: page.map((i) => itemJson(i, included)),
      },
      headers,
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  fake.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  return fake
}
