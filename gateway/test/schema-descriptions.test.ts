import { DOMAINS, type Domain } from '@pm/db'
import { readSubgraphSdl } from '@pm/service-kit'
import {
  type ASTNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type InputValueDefinitionNode,
  Kind,
  parse,
  type StringValueNode,
} from 'graphql'
import { describe, expect, it } from 'vitest'
import { subgraphSchemaFile } from '../src/compose'

type Described = { description?: StringValueNode }
const described = (node: Described) => (node.description?.value.trim() ?? '') !== ''

/**
 * Schema coordinates (Type, Type.field, Type.field(arg:), Enum.VALUE) of the subgraph's schema, shared
 * declarations included, each with whether it carries a description. Directive definitions are left out
 * (federation's come from @link; the shared ones are described where they are declared).
 */
function coordinates(typeDefs: DocumentNode): Map<string, boolean> {
  const found = new Map<string, boolean>()
  const add = (coordinate: string, node: Described) =>
    found.set(coordinate, (found.get(coordinate) ?? false) || described(node))
  const addArguments = (owner: string, args: readonly InputValueDefinitionNode[] | undefined) => {
    for (const arg of args ?? []) add(`${owner}(${arg.name.value}:)`, arg)
  }
  for (const definition of typeDefs.definitions as readonly ASTNode[]) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_EXTENSION: {
        const type = definition.name.value
        // An extension cannot carry a description: the type's own definition (or the root type) does.
        if (
          definition.kind === Kind.OBJECT_TYPE_DEFINITION ||
          definition.kind === Kind.INTERFACE_TYPE_DEFINITION
        )
          add(type, definition)
        for (const field of (definition.fields ?? []) as readonly FieldDefinitionNode[]) {
          add(`${type}.${field.name.value}`, field)
          addArguments(`${type}.${field.name.value}`, field.arguments)
        }
        break
      }
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
      case Kind.INPUT_OBJECT_TYPE_EXTENSION: {
        if (definition.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) add(definition.name.value, definition)
        for (const field of definition.fields ?? [])
          add(`${definition.name.value}.${field.name.value}`, field)
        break
      }
      case Kind.ENUM_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_EXTENSION: {
        if (definition.kind === Kind.ENUM_TYPE_DEFINITION) add(definition.name.value, definition)
        for (const value of definition.values ?? [])
          add(`${definition.name.value}.${value.name.value}`, value)
        break
      }
      case Kind.UNION_TYPE_DEFINITION:
      case Kind.SCALAR_TYPE_DEFINITION:
        add(definition.name.value, definition)
        break
    }
  }
  return found
}

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription'])

const bySubgraph = new Map(
  DOMAINS.map((domain) => [domain, coordinates(parse(readSubgraphSdl(subgraphSchemaFile(domain))))]),
)

/**
 * What a subgraph leaves undescribed. A type or field that several subgraphs declare (an entity another
 * subgraph owns, a key field) may be described in one of them only: composition keeps that description, and
 * the others stay silent so that they cannot disagree with it. The root types are described by their fields.
 */
function undescribed(domain: Domain): string[] {
  const missing: string[] = []
  for (const [coordinate, has] of bySubgraph.get(domain)!) {
    if (has || ROOT_TYPES.has(coordinate)) continue
    const elsewhere = DOMAINS.some(
      (other) => other !== domain && bySubgraph.get(other)!.get(coordinate) === true,
    )
    if (!elsewhere) missing.push(coordinate)
  }
  return missing
}

describe('schema descriptions', () => {
  it.each(DOMAINS)('%s describes every type, field, argument, input field and enum value', (domain) => {
    expect(undescribed(domain)).toEqual([])
  })

  it('finds an undescribed field, argument and enum value', () => {
    const found = coordinates(
      parse(`
        "A thing." type Thing { "Its id." id: ID!  name(first: Int): String }
        "Kinds." enum Kind { "One." ONE TWO }
        extend type Query { "Things." things("How many." first: Int, after: String): [Thing!]! }
      `),
    )
    expect([...found].filter(([, has]) => !has).map(([c]) => c)).toEqual([
      'Thing.name',
      'Thing.name(first:)',
      'Kind.TWO',
      'Query.things(after:)',
    ])
  })
})
