import { GraphQLError, GraphQLScalarType, Kind } from 'graphql'
import {
  DateTimeResolver,
  EmailAddressResolver,
  JSONObjectResolver,
  JSONResolver,
  LocalDateResolver,
  NonNegativeIntResolver,
  SafeIntResolver,
  UUIDResolver,
} from 'graphql-scalars'

const DECIMAL = /^-?\d{1,30}(\.\d{1,30})?$/

function parseDecimal(value: unknown): string {
  // Numbers are refused on purpose: 0.1 + 0.2 must never reach a price column.
  if (typeof value !== 'string' || !DECIMAL.test(value.trim())) {
    throw new GraphQLError('Decimal values are strings of digits with an optional fraction, e.g. "19.90"', {
      extensions: { code: 'BAD_USER_INPUT' },
    })
  }
  return value.trim()
}

/** NUMERIC columns as exact decimal strings; PostgreSQL returns them as text and they stay text. */
export const DecimalResolver = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  description:
    'An exact decimal number as a string, e.g. "19.90" (money and NUMERIC columns; never a float).',
  serialize(value) {
    if (typeof value === 'string' && DECIMAL.test(value)) return value
    throw new GraphQLError(`Decimal cannot represent ${typeof value} value`)
  },
  parseValue: parseDecimal,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) return parseDecimal(undefined)
    return parseDecimal(ast.value)
  },
})

/** Resolvers for the scalars every subgraph schema declares (see SCALARS_SDL). */
export const scalarResolvers = {
  UUID: UUIDResolver,
  DateTime: DateTimeResolver,
  LocalDate: LocalDateResolver,
  JSON: JSONResolver,
  JSONObject: JSONObjectResolver,
  EmailAddress: EmailAddressResolver,
  NonNegativeInt: NonNegativeIntResolver,
  SafeInt: SafeIntResolver,
  Decimal: DecimalResolver,
}

/**
 * Appended to every subgraph's schema.graphql so the shared scalars, connection types and authorization
 * directives are declared one way (each schema's @link must import @shareable).
 */
export const COMMON_SDL = /* GraphQL */ `
"""Anonymous callers may use this field (sign-in, module status); see authorization.ts."""
directive @public on FIELD_DEFINITION
"""
Any signed-in caller. The default of Query fields; on a Mutation it marks a self-service operation that only
touches the caller's own data (e.g. logoutEverywhere), so no permission applies.
"""
directive @authenticated on FIELD_DEFINITION
"""
The caller needs this permission ("resource:action", see authorization.ts for the vocabulary); repeated,
all of them. With self, a signed-in user also passes when the named argument (or else the parent's field)
holds their own user id.
"""
directive @requires(permission: String!, self: String) repeatable on FIELD_DEFINITION
"""
Bounds a text input (see inputs.ts): at most maxLength characters (default 255; connection cursors 4096).
allowControls keeps control and bidirectional formatting characters in raw data quoted as received (a
supplier file's cell); NUL is refused everywhere.
"""
directive @text(maxLength: Int, allowControls: Boolean) on ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION
"""
A list of independent rows: a row whose text breaks the input rules fails alone, reported by the resolver
with the other per-row failures, and the other rows are written.
"""
directive @rows on ARGUMENT_DEFINITION

"""Relay page information for keyset (cursor) pagination."""
type PageInfo @shareable {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

enum SortDirection {
  ASC
  DESC
}

scalar UUID
"""An instant in ISO 8601, UTC, e.g. 2026-11-23T10:15:00.000Z"""
scalar DateTime
"""A calendar date, YYYY-MM-DD"""
scalar LocalDate
scalar JSON
scalar JSONObject
scalar EmailAddress
scalar NonNegativeInt
scalar SafeInt
"""An exact decimal number as a string, e.g. "19.90" (money and NUMERIC columns; never a float)"""
scalar Decimal
`
