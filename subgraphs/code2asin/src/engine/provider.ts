import type { CatalogItem } from './scoring'

export type IdentifierType = 'EAN' | 'UPC' | 'GTIN'

/** Where the engine asks which catalogue items carry a product's identifiers, or resemble it. */
export interface CatalogProvider {
  /** Identifiers one searchByIdentifiers call takes at most. */
  readonly maxIdentifiers: number
  /** Whether searchByKeywords can find anything (a lookup table cannot). */
  readonly keywordSearch: boolean
  /** The items carrying any of `codes` (all of one type). */
  searchByIdentifiers(type: IdentifierType, codes: readonly string[]): Promise<CatalogItem[]>
  /** Items found for these keywords (and brand, when known). */
  searchByKeywords(keywords: readonly string[], brand: string | null): Promise<CatalogItem[]>
  /** Requests sent and retries made so far (for the job's counters). */
  stats(): { requests: number; retries: number }
}

export type ProviderErrorCode =
  | 'PROVIDER_CONFIG'
  | 'PROVIDER_AUTH'
  | 'PROVIDER_RATE_LIMITED'
  | 'PROVIDER_UNAVAILABLE'
  | 'PROVIDER_TIMEOUT'
  | 'PROVIDER_BAD_RESPONSE'
  | 'PROVIDER_REJECTED'
  | 'LOOKUP_TABLE_INVALID'
  | 'LOOKUP_TABLE_DUPLICATE'

/**
 * A provider could not answer. `fatal` errors stop the job (it fails, resumable: configuration, credentials,
 * a provider unavailable or rate-limiting past the job's retries); the others fail only the lookups concerned
 * (recorded on their results).
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError'
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    readonly fatal: boolean,
  ) {
    super(message)
  }
}

/**
 * A token bucket: `rate` tokens a second, at most `burst` kept. take() resolves when a token is free; waiters
 * are served in order. setRate lowers (or restores) the rate, e.g. to what the provider's headers announce.
 */
export class TokenBucket {
  private tokens: number
  private last = performance.now()
  private queue: Promise<void> = Promise.resolve()

  constructor(
    private rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst
  }

  get currentRate() {
    return this.rate
  }

  setRate(rate: number) {
    if (rate > 0 && Number.isFinite(rate)) {
      this.refill()
      this.rate = rate
    }
  }

  private refill() {
    const now = performance.now()
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1_000) * this.rate)
    this.last = now
  }

  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      for (;;) {
        this.refill()
        if (this.tokens >= 1) {
          this.tokens -= 1
          return
        }
        await sleep(Math.max(1, ((1 - this.tokens) / this.rate) * 1_000))
      }
    })
    this.queue = turn
    return turn
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
