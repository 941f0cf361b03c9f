import { scalarResolvers } from '@pm/service-kit'
import { type GraphQLSchema, isScalarType } from 'graphql'

/**
 * The supergraph declares the subgraphs' custom scalars (UUID, DateTime, Decimal, …) without their rules, so
 * the gateway would pass any value on and let a subgraph refuse it inside a 200 answer. Giving the gateway's
 * schema the same input parsers the subgraphs use makes a malformed literal a validation error and a
 * malformed variable a request error (400, no `data`), as for GraphQL's own scalars. Output values are
 * left as the subgraphs serialised them.
 */
export function installScalarParsers(schema: GraphQLSchema): void {
  for (const [name, implementation] of Object.entries(scalarResolvers)) {
    const type = schema.getType(name)
    if (!isScalarType(type)) continue
    type.parseValue = implementation.parseValue.bind(implementation)
    type.parseLiteral = implementation.parseLiteral.bind(implementation)
  }
}
