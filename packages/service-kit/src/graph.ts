import { ErrorCode, userError } from './errors'
import { SERVICE, signCaller } from './identity'
import { servicePorts } from './ports'

/** The target a service caller signs for when it queries the whole graph through the gateway. */
export const GATEWAY_TARGET = 'gateway'

/** The gateway's base URL as the platform's workers reach it: GATEWAY_URL, else 127.0.0.1 on GATEWAY_PORT. */
export function gatewayUrl(env: Readonly<Record<string, string | undefined>>): string {
  const explicit = env.GATEWAY_URL?.trim()
  if (explicit) return explicit.replace(/\/+$/, '')
  return `http://127.0.0.1:${servicePorts(env).gateway}`
}

export interface GraphError {
  message: string
  path?: readonly (string | number)[]
  extensions?: Record<string, unknown>
}

/** The gateway answered, but with errors (a refused field, a subgraph down): the first ones are in the message. */
export class GraphQueryError extends Error {
  override name = 'GraphQueryError'
  constructor(readonly errors: readonly GraphError[]) {
    super(
      `the graph answered with errors: ${errors
        .slice(0, 3)
        .map((e) => `${e.message}${e.extensions?.code ? ` (${String(e.extensions.code)})` : ''}`)
        .join('; ')}`,
    )
  }
}

/**
 * One operation over the whole federated graph, sent to the gateway's /graphql as the SERVICE caller signed
 * with GATEWAY_SIGNING_SECRET for the target `gateway` and this body (good for one request, 15 s): a worker
 * sees exactly what the API serves. Any GraphQL error throws GraphQueryError; the gateway out of reach throws
 * SERVICE_UNAVAILABLE.
 */
export async function queryGraph<T>(
  url: string,
  secret: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const payload = JSON.stringify({ query, variables })
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 60_000)
  let body: { data?: T; errors?: GraphError[] }
  try {
    const response = await fetch(`${url.replace(/\/+$/, '')}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signCaller(SERVICE, secret, { target: GATEWAY_TARGET, payload }),
      },
      body: payload,
      signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
    })
    body = (await response.json()) as typeof body
  } catch (error) {
    if (options.signal?.aborted) throw error
    throw userError(ErrorCode.SERVICE_UNAVAILABLE, 'The gateway is unavailable, retry shortly', {
      serviceName: 'gateway',
    })
  }
  if (body.errors?.length) throw new GraphQueryError(body.errors)
  if (!body.data) throw new GraphQueryError([{ message: 'the gateway answered no data' }])
  return body.data
}
