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
 * The same peers with `domain` at another URL (another instance of that service), signed as `peers` are:
 * e.g. the imports worker spreading its batches over several catalog instances.
 */
export function withPeerUrl(peers: Peers, domain: Domain, url: string): Peers {
  const view = Object.create(peers) as Peers
  view[domain] = url
  const secret = signingSecrets.get(peers)
  if (secret !== undefined) signingSecrets.set(view, secret)
  return view
}

export interface PeerError {
  message: string
  extensions?: Record<string, unknown>
}

/**
 * A query to another subgraph, answered as it came: data and the peer's GraphQL errors (codes and messages
 * meant for callers). SERVICE_UNAVAILABLE only when the peer cannot be reached or answers no GraphQL body.
 */
export async function postPeer<T>(
  peers: Peers,
  domain: Domain,
  query: string,
  variables: Record<string, unknown>,
  timeoutMs = 5_000,
): Promise<{ data?: T; errors?: PeerError[]; extensions?: Record<string, unknown> }> {
  const url = peers[domain]
  const unavailable = () =>
    userError(ErrorCode.SERVICE_UNAVAILABLE, `The ${domain} service is unavailable, retry shortly`, {
      serviceName: domain,
    })
  if (!url) throw unavailable()
  const secret = signingSecrets.get(peers)
  const payload = JSON.stringify({ query, variables })
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(secret ? signCaller(SERVICE, secret, { target: domain, payload }) : {}),
      },
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    })
    return (await response.json()) as { data?: T; errors?: PeerError[]; extensions?: Record<string, unknown> }
  } catch {
    throw unavailable()
  }
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
  const body = await postPeer<T>(peers, domain, query, variables, timeoutMs)
  if (body.errors?.length || !body.data) {
    throw userError(ErrorCode.SERVICE_UNAVAILABLE, `The ${domain} service is unavailable, retry shortly`, {
      serviceName: domain,
    })
  }
  return body.data
}

/**
 * Which of `ids` another subgraph knows as `typename` entities: `_entities` answers null for a missing
 * one. Asked in chunks (one batched statement there each), a few at a time so a large list does not
 * take all of that service's connections. SERVICE_UNAVAILABLE when it cannot answer.
 */
export async function entitiesExist(
  peers: Peers,
  domain: Domain,
  typename: string,
  ids: readonly string[],
  options: { chunk?: number; parallel?: number } = {},
): Promise<boolean[]> {
  const size = options.chunk ?? 1_000
  const query = `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on ${typename} { __typename } } }`
  const chunks: string[][] = []
  for (let i = 0; i < ids.length; i += size) chunks.push(ids.slice(i, i + size))
  const found: boolean[][] = new Array(chunks.length)
  let next = 0
  const worker = async () => {
    while (next < chunks.length) {
      const index = next++
      const chunk = chunks[index]!
      const data = await queryPeer<{ _entities: (object | null)[] }>(peers, domain, query, {
        representations: chunk.map((id) => ({ __typename: typename, id })),
      })
      found[index] = chunk.map((_, i) => data._entities[i] != null)
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.parallel ?? 3, chunks.length) }, worker))
  return found.flat()
}

/**
 * The ids among `ids` that catalog has no product for, in their order: asked through catalog's graph
 * (`_entities`), never its database, in chunks of `chunk` ids. SERVICE_UNAVAILABLE when catalog cannot answer.
 */
export async function unknownProductIds(
  peers: Peers,
  ids: readonly string[],
  options: { chunk?: number } = {},
): Promise<string[]> {
  const exists = await entitiesExist(peers, 'catalog', 'Product', ids, options)
  return ids.filter((_, i) => !exists[i])
}
