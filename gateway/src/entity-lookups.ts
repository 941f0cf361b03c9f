import { ANY_CHANGE_TAG, entityTag, entityTypeTag } from '@pm/cache'
import {
  type ConstDirectiveNode,
  type DocumentNode,
  Kind,
  type ObjectTypeDefinitionNode,
  type OperationDefinitionNode,
  parse,
  type TypeNode,
  type ValueNode,
} from 'graphql'
import { SCHEMA_CACHE_SCOPES } from './generated/cache-scopes'

/** Per subgraph: its root fields that read one entity by its `id` key, with the entity's type. */
export type EntityLookups = ReadonlyMap<string, ReadonlyMap<string, string>>

/** Per subgraph, per Query field: where an owner id is among its arguments (`@cacheScope`, pnpm compose). */
export type CacheScopes = Readonly<
  Record<string, Readonly<Record<string, readonly { path: readonly string[]; entity: string }[]>>>
>

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

/** Where an id is in a fetch: a literal, or a variable (or one field of an input object variable). */
type IdSource = { value: string } | { variable: string; field?: string }

/**
 * How a root fetch's answer is tied to entities, per root field: the options, tried in order at run time, of
 * the entity that the field's answer depends on alone (the entity it looks up by id, or an owner its arguments
 * name). Undefined: tied to no entity.
 */
type RootShape = { type: string; id: IdSource; lookup?: true }[][] | undefined

const MAX_SHAPES = 2_000

/**
 * The tags a root fetch's cached answer depends on: one entity tag per root field when every root field is
 * tied to one entity: a lookup by id (the answer is that entity's, or null when it does not exist), or a field
 * given an owner by a `@cacheScope` argument (its answer holds only what that owner owns). Else the subgraph's
 * any-change tag. Analyses are kept per query text (the query planner sends the same texts).
 */
export class RootFetchTags {
  private readonly shapes = new Map<string, RootShape>()

  constructor(
    private readonly lookups: EntityLookups,
    private readonly scopes: CacheScopes = SCHEMA_CACHE_SCOPES,
  ) {}

  tags(domain: string, query: string, variables: Record<string, unknown> | undefined): string[] {
    const shape = this.shape(domain, query)
    if (!shape) return [ANY_CHANGE_TAG]
    const tags: string[] = []
    for (const options of shape) {
      const chosen = options.find((o) => idValue(o.id, variables) !== undefined)
      if (!chosen) return [ANY_CHANGE_TAG]
      // The UUID scalar reads ids case-insensitively: the tag names the id as the subgraph stores it.
      tags.push(entityTag(chosen.type, idValue(chosen.id, variables)!.toLowerCase()))
      // An entity's own answer also goes with its type's (a bulk write); an owner's list goes with the owner.
      if (chosen.lookup) tags.push(entityTypeTag(chosen.type))
    }
    return tags
  }

  private shape(domain: string, query: string): RootShape {
    const key = `${domain}\u0000${query}`
    if (this.shapes.has(key)) return this.shapes.get(key)
    const shape = analyse(this.lookups.get(domain), this.scopes[domain], query)
    if (this.shapes.size >= MAX_SHAPES) this.shapes.delete(this.shapes.keys().next().value!)
    this.shapes.set(key, shape)
    return shape
  }
}

function idValue(id: IdSource, variables: Record<string, unknown> | undefined): string | undefined {
  if ('value' in id) return id.value
  const variable = variables?.[id.variable]
  const value =
    id.field === undefined
      ? variable
      : variable !== null && typeof variable === 'object'
        ? (variable as Record<string, unknown>)[id.field]
        : undefined
  return typeof value === 'string' ? value : undefined
}

/** Where the value at `path` under an argument's value comes from (a literal or a variable), if anywhere. */
function sourceAt(value: ValueNode | undefined, path: readonly string[]): IdSource | undefined {
  if (!value) return undefined
  if (value.kind === Kind.STRING) return path.length === 0 ? { value: value.value } : undefined
  if (value.kind === Kind.VARIABLE) {
    if (path.length === 0) return { variable: value.name.value }
    return path.length === 1 ? { variable: value.name.value, field: path[0]! } : undefined
  }
  if (value.kind === Kind.OBJECT && path.length > 0) {
    return sourceAt(value.fields.find((f) => f.name.value === path[0])?.value, path.slice(1))
  }
  return undefined
}

function analyse(
  lookups: ReadonlyMap<string, string> | undefined,
  scopes: CacheScopes[string] | undefined,
  query: string,
): RootShape {
  if (!lookups && !scopes) return undefined
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
    if ((selection.directives?.length ?? 0) > 0) return undefined
    const name = selection.name.value
    const argument = (argumentName: string) => selection.arguments?.find((a) => a.name.value === argumentName)
    const type = lookups?.get(name)
    if (type) {
      const id = selection.arguments?.length === 1 ? sourceAt(argument('id')?.value, []) : undefined
      if (!id) return undefined
      shape.push([{ type, id, lookup: true }])
      continue
    }
    const options = (scopes?.[name] ?? []).flatMap((scope) => {
      const id = sourceAt(argument(scope.path[0]!)?.value, scope.path.slice(1))
      return id ? [{ type: scope.entity, id }] : []
    })
    if (options.length === 0) return undefined
    shape.push(options)
  }
  return shape.length > 0 ? shape : undefined
}
