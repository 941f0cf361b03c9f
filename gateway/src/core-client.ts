import { type Logger, SERVICE, signCaller } from '@pm/service-kit'

/** Where and how the gateway reaches core for its own questions. */
export interface CoreClientOptions {
  coreUrl: string
  signingSecret: string
  fetch?: typeof fetch
  timeoutMs?: number
}

export interface CoreAnswer<T> {
  ok: boolean
  status: number
  data?: T
  errors?: { message: string }[]
}

/**
 * A query to core as the SERVICE caller, signed for this request alone: how the gateway asks about
 * sessions, API keys and module states. The answer comes back as it is; each caller decides what a
 * usable one is.
 */
export async function queryCore<T>(
  options: CoreClientOptions,
  query: string,
  variables: Record<string, unknown> | undefined,
  defaultTimeoutMs: number,
): Promise<CoreAnswer<T>> {
  const payload = JSON.stringify({ query, variables })
  const response = await (options.fetch ?? fetch)(options.coreUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...signCaller(SERVICE, options.signingSecret, { target: 'core', payload }),
    },
    body: payload,
    signal: AbortSignal.timeout(options.timeoutMs ?? defaultTimeoutMs),
  })
  const body = (await response.json().catch(() => ({}))) as Omit<CoreAnswer<T>, 'ok' | 'status'>
  return { ok: response.ok, status: response.status, ...body }
}

/** After core failed to answer one kind of the gateway's questions, how long that kind is not asked again. */
export const CORE_RETRY_MS = 5_000

/**
 * One kind of question to core (sessions, API keys) while core fails to answer it: after a failure the question
 * is not asked again for retryMs, so an outage (refused connections, or a core that hangs until the timeout)
 * costs one attempt per period instead of one per request; and it is logged once a minute, not per request.
 */
export class CoreOutage {
  private until = 0
  private lastWarning = 0

  constructor(
    private readonly logger: Logger,
    private readonly warning: string,
    private readonly retryMs = CORE_RETRY_MS,
  ) {}

  /** Whether core failed to answer less than retryMs ago. */
  get ongoing(): boolean {
    return Date.now() < this.until
  }

  failed(error: unknown) {
    const now = Date.now()
    this.until = now + this.retryMs
    if (now - this.lastWarning < 60_000) return
    this.lastWarning = now
    this.logger.warn(this.warning, { error: (error as Error)?.message ?? String(error) })
  }
}
