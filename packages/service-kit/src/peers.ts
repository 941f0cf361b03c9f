import type { Domain } from '@pm/db'
import { ErrorCode, userError } from './errors'
import { SERVICE, signCaller } from './identity'

/** Where the other subgraphs answer; filled in at start-up (and by test stacks once ports are known). */
export type Peers = Partial<Record<Domain, string>>

const signingSecrets = new WeakMap<Peers, string>()

/**
 * The same peers (read through: URLs filled in later are seen), whose queries carry a SERVICE identity
 * signed with `secret`: what startSubgraph gives its resolvers as ctx.peers.
 */
export function signedPeers(peers: Peers, secret: string): Peers {
  const view = Object.create(peers) as Peers
  signingSecrets.set(view, secret)
  return view
}

/**
 * A query to another subgraph through its GraphQL endpoint: how a domain asks another for what it
 * owns (e.g. exports checking product ids with catalog) without reaching into its database. It goes
 * signed as SERVICE (peers from ctx.peers are signed); an unsigned one is refused by the peer.
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
  const secret = signingSecrets.get(peers)
  let body: { data?: T; errors?: { message: string }[] }
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(secret ? signCaller(SERVICE, secret) : {}) },
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
