import { ANY_CHANGE_TAG, entityTag } from '@pm/cache'
import {
  type ConstDirectiveNode,
  type DocumentNode,
  Kind,
  type ObjectTypeDefinitionNode,
  type OperationDefinitionNode,
  parse,
  type TypeNode,
} from 'graphql'

/** Per subgraph: its root fields that read one entity by its `id` key, with the entity's type. */
export type EntityLookups = ReadonlyMap<string, ReadonlyMap<string, string>>

const stringArgument = (directive: ConstDirectiveNode, name: string): string | undefined => {
  const value = directive.arguments?.find((a) => a.name.value === name)?.value
  return value?.kind === Kind.STRING ? value.value : value?.kind === Kind.ENUM ? value.value : undefined
}

/** A named object type, nullable or not; undefined for lists. */
function namedType(type: TypeNode): string | undefined {
  if (type.kind === Kind.NON_NULL_TYPE) return namedType(type.type)
  return type.kind === Kind.NAMED_TYPE ? type.name.value : undefined
}

/**
 * Reads from the supergraph the root query fields that look one entity up by id: a field of one subgraph
 * (`@join__field(graph: G)`), whose only argument is `id`, returning (not in a list) a type that subgraph keys
 * by `id` (`@join__type(graph: G, key: "id")`). Their cached answers depend on that entity alone, as an
 * `_entities` lookup does, so an invalidation of other entities leaves them (see SubgraphFetchCache).
 */
export function entityLookupsOf(supergraphSdl: string): EntityLookups {
  const document = parse(supergraphSdl, { noLocation: true })
  const graphNames = new Map<string, string>()
  const keyedById = new Set<string>()
  let query: ObjectTypeDefinitionNode | undefined
  for (const definition of document.definitions) {
    if (definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === 'join__Graph') {
      for (const value of definition.values ?? []) {
        const graph = value.directives?.find((d) => d.name.value === 'join__graph')
        const name = graph && stringArgument(graph, 'name')
        if (name) graphNames.set(value.name.value, name)
      }
    }
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) continue
    if (definition.name.value === 'Query') query = definition
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'join__type' || stringArgument(directive, 'key') !== 'id') continue
      const graph = stringArgument(directive, 'graph')
      if (graph) keyedById.add(`${graph}\u0000${definition.name.value}`)
    }
  }
  const lookups = new Map<string, Map<string, string>>()
  for (const field of query?.fields ?? []) {
    const joins = field.directives?.filter((d) => d.name.value === 'join__field') ?? []
    if (joins.length !== 1 || joins[0]!.arguments?.some((a) => a.name.value !== 'graph')) continue
    const graph = stringArgument(joins[0]!, 'graph')
    const type = namedType(field.type)
    if (!graph || !type || field.arguments?.length !== 1 || field.arguments[0]!.name.value !== 'id') continue
    const domain = graphNames.get(graph)
    if (!domain || !keyedById.has(`${graph}\u0000${type}`)) continue
    if (!lookups.has(domain)) lookups.set(domain, new Map())
    lookups.get(domain)!.set(field.name.value, type)
  }
  return lookups
}

/** How a root fetch's answer is tied to entities: per root field, the entity type and where its id comes from. */
type RootShape = { type: string; id: { variable: string } | { value: string } }[] | undefined

const MAX_SHAPES = 2_000

/**
 * The tags a root fetch's cached answer depends on: one entity tag per root field when every root field is an
 * entity lookup by id (the answer is those entities', or null for one that does not exist), else the
 * subgraph's any-change tag. Analyses are kept per query text (the query planner sends the same texts).
 */
export class RootFetchTags {
  private readonly shapes = new Map<string, RootShape>()

  constructor(private readonly lookups: EntityLookups) {}

  tags(domain: string, query: string, variables: Record<string, unknown> | undefined): string[] {
    const shape = this.shape(domain, query)
    if (!shape) return [ANY_CHANGE_TAG]
    const tags: string[] = []
    for (const { type, id } of shape) {
      const value = 'value' in id ? id.value : variables?.[id.variable]
      if (typeof value !== 'string') return [ANY_CHANGE_TAG]
      // The UUID scalar reads ids case-insensitively: the tag names the id as the subgraph stores it.
      tags.push(entityTag(type, value.toLowerCase()))
    }
    return tags
  }

  private shape(domain: string, query: string): RootShape {
    const key = `${domain}\u0000${query}`
    if (this.shapes.has(key)) return this.shapes.get(key)
    const shape = analyse(this.lookups.get(domain), query)
    if (this.shapes.size >= MAX_SHAPES) this.shapes.delete(this.shapes.keys().next().value!)
    this.shapes.set(key, shape)
    return shape
  }
}

function analyse(lookups: ReadonlyMap<string, string> | undefined, query: string): RootShape {
  if (!lookups) return undefined
  let document: DocumentNode
  try {
    document = parse(query, { noLocation: true })
  } catch {
    return undefined
  }
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )
  if (operations.length !== 1 || operations[0]!.operation !== 'query') return undefined
  const shape: NonNullable<RootShape> = []
  for (const selection of operations[0]!.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return undefined
    if (selection.name.value === '__typename') continue
    const type = lookups.get(selection.name.value)
    const argument = selection.arguments?.length === 1 ? selection.arguments[0]! : undefined
    if (!type || argument?.name.value !== 'id' || (selection.directives?.length ?? 0) > 0) return undefined
    if (argument.value.kind === Kind.VARIABLE)
      shape.push({ type, id: { variable: argument.value.name.value } })
    else if (argument.value.kind === Kind.STRING) shape.push({ type, id: { value: argument.value.value } })
    else return undefined
  }
  return shape.length > 0 ? shape : undefined
}
