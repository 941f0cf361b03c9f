import type { ApolloServerPlugin, BaseContext } from '@apollo/server'
import type { GraphQLFieldResolver } from 'graphql'

/**
 * The response extension in which a subgraph tells the gateway which entities a mutation changed, per domain:
 * `{ "<domain>": ["Product:<id>", …] }` (entity tags, see @pm/cache entityTag). The gateway then invalidates
 * only the cached answers tied to those entities (and every answer tied to none); a domain the mutation
 * changed and did not list there is invalidated whole, as is everything when the response has errors.
 * Internal to the gateway and its subgraphs: the gateway removes it from what it answers.
 */
export const CHANGED_ENTITIES_EXTENSION = 'pmChangedEntities'

/** Same shape as @pm/cache entityTag (service-kit does not depend on the cache). */
const tagOf = (typename: string, id: string) => `${typename}:${id}`

/**
 * What the mutations of one request changed, as the mutations declare it. Each mutation field either declares
 * every entity whose answers its change can alter (`entities`), in its own domain and any other it changed
 * through a peer, or declares nothing, and its own domain then counts as changed whole. Declaring is a
 * promise: an entity left out keeps serving its old cached answer, so a mutation that cannot list them all
 * (a rename read by many entities' answers, a bulk change) declares nothing.
 */
export class ChangedEntities {
  private readonly tags = new Map<string, Set<string>>()
  private readonly whole = new Set<string>()
  private declaredInField = false
  private fields = 0

  constructor(private readonly domain: string) {}

  /** The current mutation changed these entities of `domain` (its own by default); null ids are skipped. */
  entities(typename: string, ids: Iterable<string | null | undefined>, domain = this.domain): void {
    this.declaredInField = true
    const set = this.tagsOf(domain)
    for (const id of ids) if (id) set.add(tagOf(typename, id))
  }

  /** Entity tags a peer declared for its own domain (from its response), or, when it declared none, that domain whole. */
  fromPeer(domain: string, extensions: Record<string, unknown> | undefined): void {
    this.declaredInField = true
    const declared = (extensions?.[CHANGED_ENTITIES_EXTENSION] as Record<string, unknown> | undefined)?.[
      domain
    ]
    if (!Array.isArray(declared) || declared.some((t) => typeof t !== 'string')) {
      this.whole.add(domain)
      return
    }
    const set = this.tagsOf(domain)
    for (const tag of declared as string[]) set.add(tag)
  }

  private tagsOf(domain: string): Set<string> {
    let set = this.tags.get(domain)
    if (!set) {
      set = new Set()
      this.tags.set(domain, set)
    }
    return set
  }

  /** The current mutation changed `domain` in ways it does not list. */
  wholeDomain(domain = this.domain): void {
    this.declaredInField = true
    this.whole.add(domain)
  }

  /** Runs one mutation field: one that declared nothing changed its own domain whole. */
  async field<T>(run: () => T | Promise<T>): Promise<T> {
    this.fields++
    this.declaredInField = false
    try {
      return await run()
    } finally {
      if (!this.declaredInField) this.whole.add(this.domain)
    }
  }

  /**
   * The extension's value: the domains changed by listed entities only; undefined when there are none (no
   * mutation field ran, or every domain changed counts whole: the gateway's default needs no word).
   */
  toExtension(): Record<string, string[]> | undefined {
    if (this.fields === 0) return undefined
    const out: Record<string, string[]> = {}
    for (const [domain, set] of this.tags) if (!this.whole.has(domain)) out[domain] = [...set].sort()
    return Object.keys(out).length > 0 ? out : undefined
  }
}

/** Wraps every Mutation resolver so that what it declares (or does not) is accounted to it. */
export function accountMutations<C extends { changes: ChangedEntities }>(
  mutation: Record<string, GraphQLFieldResolver<unknown, C>>,
): Record<string, GraphQLFieldResolver<unknown, C>> {
  return Object.fromEntries(
    Object.entries(mutation).map(([name, resolve]) => [
      name,
      // A context made by hand (a schema executed directly, as unit tests do) may have no account to keep.
      ((parent, args, ctx, info) =>
        ctx.changes
          ? ctx.changes.field(() => resolve(parent, args, ctx, info))
          : resolve(parent, args, ctx, info)) as GraphQLFieldResolver<unknown, C>,
    ]),
  )
}

/** Puts the request's declared changes on a mutation's response (see CHANGED_ENTITIES_EXTENSION). */
export function changedEntitiesPlugin<
  C extends BaseContext & { changes: ChangedEntities },
>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response, operation }) {
          if (operation?.operation !== 'mutation' || response.body.kind !== 'single') return
          const changed = contextValue.changes.toExtension()
          if (!changed) return
          const result = response.body.singleResult
          result.extensions = { ...result.extensions, [CHANGED_ENTITIES_EXTENSION]: changed }
        },
      }
    },
  }
}
