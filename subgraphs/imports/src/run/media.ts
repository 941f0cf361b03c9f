import { ErrorCode, type Logger, type Peers, postPeer, userError } from '@pm/service-kit'
import { retryUnavailable } from './retry'

const IMPORT_URLS = `mutation($products: [ProductImageUrlsInput!]!) {
  importProductImageUrls(products: $products) { queued known refused { reason count } }
}`

/** What media's importProductImageUrls takes per call (see its schema). */
const MAX_PRODUCTS = 5_000
const MAX_URLS = 20_000
/** Recording thousands of pending files on a loaded machine; nothing is downloaded during the call. */
const CALL_TIMEOUT_MS = 60_000
/** Media unavailable: a call is tried this many times, backing off, before the job stops handing URLs over. */
export const MEDIA_ATTEMPTS = 3

export interface ProductImageUrls {
  productId: string
  urls: string[]
}

interface CallResult {
  queued: number
  known: number
  refused: { reason: string; count: number }[]
}

/** Calls of at most MAX_PRODUCTS products and MAX_URLS URLs, in order. */
function chunks(products: readonly ProductImageUrls[]): ProductImageUrls[][] {
  const out: ProductImageUrls[][] = []
  let current: ProductImageUrls[] = []
  let urls = 0
  for (const product of products) {
    if (current.length > 0 && (current.length >= MAX_PRODUCTS || urls + product.urls.length > MAX_URLS)) {
      out.push(current)
      current = []
      urls = 0
    }
    current.push(product)
    urls += product.urls.length
  }
  if (current.length > 0) out.push(current)
  return out
}

async function call(peers: Peers, products: ProductImageUrls[]): Promise<CallResult> {
  const body = await postPeer<{ importProductImageUrls: CallResult }>(
    peers,
    'media',
    IMPORT_URLS,
    { products },
    CALL_TIMEOUT_MS,
  )
  if (body.errors?.length || !body.data) {
    const first = body.errors?.[0]
    const code = String(first?.extensions?.code ?? 'INTERNAL_SERVER_ERROR')
    const message = first?.message ?? 'no answer'
    // A refusal of the call itself (a bug, not a passing state): not worth a retry.
    if (code === ErrorCode.BAD_USER_INPUT) throw new MediaRefusal(message)
    throw userError(ErrorCode.SERVICE_UNAVAILABLE, `media could not take the image URLs: ${message}`)
  }
  return body.data.importProductImageUrls
}

/** Media refused a call for a reason retrying cannot fix. */
class MediaRefusal extends Error {}

/**
 * Hands the image URLs of an import's committed batches to media (its internal importProductImageUrls, signed
 * as the worker's service identity), and counts what happened for the job's log. Never throws: an import
 * never fails for its images. Media unavailable is retried (MEDIA_ATTEMPTS, backing off); when it stays so,
 * the job stops calling it and counts the rest of its URLs as not handed over, with the reason.
 */
export class MediaHandoff {
  /** URLs media took: queued for download, or already known for their product. */
  handed = 0
  queued = 0
  known = 0
  /** URLs not handed over, by reason. */
  readonly notHanded = new Map<string, number>()
  private down: string | undefined

  constructor(
    private readonly peers: Peers,
    private readonly logger: Logger,
    private readonly backoffMs = 500,
  ) {
    if (!peers.media) this.down = 'media is not configured for this worker'
  }

  get notHandedCount() {
    let n = 0
    for (const count of this.notHanded.values()) n += count
    return n
  }

  private miss(reason: string, count: number) {
    if (count > 0) this.notHanded.set(reason, (this.notHanded.get(reason) ?? 0) + count)
  }

  /** One batch's products with their URLs (products without a catalog id are counted as not handed over). */
  async hand(products: readonly { productId: string | null; urls: readonly string[] }[]): Promise<void> {
    const known: ProductImageUrls[] = []
    for (const p of products) {
      if (p.urls.length === 0) continue
      if (p.productId) known.push({ productId: p.productId, urls: [...p.urls] })
      else this.miss('catalog did not answer the product id', p.urls.length)
    }
    for (const chunk of chunks(known)) {
      const count = chunk.reduce((n, p) => n + p.urls.length, 0)
      if (this.down) {
        this.miss(this.down, count)
        continue
      }
      try {
        const result = await retryUnavailable(() => call(this.peers, chunk), {
          attempts: MEDIA_ATTEMPTS,
          backoffMs: this.backoffMs,
          onRetry: (attempt) => this.logger.warn('media unavailable; image URLs retried', { attempt }),
        })
        this.queued += result.queued
        this.known += result.known
        this.handed += result.queued + result.known
        for (const r of result.refused) this.miss(`refused by media: ${r.reason}`, r.count)
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        if (error instanceof MediaRefusal) {
          this.miss(`media refused the batch: ${message}`, count)
          continue
        }
        // Unavailable after the retries (or an unexpected failure): the job stops calling media.
        this.down = `media unavailable: ${message}`
        this.logger.warn('media unavailable; the import goes on without handing over its image URLs', {
          error: message,
        })
        this.miss(this.down, count)
      }
    }
  }

  /** The job's closing words about its image URLs (undefined when the file had none). */
  summary(): string | undefined {
    const missed = this.notHandedCount
    if (this.handed + missed === 0) return undefined
    const head = `${this.handed} image URLs handed to media (${this.queued} new, ${this.known} already known)`
    if (missed === 0) return head
    const reasons = [...this.notHanded].map(([reason, n]) => `${n}: ${reason}`).join('; ')
    return `${head}, ${missed} not handed over (${reasons})`
  }
}
