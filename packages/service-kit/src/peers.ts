import type { Domain } from '@pm/db'
import { ErrorCode, userError } from './errors'

/** Where the other subgraphs answer; filled in at start-up (and by test stacks once ports are known). */
export type Peers = Partial<Record<Domain, string>>

/**
 * A query to another subgraph through its GraphQL endpoint: how a domain asks another for what it
 * owns (e.g. exports checking product ids with catalog) without reaching into its database.
 */
export async function queryPeer<T>(
  peers: Peers,
  domain: Domain,
  query: string,
  variables: Record<string, unknown>,
  timeoutMs = 5_000,
): Promise<T> {
  const url = peers[domain]
  const unavailable = () =>
    userError(ErrorCode.SERVICE_UNAVAILABLE, `The ${domain} service is unavailable, retry shortly`, {
      serviceName: domain,
    })
  if (!url) throw unavailable()
  let body: { data?: T; errors?: { message: string }[] }
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    })
    body = (await response.json()) as typeof body
  } catch {
    throw unavailable()
  }
  if (body.errors?.length || !body.data) throw unavailable()
  return body.data
}
