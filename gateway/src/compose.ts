import { existsSync, readFileSync } from 'node:fs'
import { composeServices } from '@apollo/composition'
import { DOMAINS, type Domain } from '@pm/db'
import { DEFAULT_PORTS, MODULE_IDS, readSubgraphSdl } from '@pm/service-kit'
import { type DefinitionNode, type DirectiveNode, GraphQLError, Kind, parse, type TypeNode } from 'graphql'
import { SUPERGRAPH_FILE } from './supergraph-file'

export { SUPERGRAPH_FILE }

export const SUPERGRAPH_HEADER = [
  '# GENERATED FILE, do not edit: run `pnpm compose` (gateway/scripts/compose.ts) after changing any',
  '# subgraphs/<domain>/src/schema.graphql. The URLs below are the local defaults; the gateway replaces',
  '# them with SUBGRAPH_<DOMAIN>_URL at start-up.',
].join('\n')

/** The generated module map the gateway's modules gate reads (see collectModuleGates). */
export const MODULE_GATES_FILE = new URL('./generated/module-gates.ts', import.meta.url)

/** The generated cache scopes the gateway's fetch cache reads (see collectCacheScopes). */
export const CACHE_SCOPES_FILE = new URL('./generated/cache-scopes.ts', import.meta.url)

export function subgraphSchemaFile(domain: Domain): URL {
  return new URL(`../../subgraphs/${domain}/src/schema.graphql`, import.meta.url)
}

/** The URL written into the supergraph: deterministic, whatever the environment says. */
export function defaultSubgraphUrl(domain: Domain): string {
  return `http://127.0.0.1:${DEFAULT_PORTS[domain]}/graphql`
}

export type SupergraphComposition =
  | { ok: true; supergraphSdl: string; hints: string[]; domains: Domain[] }
  | { ok: false; errors: string[]; domains: Domain[] }

function describeError(error: GraphQLError | Error): string {
  const code = error instanceof GraphQLError ? error.extensions?.code : undefined
  return typeof code === 'string' ? `[${code}] ${error.message}` : error.message
}

/** Composes the subgraphs' schema.graphql files (all seven by default) into a supergraph. */
export function composeSupergraph(domains: readonly Domain[] = DOMAINS): SupergraphComposition {
  const errors: string[] = []
  const services = []
  for (const domain of domains) {
    const file = subgraphSchemaFile(domain)
    if (!existsSync(file)) {
      errors.push(`${domain}: ${file.pathname} does not exist`)
      continue
    }
    try {
      services.push({ name: domain, url: defaultSubgraphUrl(domain), typeDefs: parse(readSubgraphSdl(file)) })
    } catch (error) {
      errors.push(`${domain}: schema.graphql does not parse: ${describeError(error as Error)}`)
    }
  }
  if (errors.length > 0) return { ok: false, errors, domains: [...domains] }
  const result = composeServices(services)
  if (result.errors) return { ok: false, errors: result.errors.map(describeError), domains: [...domains] }
  return {
    ok: true,
    supergraphSdl: result.supergraphSdl,
    hints: result.hints.map((hint) => `[${hint.definition.code}] ${hint.message}`),
    domains: [...domains],
  }
}

/** What `pnpm compose` writes to gateway/supergraph.graphql. */
export function supergraphFileContents(supergraphSdl: string): string {
  return `${SUPERGRAPH_HEADER}\n\n${supergraphSdl.trimEnd()}\n`
}

/** The checked-in supergraph's SDL (header comment included: it is valid GraphQL). */
export function readSupergraphFile(file: URL = SUPERGRAPH_FILE): string {
  return readFileSync(file, 'utf8')
}

/** What one module gates: type names, `Type.field` coordinates, `InputType.field` coordinates, sorted. */
export interface ModuleCoordinates {
  types: string[]
  fields: string[]
  inputs: string[]
}

export type ModuleGatesCollection =
  | { ok: true; gates: Record<string, ModuleCoordinates> }
  | { ok: false; errors: string[] }

const TYPE_KINDS: ReadonlySet<string> = new Set([
  Kind.OBJECT_TYPE_DEFINITION,
  Kind.OBJECT_TYPE_EXTENSION,
  Kind.INTERFACE_TYPE_DEFINITION,
  Kind.INTERFACE_TYPE_EXTENSION,
  Kind.UNION_TYPE_DEFINITION,
  Kind.UNION_TYPE_EXTENSION,
  Kind.ENUM_TYPE_DEFINITION,
  Kind.ENUM_TYPE_EXTENSION,
  Kind.INPUT_OBJECT_TYPE_DEFINITION,
  Kind.INPUT_OBJECT_TYPE_EXTENSION,
])

/**
 * The modules gate as the subgraph schemas declare it: every `@module(id:)` on a type, a field or an input
 * field of subgraphs/<domain>/src/schema.graphql, by module id. Read at compose time rather than carried in
 * the supergraph: the gateway's gate then needs no custom directive surviving composition and the API schema,
 * and the public schema stays free of it. An id that is not a module of MODULE_IDS is an error.
 */
export function collectModuleGates(domains: readonly Domain[] = DOMAINS): ModuleGatesCollection {
  return moduleGatesOf(domains.map((domain) => [domain, readFileSync(subgraphSchemaFile(domain), 'utf8')]))
}

/** collectModuleGates over given schema texts: [subgraph name, schema.graphql]. */
export function moduleGatesOf(schemas: readonly (readonly [string, string])[]): ModuleGatesCollection {
  const errors: string[] = []
  const sets = new Map<string, { types: Set<string>; fields: Set<string>; inputs: Set<string> }>()
  const known: ReadonlySet<string> = new Set(MODULE_IDS)
  const read = (
    domain: string,
    coordinate: string,
    directives: readonly DirectiveNode[] | undefined,
    kind: 'types' | 'fields' | 'inputs',
  ) => {
    for (const directive of directives ?? []) {
      if (directive.name.value !== 'module') continue
      const id = directive.arguments?.find((a) => a.name.value === 'id')?.value
      if (id?.kind !== Kind.STRING || !known.has(id.value)) {
        errors.push(
          `${domain}: ${coordinate} @module(id:) must name a module of MODULE_IDS (${MODULE_IDS.join(', ')})`,
        )
        continue
      }
      if (!sets.has(id.value)) sets.set(id.value, { types: new Set(), fields: new Set(), inputs: new Set() })
      sets.get(id.value)![kind].add(coordinate)
    }
  }
  for (const [domain, sdl] of schemas) {
    let definitions: readonly DefinitionNode[]
    try {
      definitions = parse(sdl).definitions
    } catch (error) {
      errors.push(`${domain}: schema.graphql does not parse: ${describeError(error as Error)}`)
      continue
    }
    for (const definition of definitions) {
      if (!TYPE_KINDS.has(definition.kind) || !('name' in definition) || !definition.name) continue
      const type = definition.name.value
      read(domain, type, 'directives' in definition ? definition.directives : undefined, 'types')
      const isInput =
        definition.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION ||
        definition.kind === Kind.INPUT_OBJECT_TYPE_EXTENSION
      if (!('fields' in definition)) continue
      for (const field of definition.fields ?? [])
        read(domain, `${type}.${field.name.value}`, field.directives, isInput ? 'inputs' : 'fields')
    }
  }
  if (errors.length > 0) return { ok: false, errors }
  const gates: Record<string, ModuleCoordinates> = {}
  for (const id of MODULE_IDS) {
    const found = sets.get(id)
    if (!found) continue
    gates[id] = {
      types: [...found.types].sort(),
      fields: [...found.fields].sort(),
      inputs: [...found.inputs].sort(),
    }
  }
  return { ok: true, gates }
}

/** Where a root field's owner id is: an argument, or a field of an input object argument, and the owner's type. */
export interface CacheScope {
  path: string[]
  entity: string
}

/** Per subgraph, per Query field: the @cacheScope arguments (see COMMON_SDL), in schema order. */
export type CacheScopes = Record<string, Record<string, CacheScope[]>>

const namedTypeOf = (type: TypeNode): string =>
  type.kind === Kind.NAMED_TYPE ? type.name.value : namedTypeOf(type.type)

function cacheScopeEntity(directives: readonly DirectiveNode[] | undefined): string | undefined {
  const directive = directives?.find((d) => d.name.value === 'cacheScope')
  const entity = directive?.arguments?.find((a) => a.name.value === 'entity')?.value
  return entity?.kind === Kind.STRING ? entity.value : undefined
}

/**
 * The @cacheScope directives of subgraphs/<domain>/src/schema.graphql, by the Query fields they scope: an
 * argument carrying one, or an input object argument whose field carries one (one level deep).
 */
export function cacheScopesOf(schemas: readonly (readonly [string, string])[]): CacheScopes {
  const scopes: CacheScopes = {}
  for (const [domain, sdl] of schemas) {
    const definitions = parse(sdl).definitions
    const inputs = new Map<string, CacheScope[]>()
    for (const d of definitions) {
      if (d.kind !== Kind.INPUT_OBJECT_TYPE_DEFINITION && d.kind !== Kind.INPUT_OBJECT_TYPE_EXTENSION)
        continue
      for (const field of d.fields ?? []) {
        const entity = cacheScopeEntity(field.directives)
        if (!entity) continue
        inputs.set(d.name.value, [...(inputs.get(d.name.value) ?? []), { path: [field.name.value], entity }])
      }
    }
    for (const d of definitions) {
      if (d.kind !== Kind.OBJECT_TYPE_DEFINITION && d.kind !== Kind.OBJECT_TYPE_EXTENSION) continue
      if (d.name.value !== 'Query') continue
      for (const field of d.fields ?? []) {
        const found: CacheScope[] = []
        for (const argument of field.arguments ?? []) {
          const entity = cacheScopeEntity(argument.directives)
          if (entity) found.push({ path: [argument.name.value], entity })
          for (const inner of inputs.get(namedTypeOf(argument.type)) ?? [])
            found.push({ path: [argument.name.value, ...inner.path], entity: inner.entity })
        }
        if (found.length === 0) continue
        scopes[domain] ??= {}
        scopes[domain][field.name.value] = found
      }
    }
  }
  return scopes
}

/** cacheScopesOf the checked-in subgraph schemas (all seven by default). */
export function collectCacheScopes(domains: readonly Domain[] = DOMAINS): CacheScopes {
  return cacheScopesOf(domains.map((domain) => [domain, readFileSync(subgraphSchemaFile(domain), 'utf8')]))
}

/** What `pnpm compose` writes to gateway/src/generated/cache-scopes.ts. */
export function cacheScopesFileContents(scopes: CacheScopes): string {
  return [
    '// GENERATED FILE, do not edit: `pnpm compose` (gateway/scripts/compose.ts) writes it from the @cacheScope',
    '// directives of subgraphs/<domain>/src/schema.graphql; a test fails when it is out of date.',
    '',
    "/** Subgraph → Query field → where an owner id is among its arguments, and the owner's entity type. */",
    'export const SCHEMA_CACHE_SCOPES: Readonly<',
    '  Record<string, Record<string, readonly { path: readonly string[]; entity: string }[]>>',
    `> = ${JSON.stringify(scopes, null, 2)}`,
    '',
  ].join('\n')
}

/** What `pnpm compose` writes to gateway/src/generated/module-gates.ts. */
export function moduleGatesFileContents(gates: Record<string, ModuleCoordinates>): string {
  return [
    '// GENERATED FILE, do not edit: `pnpm compose` (gateway/scripts/compose.ts) writes it from the @module',
    '// directives of subgraphs/<domain>/src/schema.graphql; a test fails when it is out of date.',
    '',
    '/** Module id → the types, fields and input fields of the schema it gates (modules without any are left out). */',
    'export const SCHEMA_MODULE_GATES: Readonly<',
    '  Record<string, { types: readonly string[]; fields: readonly string[]; inputs: readonly string[] }>',
    `> = ${JSON.stringify(gates, null, 2)}`,
    '',
  ].join('\n')
}
