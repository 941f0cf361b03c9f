import type { Domain } from '@pm/db'
import { type ConstDirectiveNode, type DocumentNode, Kind } from 'graphql'
import { type SubgraphModule, subgraphResolvers } from './subgraph'

const ROOTS = ['Query', 'Mutation']

/** Whether a @key directive lets this subgraph resolve the entity (resolvable defaults to true). */
const resolvableKey = (d: ConstDirectiveNode) =>
  d.name.value === 'key' &&
  !d.arguments?.some(
    (a) => a.name.value === 'resolvable' && a.value.kind === Kind.BOOLEAN && a.value.value === false,
  )

/**
 * The resolvers a subgraph's schema needs and its module lacks, as "Type.field": every Query and Mutation
 * field, and __resolveReference of every entity the subgraph resolves (a @key not marked resolvable: false).
 * Apollo builds a schema without complaint when one is missing; the field then answers null (or fails as
 * non-null) at run time. Fields of other types read their parent object unless given a resolver: that the
 * parent type carries them is checked at compile time (SubgraphResolvers, CompleteResolvers).
 */
export function missingResolvers<D extends Domain, L>(module: SubgraphModule<D, L>): string[] {
  const resolvers = subgraphResolvers(module) as Record<string, Record<string, unknown> | undefined>
  const has = (type: string, field: string) => typeof resolvers[type]?.[field] === 'function'
  return needsResolvers(module.typeDefs)
    .filter(([type, field]) => !has(type, field))
    .map((p) => p.join('.'))
}

function needsResolvers(typeDefs: DocumentNode): [string, string][] {
  const needed: [string, string][] = []
  for (const d of typeDefs.definitions) {
    if (d.kind !== Kind.OBJECT_TYPE_DEFINITION && d.kind !== Kind.OBJECT_TYPE_EXTENSION) continue
    const type = d.name.value
    if (ROOTS.includes(type)) for (const f of d.fields ?? []) needed.push([type, f.name.value])
    if (d.directives?.some(resolvableKey)) needed.push([type, '__resolveReference'])
  }
  return needed
}
