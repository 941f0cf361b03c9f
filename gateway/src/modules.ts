import type { ApolloServerPlugin, BaseContext } from '@apollo/server'
import { ErrorCode, type Logger, MODULE_IDS, type ModuleId } from '@pm/service-kit'
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql'
import { CoreOutage, queryCore } from './core-client'
import { SCHEMA_MODULE_GATES } from './generated/module-gates'

/**
 * The modules gate. Core owns each module's state (its public `modules` query: app_settings `module.<id>`
 * first, then core's MODULE_<ID>_ENABLED, then on); the gateway asks core for it (cached at most 5 s, so a
 * switch applies within seconds, no restart) and refuses, before any subgraph is called, an operation that
 * touches a disabled module's part of the graph: 403 MODULE_DISABLED naming the module.
 *
 * What each module gates is declared in the subgraph schemas, `@module(id: "…")` beside the permission
 * (see COMMON_SDL), and collected by `pnpm compose` into generated/module-gates.ts, as schema coordinates
 * of the public (API) schema:
 * - types: any field of the type, any field returning it, any fragment on it;
 * - fields: `Type.field`, the field itself (root fields, and fields a module adds to another's entity);
 * - inputs: `InputType.field`, an operation giving it a value.
 * `modules` itself is never gated. Every coordinate is checked against the public schema by the tests.
 * Modules whose part is outside this graph (icecat, odoo_sync, prestashop, amazon, ai_enrichment,
 * file_explorer, search_engine: integrations, UI features or workers elsewhere) gate nothing here, and their
 * switch still shows in `modules` for the front end.
 */

export interface ModuleGate {
  types: readonly string[]
  fields: readonly string[]
  /**
   * Input fields, `InputType.field`: an operation that gives one a value (a literal in the document, or in
   * its variables) touches the module, e.g. a filter on a disabled module's figures.
   */
  inputs?: readonly string[]
}

const NOTHING: ModuleGate = { types: [], fields: [], inputs: [] }

/** Every module id → what it gates, from the schemas' @module directives. */
export const MODULE_GATES: Readonly<Record<ModuleId, ModuleGate>> = Object.fromEntries(
  MODULE_IDS.map((id) => [id, SCHEMA_MODULE_GATES[id] ?? NOTHING]),
) as Record<ModuleId, ModuleGate>

/** Coordinate ("Type" or "Type.field") → the modules gating it. */
export function gateIndex(gates: Readonly<Record<ModuleId, ModuleGate>>): Map<string, ModuleId[]> {
  const index = new Map<string, ModuleId[]>()
  const add = (coordinate: string, id: ModuleId) =>
    index.set(coordinate, [...(index.get(coordinate) ?? []), id])
  for (const id of MODULE_IDS) {
    for (const type of gates[id].types) add(type, id)
    for (const field of gates[id].fields) add(field, id)
  }
  return index
}

const DEFAULT_INDEX = gateIndex(MODULE_GATES)

/** Input field coordinate ("InputType.field") → the modules gating it. */
export function inputGateIndex(gates: Readonly<Record<ModuleId, ModuleGate>>): Map<string, ModuleId[]> {
  const index = new Map<string, ModuleId[]>()
  for (const id of MODULE_IDS)
    for (const input of gates[id].inputs ?? []) index.set(input, [...(index.get(input) ?? []), id])
  return index
}

const DEFAULT_INPUT_INDEX = inputGateIndex(MODULE_GATES)

interface InputFieldsOf {
  getFields?: () => Record<string, { type: unknown }>
}

/** An argument of input-object type in a document: its declared type and the value the document gives. */
export interface InputSite {
  typeName: string
  value: ValueNode
}

const named = (type: unknown) => String(type).replace(/[[\]!]/g, '')

/**
 * The modules whose gated input fields the operation gives a value at these argument sites (collected by
 * touchedModules once per document): literal objects of the document and the values of its variables,
 * through nested input objects and lists. Cheap per request: only the sites are read.
 */
export function touchedInputs(
  schema: GraphQLSchema,
  sites: readonly InputSite[],
  variables: Record<string, unknown> | undefined,
  index: Map<string, ModuleId[]> = DEFAULT_INPUT_INDEX,
): Set<ModuleId> {
  const touched = new Set<ModuleId>()
  if (index.size === 0 || sites.length === 0) return touched
  const fieldsOf = (typeName: string) =>
    (schema.getType(typeName) as InputFieldsOf | undefined)?.getFields?.()
  const mark = (typeName: string, field: string) => {
    for (const id of index.get(`${typeName}.${field}`) ?? []) touched.add(id)
  }
  /** A runtime value (from variables) given to an input of `typeName`. */
  const visitValue = (typeName: string, value: unknown, depth: number): void => {
    if (depth > 32 || value === null || typeof value !== 'object') return
    if (Array.isArray(value)) {
      for (const item of value) visitValue(typeName, item, depth + 1)
      return
    }
    const fields = fieldsOf(typeName)
    if (!fields) return
    for (const [name, inner] of Object.entries(value as Record<string, unknown>)) {
      if (inner === undefined || !fields[name]) continue
      mark(typeName, name)
      visitValue(named(fields[name].type), inner, depth + 1)
    }
  }
  /** A value node of the document given to an input of `typeName`. */
  const visitNode = (typeName: string, node: ValueNode, depth: number): void => {
    if (depth > 32) return
    if (node.kind === Kind.VARIABLE) {
      visitValue(typeName, variables?.[node.name.value], depth)
    } else if (node.kind === Kind.LIST) {
      for (const item of node.values) visitNode(typeName, item, depth + 1)
    } else if (node.kind === Kind.OBJECT) {
      const fields = fieldsOf(typeName)
      if (!fields) return
      for (const field of node.fields) {
        const name = field.name.value
        if (!fields[name] || field.value.kind === Kind.NULL) continue
        mark(typeName, name)
        visitNode(named(fields[name].type), field.value, depth + 1)
      }
    }
  }
  for (const site of sites) visitNode(site.typeName, site.value, 0)
  return touched
}

interface FieldsOf {
  getFields?: () => Record<string, { type: unknown; args?: readonly { name: string; type: unknown }[] }>
}

/**
 * The modules an operation touches: every field (Parent.field, its parent type and its return type) and
 * every fragment's type condition, fragments expanded once. Type names from the schema's plain accessors,
 * not instanceof helpers (TypeInfo): Apollo's graphql copy may differ from ours (see limits.ts).
 */
export function touchedModules(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  index: Map<string, ModuleId[]> = DEFAULT_INDEX,
  /** Filled, when given, with the arguments of input-object type (for touchedInputs). */
  sites?: InputSite[],
): Set<ModuleId> {
  const touched = new Set<ModuleId>()
  const mark = (coordinate: string) => {
    for (const id of index.get(coordinate) ?? []) touched.add(id)
  }
  const fragments = new Map<string, FragmentDefinitionNode>()
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition)
  const seen = new Set<string>()

  const walk = (set: SelectionSetNode, parent: string) => {
    const type = schema.getType(parent) as FieldsOf | undefined
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value
        if (name.startsWith('__')) continue
        mark(parent)
        mark(`${parent}.${name}`)
        const field = type?.getFields?.()[name]
        if (!field) continue
        if (sites) {
          for (const argument of selection.arguments ?? []) {
            const declared = field.args?.find((a) => a.name === argument.name.value)
            const typeName = declared ? named(declared.type) : ''
            // Input objects have fields and no interfaces (plain accessors: see above).
            const target = schema.getType(typeName) as (FieldsOf & { getInterfaces?: unknown }) | undefined
            if (target?.getFields && !target.getInterfaces) sites.push({ typeName, value: argument.value })
          }
        }
        const returned = named(field.type)
        mark(returned)
        if (selection.selectionSet) walk(selection.selectionSet, returned)
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition?.name.value ?? parent
        mark(condition)
        walk(selection.selectionSet, condition)
      } else {
        const name = selection.name.value
        const definition = fragments.get(name)
        if (!definition || seen.has(name)) continue
        seen.add(name)
        mark(definition.typeCondition.name.value)
        walk(definition.selectionSet, definition.typeCondition.name.value)
      }
    }
  }
  const root = schema.getRootType(operation.operation)
  if (root) walk(operation.selectionSet, root.name)
  return touched
}

export interface ModuleStatus {
  id: string
  enabled: boolean
}

/** How long the gateway reuses core's answer: a switch applies within this. */
export const MODULE_STATE_TTL_MS = 5_000

export interface ModuleStatesOptions {
  /** The core subgraph's /graphql URL. */
  coreUrl: string
  signingSecret: string
  logger: Logger
  ttlMs?: number
  timeoutMs?: number
  fetch?: typeof fetch
}

/**
 * The disabled modules as core last said, refreshed when older than ttlMs (≤ 5 s); one question to core at a
 * time. Only the first question is waited for: after it, a refresh runs behind the state already known, so no
 * request waits on core (a request used to every ttlMs, up to the 2 s timeout while core hung).
 * Core unreachable (or without its `modules` query yet): the last known state stays, and with none known
 * every module counts as enabled, the documented default (docs/requirements.md#modules); the gate is a
 * feature switch, not an access control.
 */
export class ModuleStates {
  private readonly options: ModuleStatesOptions
  private readonly ttlMs: number
  private disabledIds = new Set<string>()
  private fetchedAt = Number.NEGATIVE_INFINITY
  private pending: Promise<void> | undefined
  /** Logs the failures once a minute (the period between questions is ttlMs, failed or not). */
  private readonly outage: CoreOutage

  constructor(options: ModuleStatesOptions) {
    this.options = options
    this.ttlMs = Math.min(options.ttlMs ?? MODULE_STATE_TTL_MS, MODULE_STATE_TTL_MS)
    this.outage = new CoreOutage(
      options.logger,
      'module states unavailable from core; keeping the last known',
    )
  }

  async disabled(): Promise<ReadonlySet<string>> {
    if (Date.now() - this.fetchedAt >= this.ttlMs) {
      this.pending ??= this.refresh().finally(() => {
        this.pending = undefined
      })
      // Until a first question has ended (answered or failed) nothing is known: only that one is waited for.
      if (this.fetchedAt === Number.NEGATIVE_INFINITY) await this.pending
    }
    return this.disabledIds
  }

  private async refresh() {
    try {
      const answer = await queryCore<{ modules?: ModuleStatus[] }>(
        this.options,
        '{ modules { id enabled } }',
        undefined,
        2_000,
      )
      const modules = answer.data?.modules
      if (!Array.isArray(modules)) {
        throw new Error(`core answered ${answer.status}: ${answer.errors?.[0]?.message ?? 'no modules'}`)
      }
      this.disabledIds = new Set(modules.filter((m) => m.enabled === false).map((m) => m.id))
    } catch (error) {
      this.outage.failed(error)
    } finally {
      // Failures wait a period too: a core that is down is not asked on every request.
      this.fetchedAt = Date.now()
    }
  }
}

export function moduleDisabledError(id: string): GraphQLError {
  return new GraphQLError(
    `The ${id} module is disabled: this operation uses its part of the graph (an administrator can enable it with setAppSetting key "module.${id}")`,
    { extensions: { code: ErrorCode.MODULE_DISABLED, module: id, http: { status: 403 } } },
  )
}

/** Refuses an operation touching a disabled module before planning; asks core only when one is touched. */
export function modulesGatePlugin<C extends BaseContext>(states: ModuleStates): ApolloServerPlugin<C> {
  // Operations repeat: what a document touches is computed once per document and operation name.
  const memo = new Map<string, { touched: Set<ModuleId>; sites: InputSite[] }>()
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, queryHash, operationName, request }) {
          if (!operation) return
          const key = `${queryHash}:${operationName ?? ''}`
          let found = memo.get(key)
          if (!found) {
            const sites: InputSite[] = []
            found = { touched: touchedModules(schema, document, operation, DEFAULT_INDEX, sites), sites }
            if (memo.size >= 1_000) memo.delete(memo.keys().next().value!)
            memo.set(key, found)
          }
          const { touched } = found
          // Gated input fields depend on the variables too: the document's input-object arguments, read again
          // for each request's variables.
          const inputs = touchedInputs(schema, found.sites, request.variables)
          if (touched.size === 0 && inputs.size === 0) return
          const disabled = await states.disabled()
          for (const id of [...touched, ...inputs]) if (disabled.has(id)) throw moduleDisabledError(id)
        },
      }
    },
  }
}
