import { type AllowPrivate, ConnectorError, safeFetch } from '@pm/connectors'
import type { Row } from './mapping'
import { nest } from './writers'

/** One product sent to a shop, and the shop's verdict on it. */
export interface ShopItem {
  /** The job item it comes from (the verdict is recorded on it). */
  itemId: string
  row: Row
  /**
   * The item was sent before and its answer never recorded (the worker died between the call and the commit):
   * the shop may hold it already, so it is looked up there (by its SKU) and updated, never created twice.
   */
  maybeSent?: boolean
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
 * product answered on its own. A product that may have reached the shop already (`maybeSent`, or an attempt
 * whose answer was lost) is looked up there by its key and updated rather than created again. WooCommerce
 * implements it; Shopify (productSet, keyed by handle or SKU) and PrestaShop (webservice products, filtered by
 * reference) fit the same shape.
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
 * Settles as `work` does, or rejects with the signal's reason as soon as it is aborted (the worker stops);
 * what `work` gives after that goes to `late` (a response body to drop).
 */
function abortable<T>(work: Promise<T>, signal?: AbortSignal, late?: (value: T) => void): Promise<T> {
  if (!signal) return work
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        if (signal.aborted) late?.(value)
        resolve(value)
      },
      (error) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/** The SKU a row is known by on the shop (its `sku` target), when it can be looked up by it. */
function skuOf(row: Row): string | undefined {
  const sku = row.sku?.trim()
  // WooCommerce's ?sku= takes a comma-separated list: a SKU holding a comma cannot be asked for.
  return sku && !sku.includes(',') ? sku : undefined
}

/** One answer of the shop: status, body, Retry-After. */
interface Answer {
  status: number
  body: unknown
  retryAfter: string | null
}

/** The request could not be made or its answer was lost (a retry may follow). */
class Unanswered extends Error {}

/**
 * WooCommerce REST v3 `POST /wp-json/wc/v3/products/batch` with `{ create: [...], update: [...] }`,
 * authenticated with the consumer key and secret (HTTP Basic, over HTTPS in production). Answers
 * `{ create: [product | { id: 0, error: { code, message } }], update: [...] }` in the order sent: each entry is
 * the verdict of one item. 429 and 5xx are retried (Retry-After honoured); 401/403 and other 4xx fail the
 * batch at once. Each batch's products are first looked up with `GET products?sku=a,b,…` (one request per
 * batch): those the shop has (from an earlier export, or sent before a worker died, or by an attempt that timed
 * out or got a 5xx: the shop may have acted on it) are updated by id, the others created. One without a SKU
 * cannot be looked up: it is created, unless it may have been sent already (its item then fails, asking to
 * check the shop). So a product is never created twice, and exporting again updates what the shop has.
 */
export function wooCommerce(config: WooCommerceConfig, o: ShopOptions = {}): ShopConnector {
  const api = `${config.base_url.replace(/\/+$/, '')}/wp-json/wc/v3`
  const auth = `Basic ${Buffer.from(`${config.consumer_key}:${config.consumer_secret}`).toString('base64')}`
  const retries = o.retries ?? 5
  const wait = o.sleep ?? sleep

  async function request(
    method: 'GET' | 'POST',
    url: string,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<Answer> {
    try {
      const response = await abortable(
        safeFetch(url, {
          method,
          headers: {
            authorization: auth,
            accept: 'application/json',
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body } : {}),
          maxRedirects: 0,
          timeoutMs: o.timeoutMs ?? 60_000,
          maxBytes: 16 * 1024 * 1024,
          ...(o.allowPrivate !== undefined ? { allowPrivate: o.allowPrivate } : {}),
        }),
        signal,
        (late) => {
          late.body.on('error', () => {})
          late.body.destroy()
        },
      )
      return {
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        body: await abortable(readJson(response.body), signal),
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason
      if (error instanceof ConnectorError && error.code !== 'TIMEOUT' && error.code !== 'UNREACHABLE') {
        throw new ShopError(`WooCommerce: ${error.message}`)
      }
      throw new Unanswered(`WooCommerce: ${(error as Error).message}`)
    }
  }

  /** A final answer that is not a success: the batch fails with it. */
  function refused(answer: Answer): ShopError {
    if (answer.status === 401 || answer.status === 403) {
      return new ShopError(
        `WooCommerce refused the consumer key (${answer.status}): check consumer_key and consumer_secret`,
        answer.status,
      )
    }
    const message = (answer.body as { message?: string })?.message
    return new ShopError(
      `WooCommerce answered ${answer.status}${message ? `: ${message}` : ''}`,
      answer.status,
    )
  }

  /** The shop's ids of these SKUs (those it has); undefined answer = retry. */
  async function lookUp(
    skus: string[],
    signal?: AbortSignal,
  ): Promise<Answer & { found?: Map<string, number> }> {
    const query = new URLSearchParams({ sku: skus.join(','), per_page: '100', status: 'any' })
    const answer = await request('GET', `${api}/products?${query}`, undefined, signal)
    if (answer.status < 200 || answer.status >= 300) return answer
    if (!Array.isArray(answer.body)) throw new ShopError('WooCommerce answered no product list to ?sku=')
    const found = new Map<string, number>()
    for (const p of answer.body as { id?: number; sku?: string }[]) {
      if (typeof p?.sku === 'string' && typeof p.id === 'number' && p.id > 0) found.set(p.sku, p.id)
    }
    return { ...answer, found }
  }

  return {
    batchSize: 100,
    async push(items, signal) {
      /**
       * Items the shop may hold already, not yet looked up: every item with a SKU (an earlier export, or the
       * shop's own staff, may have created it: it is then updated, where creating it would be refused as a
       * duplicated SKU), and those that may have been sent before (a worker's death, a lost answer).
       */
      const uncertain = new Set(
        items.filter((i) => i.maybeSent || skuOf(i.row) !== undefined).map((i) => i.itemId),
      )
      /** Shop ids of items found there. */
      const onShop = new Map<string, number>()
      const verdicts = new Map<string, ShopVerdict>()

      /** Looks the uncertain items up by SKU; the failed answer when the lookup must be tried again. */
      const reconcile = async (): Promise<Answer | undefined> => {
        const unsure = items.filter((i) => uncertain.has(i.itemId) && !verdicts.has(i.itemId))
        for (const item of unsure) {
          if (skuOf(item.row) !== undefined) continue
          const message =
            'the shop may have received this product before the export stopped, and without a sku it cannot be looked up there: it is not sent again (check the shop)'
          verdicts.set(item.itemId, {
            itemId: item.itemId,
            ok: false,
            response: { error: { code: 'unconfirmed', message } },
            error: `unconfirmed: ${message}`,
          })
        }
        const lookable = unsure.filter((i) => skuOf(i.row) !== undefined)
        if (lookable.length === 0) return undefined
        const looked = await lookUp(
          lookable.map((i) => skuOf(i.row)!),
          signal,
        )
        if (!looked.found) return looked
        for (const item of lookable) {
          const id = looked.found.get(skuOf(item.row)!)
          if (id !== undefined) onShop.set(item.itemId, id)
          uncertain.delete(item.itemId)
        }
        return undefined
      }

      for (let attempt = 0; ; attempt++) {
        signal?.throwIfAborted()
        let answer: Answer | undefined
        let sent: { create: ShopItem[]; update: ShopItem[] } | undefined
        try {
          answer = await reconcile()
          if (!answer) {
            const todo = items.filter((i) => !verdicts.has(i.itemId))
            if (todo.length === 0) return items.map((item) => verdicts.get(item.itemId)!)
            sent = {
              create: todo.filter((i) => !onShop.has(i.itemId)),
              update: todo.filter((i) => onShop.has(i.itemId)),
            }
            const body = JSON.stringify({
              ...(sent.create.length > 0 ? { create: sent.create.map((i) => nest(i.row)) } : {}),
              ...(sent.update.length > 0
                ? { update: sent.update.map((i) => ({ ...nest(i.row), id: onShop.get(i.itemId) })) }
                : {}),
            })
            answer = await request('POST', `${api}/products/batch`, body, signal)
          }
        } catch (error) {
          if (!(error instanceof Unanswered)) throw error
          // The batch may have been acted on before its answer was lost: what was sent is looked up next time.
          for (const i of sent?.create ?? []) uncertain.add(i.itemId)
          if (attempt >= retries) throw new ShopError(error.message)
          await wait(Math.min(30_000, 500 * 2 ** attempt), signal)
          continue
        }
        const { status } = answer
        if (status === 429 || status >= 500) {
          // A 5xx may come after part of the batch was written; a 429 was refused before any work.
          if (status >= 500) for (const i of sent?.create ?? []) uncertain.add(i.itemId)
          if (attempt >= retries) {
            throw new ShopError(`WooCommerce answered ${status} ${retries + 1} times in a row`, status)
          }
          const after = retryAfterMs(answer.retryAfter)
          await wait(
            Math.min(o.maxRetryAfterMs ?? 60_000, after ?? Math.min(30_000, 500 * 2 ** attempt)),
            signal,
          )
          continue
        }
        if (status < 200 || status >= 300) throw refused(answer)
        if (!sent) throw new ShopError('WooCommerce: no batch was sent')
        const result = answer.body as { create?: unknown[]; update?: unknown[] }
        for (const kind of ['create', 'update'] as const) {
          if (sent[kind].length === 0) continue
          const list = result?.[kind]
          if (!Array.isArray(list)) throw new ShopError(`WooCommerce answered no "${kind}" list`)
          sent[kind].forEach((item, i) => {
            verdicts.set(item.itemId, verdictOf(item, list[i], kind === 'update'))
          })
        }
        return items.map((item) => verdicts.get(item.itemId)!)
      }
    },
  }
}

function verdictOf(item: ShopItem, answer: unknown, updated: boolean): ShopVerdict {
  const entry = (answer ?? {}) as { id?: number; error?: { code?: string; message?: string } }
  if (entry.error || !entry.id) {
    const message = entry.error?.message ?? 'no answer for this product'
    return {
      itemId: item.itemId,
      ok: false,
      response: { error: entry.error ?? { message } },
      error: `${entry.error?.code ? `${entry.error.code}: ` : ''}${message}`,
    }
  }
  return {
    itemId: item.itemId,
    ok: true,
    response: updated ? { id: entry.id, updated: true } : { id: entry.id },
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
