import {
  type DirectiveNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  GraphQLIncludeDirective,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  isAbstractType,
  isObjectType,
  Kind,
  type SelectionSetNode,
} from 'graphql'

/** One field of a selection, under one response key (an alias or the field's name). */
export interface SelectedField {
  /** The key the field answers under: its alias, else its name. */
  responseKey: string
  name: string
  /** The arguments the field's resolver receives: variables resolved, defaults applied. */
  args: Record<string, unknown>
  /**
   * What is selected under this field (empty for a leaf). For a field of an interface or union type,
   * name the object type whose fields are wanted.
   */
  selection(typeName?: string): Selection
}

interface Scope {
  schema: GraphQLSchema
  fragments: Readonly<Record<string, FragmentDefinitionNode>>
  variables: Readonly<Record<string, unknown>>
}

/**
 * The fields a resolver's operation asks for below one point, as graphql-js will execute them: inline
 * fragments and named fragment spreads are expanded when their type condition applies, @skip/@include
 * are honoured, arguments come resolved against the operation's variables.
 */
export class Selection {
  private collected: SelectedField[] | undefined

  constructor(
    private readonly scope: Scope,
    /** Null for a leaf: nothing is selected under it. */
    readonly type: GraphQLObjectType | null,
    private readonly nodes: readonly FieldNode[],
  ) {}

  /** Every field selected here, in document order, one entry per response key. */
  fields(): readonly SelectedField[] {
    this.collected ??= this.collect()
    return this.collected
  }

  /** The entries of one field (several when it is asked under several aliases, maybe with other arguments). */
  field(name: string): SelectedField[] {
    return this.fields().filter((f) => f.name === name)
  }

  has(name: string): boolean {
    return this.fields().some((f) => f.name === name)
  }

  /**
   * What is selected below a path of object fields, e.g. at('edges', 'node') under a connection; the
   * entries of a field asked under several aliases are merged. Empty when the path is not selected.
   */
  at(...path: string[]): Selection {
    let current: Selection = this
    for (const name of path) {
      const entries = current.field(name)
      const type = current.type?.getFields()[name]
      const named = type ? getNamedType(type.type) : undefined
      if (entries.length === 0 || !named) return new Selection(this.scope, null, [])
      if (!isObjectType(named)) throw new Error(`at(): ${current.type?.name}.${name} is not an object type`)
      current = new Selection(
        this.scope,
        named,
        entries.flatMap((e) => (e as Entry).nodes),
      )
    }
    return current
  }

  private collect(): SelectedField[] {
    const type = this.type
    if (!type) return []
    const groups = new Map<string, FieldNode[]>()
    const visited = new Set<string>()
    const walk = (set: SelectionSetNode | undefined) => {
      for (const node of set?.selections ?? []) {
        if (!this.included(node)) continue
        if (node.kind === Kind.FIELD) {
          const key = node.alias?.value ?? node.name.value
          const group = groups.get(key)
          if (group) group.push(node)
          else groups.set(key, [node])
        } else if (node.kind === Kind.INLINE_FRAGMENT) {
          if (this.applies(node.typeCondition?.name.value, type)) walk(node.selectionSet)
        } else {
          const name = node.name.value
          if (visited.has(name)) continue
          visited.add(name)
          const fragment = this.scope.fragments[name]
          if (fragment && this.applies(fragment.typeCondition.name.value, type)) walk(fragment.selectionSet)
        }
      }
    }
    for (const node of this.nodes) walk(node.selectionSet)
    const fields = type.getFields()
    return [...groups].map(([responseKey, nodes]) =>
      entry(this.scope, responseKey, nodes, fields[nodes[0]!.name.value]),
    )
  }

  private included(node: { readonly directives?: readonly DirectiveNode[] }): boolean {
    const { variables } = this.scope
    const skip = getDirectiveValues(GraphQLSkipDirective, node, variables as Record<string, unknown>)
    if (skip?.if === true) return false
    const include = getDirectiveValues(GraphQLIncludeDirective, node, variables as Record<string, unknown>)
    return include?.if !== false
  }

  private applies(condition: string | undefined, type: GraphQLObjectType): boolean {
    if (!condition || condition === type.name) return true
    const conditionType = this.scope.schema.getType(condition)
    return Boolean(
      conditionType && isAbstractType(conditionType) && this.scope.schema.isSubType(conditionType, type),
    )
  }
}

interface Entry extends SelectedField {
  nodes: readonly FieldNode[]
}

function entry(
  scope: Scope,
  responseKey: string,
  nodes: readonly FieldNode[],
  // biome-ignore lint/suspicious/noExplicitAny: any field of any type
  definition: GraphQLField<any, any> | undefined,
): Entry {
  const name = nodes[0]!.name.value
  let args: Record<string, unknown> | undefined
  return {
    responseKey,
    name,
    nodes,
    // Computed on first use: most callers only ask which fields are there.
    get args() {
      args ??= definition
        ? getArgumentValues(definition, nodes[0]!, scope.variables as Record<string, unknown>)
        : {}
      return args
    },
    selection(typeName?: string) {
      const named = definition ? getNamedType(definition.type) : undefined
      return new Selection(scope, objectType(scope.schema, named, typeName, name), nodes)
    },
  }
}

function objectType(
  schema: GraphQLSchema,
  named: GraphQLNamedType | undefined,
  typeName: string | undefined,
  where: string,
): GraphQLObjectType | null {
  if (!named) return null
  if (isObjectType(named)) return named
  if (!isAbstractType(named)) return null
  if (!typeName)
    throw new Error(`${where} is of the abstract type ${named.name}: name the object type wanted`)
  const type = schema.getType(typeName)
  if (!type || !isObjectType(type) || !schema.isSubType(named, type)) {
    throw new Error(`${typeName} is not an object type of ${named.name}`)
  }
  return type
}

/**
 * What the operation selects under the field being resolved, e.g. selectionOf(info).at('edges', 'node')
 * in a connection's resolver, or selectionOf(info, 'Product') in a __resolveReference (under _entities).
 */
export function selectionOf(info: GraphQLResolveInfo, typeName?: string): Selection {
  const scope: Scope = { schema: info.schema, fragments: info.fragments, variables: info.variableValues }
  const named = getNamedType(info.returnType)
  return new Selection(scope, objectType(info.schema, named, typeName, info.fieldName), info.fieldNodes)
}

/**
 * A value derived from a field's selection (e.g. what to prefetch), computed once per field of an
 * execution however many parents the field is resolved for: graphql-js hands every call for the same
 * field of one execution the same fieldNodes array.
 */
export function oncePerField<T>(compute: (info: GraphQLResolveInfo) => T): (info: GraphQLResolveInfo) => T {
  const cache = new WeakMap<readonly FieldNode[], { variables: unknown; value: T }>()
  return (info) => {
    const hit = cache.get(info.fieldNodes)
    if (hit && hit.variables === info.variableValues) return hit.value
    const value = compute(info)
    cache.set(info.fieldNodes, { variables: info.variableValues, value })
    return value
  }
}
