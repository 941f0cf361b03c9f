import { createHash } from 'node:crypto'
import type { GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway'
import {
  ANY_CHANGE_TAG,
  changedEntityTags,
  entityTag,
  entityTypeTag,
  subgraphCacheNamespace,
  type TwoLevelCache,
} from '@pm/cache'
import { DOMAINS, type Domain } from '@pm/db'
import type { Caller } from '@pm/service-kit'
import { type EntityLookups, RootFetchTags } from './entity-lookups'

/** How the gateway caches one subgraph's fetches. */
export interface SubgraphCachePolicy {
  /** Lifetime in L2 (Redis); 0 = this subgraph's fetches are never cached. */
  ttlSeconds: number
  /** Root fetches (Query fields) too, not only entity lookups by key (`_entities`). */
  roots: boolean
  /** Entries per user: answers may depend on who asks beyond their permissions (core's `self` rules). */
  perUser: boolean
}

/**
 * docs/requirements.md#cache-lifetimes: active products 1 h, import statuses 30 min. Core: only entity lookups
 * (User by id), per user, since `me` and `self` permissions depend on the caller; analytics: only entity
 * lookups, since audit entries arrive from the services' outboxes, not through the graph.
 */
export const DEFAULT_CACHE_POLICY: Record<Domain, SubgraphCachePolicy> = {
  core: { ttlSeconds: 600, roots: false, perUser: true },
  catalog: { ttlSeconds: 3600, roots: true, perUser: false },
  imports: { ttlSeconds: 1800, roots: true, perUser: false },
  exports: { ttlSeconds: 1800, roots: true, perUser: false },
  media: { ttlSeconds: 3600, roots: true, perUser: false },
  code2asin: { ttlSeconds: 3600, roots: true, perUser: false },
  analytics: { ttlSeconds: 900, roots: false, perUser: false },
}

export interface GatewayCacheOptions {
  /** L1 bound (default 64 MiB). */
  l1MaxBytes?: number
  /** L1 entry lifetime cap (default 60 s); Redis entries live as long as their subgraph's TTL. */
  l1TtlMs?: number
  /** L1 entry lifetime while Redis is unreachable and other gateways' writes cannot reach us (default 2 s). */
  degradedL1TtlMs?: number
  policy?: Record<Domain, SubgraphCachePolicy>
  /** Shared by every gateway with the same name and Redis (default "gateway"). */
  name?: string
}

export const cacheNamespace = (domain: Domain) => subgraphCacheNamespace(domain)

type GraphQLRequest = GraphQLDataSourceProcessOptions['request']
type GraphQLResponse = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>
type Variables = Record<string, unknown>
type Send = (variables: Variables | undefined) => Promise<GraphQLResponse>

/** What a subgraph's answer may depend on besides the fetch itself: the caller's kind and permissions. */
function scopeOf(caller: Caller, perUser: boolean): string {
  const permissions = [...caller.permissions].sort().join(',')
  return `${caller.kind}|${caller.superuser ? 1 : 0}|${permissions}|${perUser ? (caller.userId ?? '') : ''}`
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('base64url')

/**
 * The tags of an entity lookup's answer: the entity's, and its type's (`Product:*`: a bulk write changes too
 * many to name), when its representation names it by id.
 */
function representationTags(representation: unknown): string[] {
  const { __typename, id } = (representation ?? {}) as { __typename?: unknown; id?: unknown }
  return typeof __typename === 'string' && typeof id === 'string'
    ? [entityTag(__typename, id), entityTypeTag(__typename)]
    : [ANY_CHANGE_TAG]
}

/**
 * Caches subgraph fetches in the two-level cache: entity lookups one representation at a time (a page of
 * 50 products whose 45 are known sends 5 to the subgraph), root fetches whole. Keys hold the fetch's
 * operation, its other variables and the caller's scope. Answers with errors are not kept. Values are JSON
 * text: the gateway merges what a fetch returns into its result, so each hit is a fresh copy.
 *
 * Invalidation, in this process and (through Redis) in every other: a mutation sent to a subgraph bumps the
 * whole subgraph's generation, unless the subgraph said exactly which entities it changed (see
 * subgraph-transport); then only the answers tied to those entities go — entity lookups of them, root
 * lookups of them by id — with every answer tied to no entity (lists, searches, counts).
 */
export class SubgraphFetchCache {
  private readonly inflight = new Map<string, Flight>()
  private readonly rootTags: RootFetchTags

  constructor(
    readonly cache: TwoLevelCache,
    private readonly policy: Record<Domain, SubgraphCachePolicy> = DEFAULT_CACHE_POLICY,
    lookups: EntityLookups = new Map(),
  ) {
    this.rootTags = new RootFetchTags(lookups)
  }

  cacheable(domain: Domain): boolean {
    return this.policy[domain].ttlSeconds > 0
  }

  /** After a mutation reached the subgraph (answered or not): nothing it answered before is reused. */
  invalidate(domain: Domain): Promise<void> {
    return this.cache.bump([cacheNamespace(domain)])
  }

  /** After a write that changed exactly these entities (tags of entityTag) of the subgraph. */
  invalidateEntities(domain: Domain, entities: readonly string[]): Promise<void> {
    return this.cache.bumpTags(cacheNamespace(domain), changedEntityTags(entities))
  }

  async read(domain: Domain, request: GraphQLRequest, caller: Caller, send: Send): Promise<GraphQLResponse> {
    const policy = this.policy[domain]
    const { representations, ...others } = (request.variables ?? {}) as Variables
    const base = sha1(`${request.query}\n${JSON.stringify(others)}\n${scopeOf(caller, policy.perUser)}`)
    if (Array.isArray(representations)) return this.entities(domain, base, representations, others, send)
    if (!policy.roots) return send(request.variables)
    const tags = this.rootTags.tags(domain, request.query ?? '', request.variables)
    return this.root(domain, base, tags, request.variables, send)
  }

  private async root(
    domain: Domain,
    key: string,
    tags: string[],
    variables: Variables | undefined,
    send: Send,
  ) {
    const namespace = cacheNamespace(domain)
    const { generation, values, stamps } = await this.cache.getMany(namespace, [key], [tags])
    const hit = values[0]
    if (hit !== undefined) return { data: JSON.parse(hit) } as GraphQLResponse
    const stamp = stamps[0]!
    return this.once(`${namespace}:${generation}:${stamp}:${key}`, async () => {
      const response = await send(variables)
      if (!response.errors?.length && response.data) {
        await this.cache.setMany(
          namespace,
          generation,
          [{ key, value: JSON.stringify(response.data), tags, stamp }],
          this.policy[domain].ttlSeconds,
        )
      }
      return response
    })
  }

  private async entities(
    domain: Domain,
    base: string,
    representations: unknown[],
    others: Variables,
    send: Send,
  ): Promise<GraphQLResponse> {
    const namespace = cacheNamespace(domain)
    const keys = representations.map((r) => `${base}:${JSON.stringify(r)}`)
    const tags = representations.map(representationTags)
    const { generation, values, stamps } = await this.cache.getMany(namespace, keys, tags)
    const entities: unknown[] = new Array(representations.length)
    const missing: number[] = []
    for (let i = 0; i < values.length; i++) {
      const value = values[i]
      if (value === undefined) missing.push(i)
      else entities[i] = JSON.parse(value)
    }
    if (missing.length === 0) return { data: { _entities: entities } } as GraphQLResponse

    const response = await this.once(
      `${namespace}:${generation}:${sha1(missing.map((i) => `${stamps[i]}:${keys[i]}`).join('\n'))}`,
      async () => {
        const answer = await send({ ...others, representations: missing.map((i) => representations[i]) })
        const fetched = entitiesOf(answer, missing.length)
        const { failed, unplaced } = errorPlaces(answer)
        if (!fetched || unplaced) return answer
        const fresh = missing
          .map((i, j) => ({
            key: keys[i]!,
            value: JSON.stringify(fetched[j]),
            tags: tags[i]!,
            stamp: stamps[i]!,
          }))
          .filter((_, j) => !failed.has(j))
        if (fresh.length > 0)
          await this.cache.setMany(namespace, generation, fresh, this.policy[domain].ttlSeconds)
        return answer
      },
    )
    const fetched = entitiesOf(response, missing.length)
    if (!fetched) return response
    for (let j = 0; j < missing.length; j++) entities[missing[j]!] = fetched[j]
    // An error's path points into the subset sent; the gateway expects it to point into the whole list.
    const errors = (response.errors ?? []).map((error) => {
      const [head, index, ...rest] = error.path ?? []
      if (head !== '_entities' || typeof index !== 'number' || missing[index] === undefined) return error
      return { ...error, path: ['_entities', missing[index], ...rest] }
    })
    return {
      ...response,
      data: { ...(response.data as object), _entities: entities },
      ...(errors.length > 0 ? { errors } : {}),
    } as GraphQLResponse
  }

  /**
   * Identical fetches in flight at once (same subgraph, generation, operation, variables and scope) reach the
   * subgraph once, e.g. a popular page right after a write. The gateway merges what a fetch returns into its
   * result, so the others get a copy taken before anyone saw the answer.
   */
  private once(key: string, fetch: () => Promise<GraphQLResponse>): Promise<GraphQLResponse> {
    const flying = this.inflight.get(key)
    if (flying) {
      flying.waiters++
      return flying.answer.then(({ copy }) => JSON.parse(copy!) as GraphQLResponse)
    }
    const flight: Flight = { waiters: 0, answer: Promise.resolve({ response: {} as GraphQLResponse }) }
    flight.answer = fetch().then(
      (response) => {
        this.inflight.delete(key)
        return { response, ...(flight.waiters > 0 ? { copy: JSON.stringify(response) } : {}) }
      },
      (error: unknown) => {
        this.inflight.delete(key)
        throw error
      },
    )
    this.inflight.set(key, flight)
    return flight.answer.then(({ response }) => response)
  }
}

interface Flight {
  waiters: number
  answer: Promise<{ response: GraphQLResponse; copy?: string }>
}

/** The answer's `_entities`, when it has one per representation sent. */
function entitiesOf(response: GraphQLResponse, expected: number): unknown[] | undefined {
  const fetched = (response.data as { _entities?: unknown[] } | null | undefined)?._entities
  return Array.isArray(fetched) && fetched.length === expected ? fetched : undefined
}

/** Which entities of an `_entities` answer have errors; `unplaced`: an error that names none of them. */
function errorPlaces(response: GraphQLResponse): { failed: Set<number>; unplaced: boolean } {
  const failed = new Set<number>()
  let unplaced = false
  for (const error of response.errors ?? []) {
    const [head, index] = error.path ?? []
    if (head === '_entities' && typeof index === 'number') failed.add(index)
    else unplaced = true
  }
  return { failed, unplaced }
}

/** GATEWAY_CACHE_TTL_<DOMAIN> (seconds, 0 = not cached) over the defaults. */
export function cachePolicyFrom(
  ttl: (name: string, fallback: number) => number,
): Record<Domain, SubgraphCachePolicy> {
  return Object.fromEntries(
    DOMAINS.map((d) => {
      const policy = DEFAULT_CACHE_POLICY[d]
      return [d, { ...policy, ttlSeconds: ttl(`GATEWAY_CACHE_TTL_${d.toUpperCase()}`, policy.ttlSeconds) }]
    }),
  ) as Record<Domain, SubgraphCachePolicy>
}
