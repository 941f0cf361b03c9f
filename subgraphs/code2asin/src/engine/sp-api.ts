import { type AllowPrivate, isConnectorError, safeFetch } from '@pm/connectors'
import { type CatalogProvider, type IdentifierType, ProviderError, sleep, TokenBucket } from './provider'
import type { CatalogItem } from './scoring'

/** Amazon Selling Partner API, Catalog Items 2022-04-01, with Login with Amazon credentials. */
export interface SpApiConfig {
  kind: 'sp_api'
  /** The regional SP-API host, e.g. https://sellingpartnerapi-eu.amazon.com. */
  endpoint: string
  /** Login with Amazon's token endpoint (https://api.amazon.com/auth/o2/token). */
  tokenEndpoint: string
  marketplaceId: string
  clientId: string
  clientSecret: string
  refreshToken: string
  /** Requests a second the token bucket lets through (searchCatalogItems allows 2). */
  ratePerSecond: number
  /** Requests that may go at once after a pause. */
  burst: number
  /** One request, headers and body. */
  timeoutMs: number
}

export const SP_API_DEFAULTS = {
  endpoint: 'https://sellingpartnerapi-eu.amazon.com',
  tokenEndpoint: 'https://api.amazon.com/auth/o2/token',
  marketplaceId: 'A13V1IB3VIYZZH',
  ratePerSecond: 2,
  burst: 2,
  timeoutMs: 10_000,
} as const

const SEARCH_PATH = '/catalog/2022-04-01/items'
const INCLUDED_DATA = 'summaries,identifiers,images,salesRanks'
/** searchCatalogItems takes at most 20 identifiers and answers at most 20 items a page. */
const MAX_IDENTIFIERS = 20
const MAX_PAGES = 10
const MAX_BODY = 8 * 1024 * 1024
const MAX_BACKOFF_MS = 30_000

export interface SpApiOptions {
  /** Retries of one request (429, 5xx, timeout, unreadable answer) before it counts as failed. */
  maxRetries: number
  allowPrivate: AllowPrivate
  /** First back-off after a 429, 5xx, timeout or unreadable answer; doubled at each retry (at most 30 s). */
  retryBaseMs: number
}

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null)
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

class Retryable extends Error {
  constructor(
    readonly code:
      | 'PROVIDER_RATE_LIMITED'
      | 'PROVIDER_UNAVAILABLE'
      | 'PROVIDER_TIMEOUT'
      | 'PROVIDER_BAD_RESPONSE',
    message: string,
    readonly waitMs = 0,
  ) {
    super(message)
  }
}

async function readBody(body: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}

/** The item of one marketplace (else the first) among an SP-API per-marketplace list. */
function forMarketplace(entries: unknown, marketplaceId: string): Json | null {
  const all = list(entries).filter(isObject)
  return all.find((e) => e.marketplaceId === marketplaceId) ?? all[0] ?? null
}

/** One item of a searchCatalogItems answer, in the engine's terms; null when it has no valid ASIN. */
export function parseItem(raw: unknown, marketplaceId: string): CatalogItem | null {
  if (!isObject(raw)) return null
  const asin = str(raw.asin)?.toUpperCase()
  if (!asin || !/^[A-Z0-9]{10}$/.test(asin)) return null
  const summary = forMarketplace(raw.summaries, marketplaceId)
  const identifiers = list(raw.identifiers)
    .filter(isObject)
    .flatMap((group) => list(group.identifiers).filter(isObject))
    .flatMap((i) => {
      const type = str(i.identifierType)
      const value = str(i.identifier)
      return type && value ? [{ type: type.toUpperCase(), value }] : []
    })
  const imageGroup = forMarketplace(raw.images, marketplaceId)
  const images = list(imageGroup?.images)
    .filter(isObject)
    .sort((a, b) => (a.variant === 'MAIN' ? -1 : 0) - (b.variant === 'MAIN' ? -1 : 0))
    .map((i) => str(i.link))
    .filter((l): l is string => l !== null && /^https?:\/\//.test(l))
  const ranks = forMarketplace(raw.salesRanks, marketplaceId)
  const rank = [...list(ranks?.displayGroupRanks), ...list(ranks?.classificationRanks)]
    .filter(isObject)
    .find((r) => typeof r.rank === 'number' && Number.isInteger(r.rank))
  const browse = isObject(summary?.browseClassification) ? summary.browseClassification : null
  return {
    asin,
    title: str(summary?.itemName),
    brand: str(summary?.brand),
    manufacturer: str(summary?.manufacturer),
    modelNumber: str(summary?.modelNumber) ?? str(summary?.partNumber),
    identifiers,
    images: [...new Set(images)].slice(0, 50),
    salesRank: rank ? { rank: rank.rank as number, title: str(rank.title) } : null,
    marketplaceId: str(summary?.marketplaceId) ?? marketplaceId,
    category: str(browse?.displayName),
  }
}

/**
 * searchCatalogItems through safeFetch (private addresses as FETCH_ALLOW_PRIVATE says): an access token from
 * Login with Amazon (refresh_token grant, renewed a minute before it expires or when refused), a token bucket
 * at the configured rate (lowered to x-amzn-RateLimit-Limit when the API announces less), and retries with
 * exponential back-off (Retry-After honoured) on 429, 5xx, timeouts and unreadable answers.
 */
export class SpApiProvider implements CatalogProvider {
  readonly maxIdentifiers = MAX_IDENTIFIERS
  readonly keywordSearch = true
  private readonly bucket: TokenBucket
  private token: { value: string; expiresAt: number } | null = null
  private refreshing: Promise<string> | null = null
  private requests = 0
  private retries = 0

  constructor(
    private readonly config: SpApiConfig,
    private readonly options: SpApiOptions,
  ) {
    this.bucket = new TokenBucket(config.ratePerSecond, Math.max(1, config.burst))
  }

  stats() {
    return { requests: this.requests, retries: this.retries }
  }

  async searchByIdentifiers(type: IdentifierType, codes: readonly string[]): Promise<CatalogItem[]> {
    if (codes.length === 0) return []
    if (codes.length > MAX_IDENTIFIERS) throw new Error(`at most ${MAX_IDENTIFIERS} identifiers a request`)
    const items: CatalogItem[] = []
    let pageToken: string | null = null
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.search({
        identifiers: codes.join(','),
        identifiersType: type,
        pageSize: String(MAX_IDENTIFIERS),
        ...(pageToken ? { pageToken } : {}),
      })
      items.push(...body.items)
      pageToken = body.nextToken
      if (!pageToken) break
    }
    return items
  }

  async searchByKeywords(keywords: readonly string[], brand: string | null): Promise<CatalogItem[]> {
    if (keywords.length === 0) return []
    const body = await this.search({
      keywords: keywords.join(','),
      ...(brand ? { brandNames: brand } : {}),
      pageSize: '10',
    })
    return body.items
  }

  private async search(params: Record<string, string>) {
    const url = new URL(SEARCH_PATH, this.config.endpoint)
    url.searchParams.set('marketplaceIds', this.config.marketplaceId)
    url.searchParams.set('includedData', INCLUDED_DATA)
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
    const json = await this.withRetries(() => this.get(url.href))
    const items = list(json.items)
      .map((raw) => parseItem(raw, this.config.marketplaceId))
      .filter((i): i is CatalogItem => i !== null)
    const pagination = isObject(json.pagination) ? json.pagination : null
    return { items, nextToken: str(pagination?.nextToken) }
  }

  private async withRetries(attempt: () => Promise<Json>): Promise<Json> {
    for (let n = 0; ; n++) {
      try {
        return await attempt()
      } catch (error) {
        if (!(error instanceof Retryable)) throw error
        if (n >= this.options.maxRetries) {
          const fatal = error.code !== 'PROVIDER_BAD_RESPONSE'
          throw new ProviderError(
            error.code,
            `${error.message} (after ${n} ${n === 1 ? 'retry' : 'retries'})`,
            fatal,
          )
        }
        this.retries++
        const backoff = Math.min(MAX_BACKOFF_MS, this.options.retryBaseMs * 2 ** n)
        await sleep(Math.min(MAX_BACKOFF_MS, Math.max(backoff, error.waitMs)))
      }
    }
  }

  private async send(url: string, init: { method?: string; headers: Record<string, string>; body?: string }) {
    this.requests++
    try {
      const response = await safeFetch(url, {
        ...init,
        timeoutMs: this.config.timeoutMs,
        maxBytes: MAX_BODY,
        maxRedirects: 0,
        allowPrivate: this.options.allowPrivate,
      })
      return { status: response.status, headers: response.headers, text: await readBody(response.body) }
    } catch (error) {
      if (isConnectorError(error)) {
        if (error.code === 'TIMEOUT') {
          throw new Retryable(
            'PROVIDER_TIMEOUT',
            `${new URL(url).host} did not answer within ${this.config.timeoutMs} ms`,
          )
        }
        if (error.code === 'FORBIDDEN_ADDRESS' || error.code === 'BAD_CONFIG') {
          throw new ProviderError('PROVIDER_CONFIG', error.message, true)
        }
        throw new Retryable('PROVIDER_UNAVAILABLE', error.message)
      }
      throw new Retryable('PROVIDER_UNAVAILABLE', `${new URL(url).host}: ${(error as Error).message}`)
    }
  }

  private async accessToken(force = false): Promise<string> {
    if (!force && this.token && this.token.expiresAt > Date.now()) return this.token.value
    this.refreshing ??= this.withRetries(() => this.fetchToken())
      .then((json) => {
        const value = str(json.access_token)
        const expires = typeof json.expires_in === 'number' ? json.expires_in : 3_600
        if (!value)
          throw new ProviderError('PROVIDER_AUTH', 'Login with Amazon answered no access_token', true)
        this.token = { value, expiresAt: Date.now() + Math.max(30, expires - 60) * 1_000 }
        return value
      })
      .finally(() => {
        this.refreshing = null
      })
    return this.refreshing
  }

  private async fetchToken(): Promise<Json> {
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: this.config.refreshToken,
      client_id: this.config.clientId,
      client_secret: this.config.clientSecret,
    }).toString()
    const answer = await this.send(this.config.tokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
        accept: 'application/json',
      },
      body,
    })
    this.checkStatus(answer, 'Login with Amazon')
    if (answer.status === 400 || answer.status === 401 || answer.status === 403) {
      const reason = safeJson(answer.text)
      const detail = str(reason?.error_description) ?? str(reason?.error) ?? `HTTP ${answer.status}`
      throw new ProviderError(
        'PROVIDER_AUTH',
        `Login with Amazon refused the credentials: ${detail.slice(0, 200)}`,
        true,
      )
    }
    if (answer.status !== 200) {
      throw new ProviderError('PROVIDER_AUTH', `Login with Amazon answered HTTP ${answer.status}`, true)
    }
    const json = safeJson(answer.text)
    if (!json)
      throw new Retryable('PROVIDER_BAD_RESPONSE', 'Login with Amazon answered something that is not JSON')
    return json
  }

  /** 429 and 5xx are retried: the back-off honours Retry-After; the rate follows x-amzn-RateLimit-Limit. */
  private checkStatus(answer: { status: number; headers: Headers }, who: string) {
    const limit = Number(answer.headers.get('x-amzn-ratelimit-limit'))
    if (Number.isFinite(limit) && limit > 0 && limit < this.config.ratePerSecond) this.bucket.setRate(limit)
    if (answer.status === 429) {
      const after = Number(answer.headers.get('retry-after'))
      throw new Retryable(
        'PROVIDER_RATE_LIMITED',
        `${who} kept answering 429 (quota exceeded)`,
        Number.isFinite(after) && after > 0 ? after * 1_000 : 0,
      )
    }
    if (answer.status >= 500)
      throw new Retryable('PROVIDER_UNAVAILABLE', `${who} answered HTTP ${answer.status}`)
  }

  private async get(url: string, refreshed = false): Promise<Json> {
    const token = await this.accessToken(refreshed)
    await this.bucket.take()
    const answer = await this.send(url, {
      headers: {
        'x-amz-access-token': token,
        accept: 'application/json',
        'user-agent': 'products-manager/1.0',
      },
    })
    this.checkStatus(answer, 'searchCatalogItems')
    if ((answer.status === 401 || answer.status === 403) && !refreshed) return this.get(url, true)
    if (answer.status === 401 || answer.status === 403) {
      throw new ProviderError(
        'PROVIDER_AUTH',
        `searchCatalogItems refused the access token (HTTP ${answer.status})`,
        true,
      )
    }
    const json = safeJson(answer.text)
    if (answer.status !== 200) {
      const first = isObject(list(json?.errors)[0]) ? (list(json?.errors)[0] as Json) : null
      const message = str(first?.message) ?? `HTTP ${answer.status}`
      throw new ProviderError(
        'PROVIDER_REJECTED',
        `searchCatalogItems refused the request: ${str(first?.code) ?? answer.status} ${message}`.slice(
          0,
          300,
        ),
        false,
      )
    }
    if (!json || !Array.isArray(json.items)) {
      throw new Retryable(
        'PROVIDER_BAD_RESPONSE',
        'searchCatalogItems answered something that is not a list of items',
      )
    }
    return json
  }
}

function safeJson(text: string): Json | null {
  try {
    const value = JSON.parse(text) as unknown
    return isObject(value) ? value : null
  } catch {
    return null
  }
}
