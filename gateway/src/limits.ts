import { createHash } from 'node:crypto'
import type { ApolloServerPlugin, BaseContext } from '@apollo/server'
import { DEFAULT_PAGE_SIZE } from '@pm/service-kit'
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLField,
  type GraphQLSchema,
  Kind,
  Lexer,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  Source,
  TokenKind,
} from 'graphql'

/** What an operation may ask for; every refusal names the limit and the value. */
export interface OperationLimits {
  /** Nesting of fields, fragments expanded; __typename and (when allowed) introspection do not count. */
  maxDepth: number
  /** Aliased fields in one operation, fragments expanded. */
  maxAliases: number
  /** Fields of the root selection (__typename aside). */
  maxRootFields: number
  /** Directives anywhere in one operation, fragments expanded. */
  maxDirectives: number
  /** Lexical tokens of the whole document. */
  maxTokens: number
  /** See operationCost: 1 per field, a `first` multiplies what is below it. */
  maxCost: number
  /** Times one response key (or one fragment spread) appears in one selection set. */
  maxFieldDuplicates: number
  /** Nesting of the JSON variables (each object or list one level), checked before anything reads them. */
  maxVariablesDepth: number
}

export const DEFAULT_OPERATION_LIMITS: OperationLimits = {
  maxDepth: 12,
  maxAliases: 30,
  maxRootFields: 20,
  maxDirectives: 50,
  maxTokens: 5_000,
  maxCost: 5_000,
  maxFieldDuplicates: 50,
  maxVariablesDepth: 32,
}

/** An object, interface or union type, as far as the cost needs to know it. */
interface Composite {
  getFields?: () => Record<string, GraphQLField<unknown, unknown>>
}

/**
 * Introspection list fields nested inside each other (types → fields → args is 3, what GraphiQL asks);
 * deeper (types → fields → type → fields …) only multiplies the answer.
 */
export const MAX_INTROSPECTION_LIST_NESTING = 3

/** The stable extensions.code of each refusal at the gateway. */
export const LimitCode = {
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  TOO_MANY_ALIASES: 'TOO_MANY_ALIASES',
  TOO_MANY_ROOT_FIELDS: 'TOO_MANY_ROOT_FIELDS',
  TOO_MANY_DIRECTIVES: 'TOO_MANY_DIRECTIVES',
  TOO_MANY_TOKENS: 'TOO_MANY_TOKENS',
  TOO_MANY_DUPLICATE_FIELDS: 'TOO_MANY_DUPLICATE_FIELDS',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  INTROSPECTION_DISABLED: 'INTROSPECTION_DISABLED',
  BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
  VARIABLES_TOO_DEEP: 'VARIABLES_TOO_DEEP',
  OPERATION_NAME_REQUIRED: 'OPERATION_NAME_REQUIRED',
  OPERATION_NOT_FOUND: 'OPERATION_NOT_FOUND',
  SUBSCRIPTIONS_NOT_SUPPORTED: 'SUBSCRIPTIONS_NOT_SUPPORTED',
} as const
export type LimitCode = (typeof LimitCode)[keyof typeof LimitCode]
export const LIMIT_CODES: ReadonlySet<string> = new Set(Object.values(LimitCode))

/** A refusal: HTTP 400 (Apollo reads extensions.http), the limit and the value as extensions too. */
export function limitError(
  code: LimitCode,
  message: string,
  extensions: Record<string, unknown> = {},
  status = 400,
): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions, http: { status } } })
}

const INTROSPECTION_ROOTS = new Set(['__schema', '__type'])
const INTROSPECTION_LISTS = new Set([
  'types',
  'fields',
  'inputFields',
  'interfaces',
  'possibleTypes',
  'enumValues',
  'args',
  'directives',
])

/** What the structural limits look at, for one selection set (or one fragment's). */
interface Shape {
  depth: number
  aliases: number
  directives: number
  /** Fields at this level, through inline fragments and spreads, __typename aside. */
  fields: number
  introspection: boolean
  introspectionLists: number
  duplicate: { key: string; count: number }
}

const emptyShape = (): Shape => ({
  depth: 0,
  aliases: 0,
  directives: 0,
  fields: 0,
  introspection: false,
  introspectionLists: 0,
  duplicate: { key: '', count: 0 },
})

function absorb(into: Shape, from: Shape) {
  into.depth = Math.max(into.depth, from.depth)
  into.aliases += from.aliases
  into.directives += from.directives
  into.fields += from.fields
  into.introspection ||= from.introspection
  into.introspectionLists = Math.max(into.introspectionLists, from.introspectionLists)
  if (from.duplicate.count > into.duplicate.count) into.duplicate = from.duplicate
}

/**
 * Measures selection sets without the schema (it runs before validation). Each fragment is measured once
 * and reused wherever it is spread, so fragments spread inside fragments cost linear time, not exponential;
 * a cycle (refused by validation later) counts as empty.
 */
class ShapeMeter {
  private readonly fragments = new Map<string, FragmentDefinitionNode>()
  private readonly measured = new Map<string, Shape>()
  private readonly visiting = new Set<string>()

  constructor(
    document: DocumentNode,
    private readonly introspectionAllowed: boolean,
  ) {
    for (const definition of document.definitions)
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(definition.name.value, definition)
  }

  operation(operation: OperationDefinitionNode): Shape {
    const shape = this.selectionSet(operation.selectionSet, false)
    shape.directives += operation.directives?.length ?? 0
    for (const variable of operation.variableDefinitions ?? [])
      shape.directives += variable.directives?.length ?? 0
    return shape
  }

  private fragment(name: string, inIntrospection: boolean): Shape | undefined {
    const key = `${inIntrospection}:${name}`
    const known = this.measured.get(key)
    if (known) return known
    const definition = this.fragments.get(name)
    if (!definition || this.visiting.has(key)) return undefined
    this.visiting.add(key)
    const shape = this.selectionSet(definition.selectionSet, inIntrospection)
    shape.directives += definition.directives?.length ?? 0
    this.visiting.delete(key)
    this.measured.set(key, shape)
    return shape
  }

  /** keys: response keys of the enclosing field's level, shared with the inline fragments in it. */
  private selectionSet(set: SelectionSetNode, inIntrospection: boolean, keys?: Map<string, number>): Shape {
    const shape = emptyShape()
    const level = keys ?? new Map<string, number>()
    const count = (key: string) => level.set(key, (level.get(key) ?? 0) + 1)
    for (const selection of set.selections) {
      shape.directives += selection.directives?.length ?? 0
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value
        count(selection.alias?.value ?? name)
        if (selection.alias) shape.aliases++
        if (name === '__typename') continue
        shape.fields++
        const introspective = inIntrospection || INTROSPECTION_ROOTS.has(name)
        if (INTROSPECTION_ROOTS.has(name)) shape.introspection = true
        const below = selection.selectionSet
          ? this.selectionSet(selection.selectionSet, introspective)
          : undefined
        const child = below ?? emptyShape()
        absorb(shape, { ...child, depth: 0, fields: 0, introspectionLists: 0 })
        const counted = !(introspective && this.introspectionAllowed)
        shape.depth = Math.max(shape.depth, counted ? 1 + child.depth : 0)
        const list = introspective && INTROSPECTION_LISTS.has(name) ? 1 : 0
        shape.introspectionLists = Math.max(shape.introspectionLists, list + child.introspectionLists)
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        absorb(shape, this.selectionSet(selection.selectionSet, inIntrospection, level))
      } else {
        count(`...${selection.name.value}`)
        const fragment = this.fragment(selection.name.value, inIntrospection)
        if (fragment) absorb(shape, fragment)
      }
    }
    if (!keys) {
      for (const [key, times] of level)
        if (times > shape.duplicate.count) shape.duplicate = { key, count: times }
    }
    return shape
  }
}

function countTokens(query: string): { count: number; complete: boolean } {
  const lexer = new Lexer(new Source(query))
  let count = 0
  try {
    while (lexer.advance().kind !== TokenKind.EOF) count++
    return { count, complete: true }
  } catch {
    return { count, complete: false }
  }
}

const TOKEN_LIMIT_MESSAGE = /Document contains more th\w+ \d+ tokens/

function operationLabel(operation: OperationDefinitionNode): string {
  return operation.name ? `Operation "${operation.name.value}"` : 'The operation'
}

function tooMany(
  code: LimitCode,
  value: number,
  limit: number,
  what: (value: number) => string,
  hint: string,
): GraphQLError | undefined {
  if (value <= limit) return undefined
  return limitError(code, `${what(value)}, more than the limit of ${limit}: ${hint}`, { limit, value })
}

function checkShape(
  operation: OperationDefinitionNode,
  shape: Shape,
  limits: OperationLimits,
  introspectionAllowed: boolean,
): GraphQLError | undefined {
  const label = operationLabel(operation)
  if (shape.introspection && !introspectionAllowed) {
    return limitError(
      LimitCode.INTROSPECTION_DISABLED,
      'Introspection (__schema, __type) is turned off on this gateway: ask the API owners for the schema',
    )
  }
  if (shape.introspectionLists > MAX_INTROSPECTION_LIST_NESTING) {
    return limitError(
      LimitCode.QUERY_TOO_DEEP,
      `${label} nests ${shape.introspectionLists} introspection lists, more than the limit of ` +
        `${MAX_INTROSPECTION_LIST_NESTING}: read the schema with the standard introspection query`,
      { limit: MAX_INTROSPECTION_LIST_NESTING, value: shape.introspectionLists },
    )
  }
  return (
    tooMany(
      LimitCode.QUERY_TOO_DEEP,
      shape.depth,
      limits.maxDepth,
      (n) => `${label} nests fields ${n} levels deep`,
      'ask for fewer nested levels, and fetch deeper data in a second request',
    ) ??
    tooMany(
      LimitCode.TOO_MANY_ALIASES,
      shape.aliases,
      limits.maxAliases,
      (n) => `${label} uses ${n} aliases`,
      'use fewer aliases, or one list field instead of many aliased lookups',
    ) ??
    tooMany(
      LimitCode.TOO_MANY_ROOT_FIELDS,
      shape.fields,
      limits.maxRootFields,
      (n) => `${label} selects ${n} root fields`,
      'split it into several operations',
    ) ??
    tooMany(
      LimitCode.TOO_MANY_DIRECTIVES,
      shape.directives,
      limits.maxDirectives,
      (n) => `${label} uses ${n} directives`,
      'use fewer directives',
    ) ??
    (shape.duplicate.count > limits.maxFieldDuplicates
      ? limitError(
          LimitCode.TOO_MANY_DUPLICATE_FIELDS,
          `${label} selects "${shape.duplicate.key}" ${shape.duplicate.count} times in one selection set, ` +
            `more than the limit of ${limits.maxFieldDuplicates}: select each field once`,
          { limit: limits.maxFieldDuplicates, value: shape.duplicate.count, field: shape.duplicate.key },
        )
      : undefined)
  )
}

/** The documents already found within the limits, by SHA-256; the least recently seen go first. */
class Accepted {
  private readonly keys = new Set<string>()
  constructor(private readonly size: number) {}
  has(key: string): boolean {
    if (!this.keys.has(key)) return false
    this.keys.delete(key)
    this.keys.add(key)
    return true
  }
  add(key: string) {
    this.keys.add(key)
    if (this.keys.size > this.size) this.keys.delete(this.keys.values().next().value!)
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** How a client-supplied name appears in a message: at most 100 characters. */
export function quoted(name: string): string {
  return JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}…` : name)
}

/**
 * The operation a request runs, or why there is none: several operations and no operationName
 * (OPERATION_NAME_REQUIRED), an operationName the document does not define (OPERATION_NOT_FOUND), or a
 * subscription (SUBSCRIPTIONS_NOT_SUPPORTED: this gateway answers over HTTP only).
 */
export function selectOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
): { operation: OperationDefinitionNode } | { error: GraphQLError } {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )
  let operation: OperationDefinitionNode | undefined
  if (operationName) {
    operation = operations.find((o) => o.name?.value === operationName)
    if (!operation) {
      const names = operations.flatMap((o) => (o.name ? [o.name.value] : []))
      return {
        error: limitError(
          LimitCode.OPERATION_NOT_FOUND,
          `The document defines no operation named ${quoted(operationName)}: send one of ${names.slice(0, 10).map(quoted).join(', ') || 'its operations'}${names.length > 10 ? ', …' : ''} as operationName`,
        ),
      }
    }
  } else if (operations.length === 1) operation = operations[0]
  else {
    return {
      error: limitError(
        LimitCode.OPERATION_NAME_REQUIRED,
        `The document defines ${operations.length} operations: send the name of the one to run as operationName`,
      ),
    }
  }
  if (operation!.operation === 'subscription') {
    return {
      error: limitError(
        LimitCode.SUBSCRIPTIONS_NOT_SUPPORTED,
        'Subscriptions are not served here: send queries and mutations, and poll for changes',
      ),
    }
  }
  return { operation: operation! }
}

/** Whether a parsed JSON value nests objects and lists deeper than `limit` (iterative: any depth is safe). */
export function jsonDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }]
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!
    if (current === null || typeof current !== 'object') continue
    if (depth > limit) return true
    for (const child of Array.isArray(current) ? current : Object.values(current))
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1 })
  }
  return false
}

/** One operation of a request, as the client sent it. */
export interface RequestedOperation {
  query?: unknown
  operationName?: unknown
  variables?: unknown
  extensions?: unknown
}

/**
 * The operation limits. `check` needs only the text and runs before Apollo parses and validates it (the
 * attacks it stops are aimed at those steps); `cost` needs the schema and the variables, after validation.
 */
export class OperationGuard {
  private readonly accepted = new Accepted(2_000)

  constructor(
    readonly limits: OperationLimits,
    readonly introspectionAllowed: boolean,
  ) {}

  /** The first limit the document breaks, if any; syntax errors are left to Apollo to report. */
  check(query: string, hash: string = sha256(query)): GraphQLError | undefined {
    if (this.accepted.has(hash)) return undefined
    let document: DocumentNode
    try {
      document = parse(query, { maxTokens: this.limits.maxTokens, noLocation: true })
    } catch (error) {
      if (!TOKEN_LIMIT_MESSAGE.test((error as Error).message)) return undefined
      const { count, complete } = countTokens(query)
      const value = complete ? String(count) : `more than ${count}`
      return limitError(
        LimitCode.TOO_MANY_TOKENS,
        `The document has ${value} tokens, more than the limit of ${this.limits.maxTokens}: send a shorter operation`,
        { limit: this.limits.maxTokens, value: count },
      )
    }
    const meter = new ShapeMeter(document, this.introspectionAllowed)
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) continue
      const refusal = checkShape(
        definition,
        meter.operation(definition),
        this.limits,
        this.introspectionAllowed,
      )
      if (refusal) return refusal
    }
    this.accepted.add(hash)
    return undefined
  }

  /** VARIABLES_TOO_DEEP when the variables (or extensions) nest deeper than the limit. */
  checkVariables(operation: RequestedOperation): GraphQLError | undefined {
    const limit = this.limits.maxVariablesDepth
    for (const part of ['variables', 'extensions'] as const) {
      if (jsonDeeperThan(operation[part], limit))
        return limitError(
          LimitCode.VARIABLES_TOO_DEEP,
          `The ${part} nest objects or lists deeper than the limit of ${limit} levels: send flatter values`,
          { limit },
        )
    }
    return undefined
  }

  /**
   * QUERY_TOO_COMPLEX when the operations of one batched request cost more than the limit together. Each
   * is the text sent or the persisted document of its hash (`persisted`); one the gateway cannot resolve
   * or parse costs nothing here (Apollo refuses it on its own).
   */
  async checkBatchCost(
    schema: GraphQLSchema,
    operations: readonly RequestedOperation[],
    persisted: (hash: string) => Promise<string | undefined>,
  ): Promise<GraphQLError | undefined> {
    let total = 0
    for (const requested of operations) {
      let query = requested.query
      const hash = (requested.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)
        ?.persistedQuery?.sha256Hash
      if (typeof query !== 'string' && typeof hash === 'string') query = await persisted(hash)
      if (typeof query !== 'string') continue
      let document: DocumentNode
      try {
        document = parse(query, { maxTokens: this.limits.maxTokens, noLocation: true })
      } catch {
        continue
      }
      const name = typeof requested.operationName === 'string' ? requested.operationName : undefined
      const selected = selectOperation(document, name)
      if (!('operation' in selected)) continue
      const variables =
        requested.variables && typeof requested.variables === 'object'
          ? (requested.variables as Record<string, unknown>)
          : undefined
      total += operationCost(schema, document, selected.operation, variables)
    }
    if (total <= this.limits.maxCost) return undefined
    const value = Number.isFinite(total) && total < 1e15 ? Math.round(total) : Number.MAX_SAFE_INTEGER
    return limitError(
      LimitCode.QUERY_TOO_COMPLEX,
      `The ${operations.length} operations of the batch cost ${value} together, more than the limit of ` +
        `${this.limits.maxCost} for one request: send fewer or cheaper operations per request`,
      { limit: this.limits.maxCost, value },
    )
  }

  /** QUERY_TOO_COMPLEX when the operation costs more than the limit. */
  checkCost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Record<string, unknown> | undefined,
  ): GraphQLError | undefined {
    const cost = operationCost(schema, document, operation, variables)
    if (cost <= this.limits.maxCost) return undefined
    const value = Number.isFinite(cost) && cost < 1e15 ? Math.round(cost) : Number.MAX_SAFE_INTEGER
    return limitError(
      LimitCode.QUERY_TOO_COMPLEX,
      `${operationLabel(operation)} costs ${value}, more than the limit of ${this.limits.maxCost} ` +
        `(each field costs 1, and the items of a list under \`first: n\` (${DEFAULT_PAGE_SIZE} when not given) ` +
        `cost n times what they select): ask for smaller pages or fewer nested lists`,
      { limit: this.limits.maxCost, value },
    )
  }
}

/**
 * The cost of an operation, what QUERY_TOO_COMPLEX compares with the limit:
 * - every field costs 1, plus what it selects;
 * - a connection is a field with a `first` argument; n = its value (literal, variable or declared default),
 *   else 20. Its list fields (edges, nodes) cost 1 + n × what they select; its other fields (totalCount,
 *   pageInfo) once. A list field that takes `first` itself costs 1 + n × what it selects;
 * - other lists (per-parent lists bounded by the data model, such as prices or media) count once;
 * - nested connections multiply: suppliers(first: 100) { edges { node { products(first: 100) { edges … } } } }
 *   costs about 100 × 100 × what one product costs;
 * - fragments count where they are spread, a selection on an abstract type sums its type conditions,
 *   and __typename and introspection cost nothing.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
): number {
  // Only the AST and the schema's plain accessors: under a bundler, Apollo's graphql module may be another
  // copy than this file's, and graphql's instanceof-based helpers refuse types from another copy.
  const fragments = new Map<string, FragmentDefinitionNode>()
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition)
  const variableDefaults = new Map<string, unknown>()
  for (const definition of operation.variableDefinitions ?? []) {
    const value = definition.defaultValue
    if (value?.kind === Kind.INT) variableDefaults.set(definition.variable.name.value, Number(value.value))
  }
  const memo = new Map<string, number>()
  const visiting = new Set<string>()

  const pageSize = (field: GraphQLField<unknown, unknown>, node: FieldNode): number | undefined => {
    const argument = field.args.find((arg) => arg.name === 'first')
    if (!argument) return undefined
    const given = node.arguments?.find((arg) => arg.name.value === 'first')?.value
    let first: unknown = argument.defaultValue
    if (given?.kind === Kind.INT) first = Number(given.value)
    else if (given?.kind === Kind.NULL) first = undefined
    else if (given?.kind === Kind.VARIABLE) {
      const name = given.name.value
      first = variables?.[name] ?? variableDefaults.get(name) ?? argument.defaultValue
    }
    return typeof first === 'number' && Number.isFinite(first) ? Math.max(0, first) : DEFAULT_PAGE_SIZE
  }

  const composite = (name: string): Composite | undefined => {
    const type = schema.getType(name) as Partial<Composite> | undefined
    return type && (typeof type.getFields === 'function' || 'getTypes' in type)
      ? (type as Composite)
      : undefined
  }

  /** items: how many entries each list field of this selection returns (its connection's page size). */
  const selectionCost = (set: SelectionSetNode, type: Composite, items: number): number => {
    let total = 0
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value
        if (name === '__typename' || INTROSPECTION_ROOTS.has(name)) continue
        const field = type.getFields?.()[name]
        if (!field) continue
        const typeName = String(field.type)
        const list = typeName.replace(/!$/, '').startsWith('[')
        const named = composite(typeName.replace(/[[\]!]/g, ''))
        const page = pageSize(field, selection)
        const below =
          selection.selectionSet && named
            ? selectionCost(selection.selectionSet, named, page !== undefined && !list ? page : 1)
            : 0
        total += 1 + (list ? (page ?? items) : 1) * below
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition && composite(selection.typeCondition.name.value)
        total += selectionCost(selection.selectionSet, condition || type, items)
      } else {
        const name = selection.name.value
        const key = `${name}:${items}`
        const known = memo.get(key)
        if (known !== undefined) {
          total += known
          continue
        }
        const definition = fragments.get(name)
        const condition = definition && composite(definition.typeCondition.name.value)
        if (!definition || !condition || visiting.has(name)) continue
        visiting.add(name)
        const cost = selectionCost(definition.selectionSet, condition, items)
        visiting.delete(name)
        memo.set(key, cost)
        total += cost
      }
    }
    return total
  }

  const root = schema.getRootType(operation.operation) as Composite | null | undefined
  return root ? selectionCost(operation.selectionSet, root, 1) : 0
}

/**
 * Checks every operation Apollo is about to plan: its cost (which needs the schema and the variables), and
 * the structural limits again for operations that did not come through the HTTP route's check (a persisted
 * query sent as its hash alone); for the others that is a cache hit.
 */
export function operationLimitsPlugin<C extends BaseContext>(guard: OperationGuard): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ source, queryHash, document, operation, schema, request, contextValue }) {
          const selected = selectOperation(document, request.operationName)
          if ('error' in selected) throw selected.error
          // The platform's own signed workers (feed exports) read in large pages: their cost is not bounded here.
          const service = (contextValue as { caller?: { kind?: string } }).caller?.kind === 'service'
          const refusal =
            guard.check(source, queryHash) ??
            (operation && !service
              ? guard.checkCost(schema, document, operation, request.variables)
              : undefined)
          if (refusal) throw refusal
        },
      }
    },
  }
}
