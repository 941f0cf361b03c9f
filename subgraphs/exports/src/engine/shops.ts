import { type AllowPrivate, ConnectorError, safeFetch } from '@pm/connectors'
import type { Row } from './mapping'
import { nest } from './writers'

/** One product sent to a shop, and the shop's verdict on it. */
export interface ShopItem {
  /** The job item it comes from (the verdict is recorded on it). */
  itemId: string
  row: Row
}

export interface ShopVerdict {
  itemId: string
  ok: boolean
  /** What the shop answered for this product (its id there, or its error). */
  response: Record<string, unknown>
  error?: string
}

/**
 * A shop platform products are pushed to over its API: batches of at most `batchSize` products, each
 * product answered on its own. WooCommerce implements it; Shopify (productSet) and PrestaShop (webservice
 * products) fit the same shape.
 */
export interface ShopConnector {
  readonly batchSize: number
  push(items: readonly ShopItem[], signal?: AbortSignal): Promise<ShopVerdict[]>
}

/** The shop refused the whole batch (credentials, a 5xx that outlasted the retries): the job fails with it. */
export class ShopError extends Error {
  override name = 'ShopError'
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
}

export interface WooCommerceConfig {
  /** The shop's address, e.g. https://shop.example.com (the REST API is under /wp-json/wc/v3). */
  base_url: string
  consumer_key: string
  consumer_secret: string
}

export interface ShopOptions {
  allowPrivate?: AllowPrivate
  timeoutMs?: number
  /** 429 / 5xx answers retried this many times (Retry-After honoured, else exponential back-off). */
  retries?: number
  /** The longest wait a Retry-After may impose (default 60 s). */
  maxRetryAfterMs?: number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason)
      },
      { once: true },
    )
  })

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined
  const seconds = Number(header.trim())
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

async function readJson(body: NodeJS.ReadableStream): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer))
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    return JSON.parse(text)
  } catch {
    return { body: text.slice(0, 500) }
  }
}

/**
 * WooCommerce REST v3 `POST /wp-json/wc/v3/products/batch` with `{ create: [...] }`, authenticated with the
 * consumer key and secret (HTTP Basic, over HTTPS in production). Answers `{ create: [product | { id: 0,
 * error: { code, message } }] }` in the order sent: each entry is the verdict of one item. 429 and 5xx are
 * retried (Retry-After honoured); 401/403 and other 4xx fail the batch at once.
 */
export function wooCommerce(config: WooCommerceConfig, o: ShopOptions = {}): ShopConnector {
  const url = `${config.base_url.replace(/\/+$/, '')}/wp-json/wc/v3/products/batch`
  const auth = `Basic ${Buffer.from(`${config.consumer_key}:${config.consumer_secret}`).toString('base64')}`
  const retries = o.retries ?? 5
  const wait = o.sleep ?? sleep
  return {
    batchSize: 100,
    async push(items, signal) {
      const body = JSON.stringify({ create: items.map((i) => nest(i.row)) })
      for (let attempt = 0; ; attempt++) {
        signal?.throwIfAborted()
        let status: number
        let answer: unknown
        let retryAfter: string | null = null
        try {
          const response = await safeFetch(url, {
            method: 'POST',
            headers: { authorization: auth, 'content-type': 'application/json', accept: 'application/json' },
            body,
            maxRedirects: 0,
            timeoutMs: o.timeoutMs ?? 60_000,
            maxBytes: 16 * 1024 * 1024,
            ...(o.allowPrivate !== undefined ? { allowPrivate: o.allowPrivate } : {}),
          })
          status = response.status
          retryAfter = response.headers.get('retry-after')
          answer = await readJson(response.body)
        } catch (error) {
          if (error instanceof ConnectorError && error.code !== 'TIMEOUT' && error.code !== 'UNREACHABLE') {
            throw new ShopError(`WooCommerce: ${error.message}`)
          }
          if (attempt >= retries) throw new ShopError(`WooCommerce: ${(error as Error).message}`)
          await wait(Math.min(30_000, 500 * 2 ** attempt), signal)
          continue
        }
        if (status === 429 || status >= 500) {
          if (attempt >= retries) {
            throw new ShopError(`WooCommerce answered ${status} ${retries + 1} times in a row`, status)
          }
          const after = retryAfterMs(retryAfter)
          await wait(
            Math.min(o.maxRetryAfterMs ?? 60_000, after ?? Math.min(30_000, 500 * 2 ** attempt)),
            signal,
          )
          continue
        }
        if (status === 401 || status === 403) {
          throw new ShopError(
            `WooCommerce refused the consumer key (${status}): check consumer_key and consumer_secret`,
            status,
          )
        }
        if (status < 200 || status >= 300) {
          const message = (answer as { message?: string })?.message
          throw new ShopError(`WooCommerce answered ${status}${message ? `: ${message}` : ''}`, status)
        }
        const created = (answer as { create?: unknown[] })?.create
        if (!Array.isArray(created)) throw new ShopError('WooCommerce answered no "create" list')
        return items.map((item, i) => {
          const entry = (created[i] ?? {}) as {
            id?: number
            error?: { code?: string; message?: string }
          }
          if (entry.error || !entry.id) {
            const message = entry.error?.message ?? 'no answer for this product'
            return {
              itemId: item.itemId,
              ok: false,
              response: { error: entry.error ?? { message } },
              error: `${entry.error?.code ? `${entry.error.code}: ` : ''}${message}`,
            }
          }
          return { itemId: item.itemId, ok: true, response: { id: entry.id } }
        })
      }
    },
  }
}

/** The connector a platform pushes through, or undefined for a platform only fed with files. */
export function shopConnector(
  platformType: string,
  config: Record<string, unknown>,
  o: ShopOptions = {},
): ShopConnector | undefined {
  if (platformType === 'woocommerce') return wooCommerce(config as unknown as WooCommerceConfig, o)
  return undefined
}

/** The settings a push platform must have, checked when it is saved: the paths of what is missing. */
export function shopConfigIssues(platformType: string, config: Record<string, unknown>): string[] {
  if (platformType !== 'woocommerce') return []
  const issues: string[] = []
  const baseUrl = config.base_url
  let ok = false
  try {
    const u = new URL(String(baseUrl))
    ok = u.protocol === 'https:' || u.protocol === 'http:'
  } catch {}
  if (!ok) issues.push("config.base_url must be the shop's http(s) address, e.g. https://shop.example.com")
  for (const key of ['consumer_key', 'consumer_secret']) {
    if (typeof config[key] !== 'string' || (config[key] as string).length === 0) {
      issues.push(`config.${key} is required (WooCommerce → Settings → Advanced → REST API)`)
    }
  }
  return issues
}
