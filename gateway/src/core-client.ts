import { SERVICE, signCaller } from '@pm/service-kit'

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
