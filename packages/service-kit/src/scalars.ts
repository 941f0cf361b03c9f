import { GraphQLError, GraphQLScalarType, Kind } from 'graphql'
import {
  DateTimeResolver,
  JSONObjectResolver,
  JSONResolver,
  LocalDateResolver,
  SafeIntResolver,
} from 'graphql-scalars'
import { isEmailAddress } from './validation'

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

const UUID_FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function parseUuid(value: unknown): string {
  if (typeof value !== 'string' || !UUID_FORMAT.test(value)) {
    throw new GraphQLError(
      'UUID values are strings of 32 hexadecimal digits in the 8-4-4-4-12 form, e.g. "3f2b8c1e-9a4d-4c7e-8f1a-2b3c4d5e6f70"',
      { extensions: { code: 'BAD_USER_INPUT' } },
    )
  }
  return value.toLowerCase()
}

/**
 * UUIDs, normalised once here: an id written in upper case means the same row as in lower case, so every
 * argument and input field reaches the resolvers in lower case (the form PostgreSQL prints).
 */
export const UuidResolver = new GraphQLScalarType<string, string>({
  name: 'UUID',
  description:
    'A UUID (RFC 9562) in the 8-4-4-4-12 hexadecimal form; accepted in any case, answered in lower case.',
  specifiedByURL: 'https://www.rfc-editor.org/rfc/rfc9562',
  serialize(value) {
    if (typeof value === 'string' && UUID_FORMAT.test(value)) return value.toLowerCase()
    throw new GraphQLError(`UUID cannot represent ${typeof value} value`)
  },
  parseValue: parseUuid,
  parseLiteral(ast) {
    return parseUuid(ast.kind === Kind.STRING ? ast.value : undefined)
  },
})

function parseEmail(value: unknown): string {
  if (typeof value !== 'string' || !isEmailAddress(value)) {
    throw new GraphQLError('EmailAddress values are e-mail addresses such as "jane.doe@example.com"', {
      extensions: { code: 'BAD_USER_INPUT' },
    })
  }
  return value
}

/** E-mail addresses by the services' one rule (isEmailAddress): the scalar refuses what checkEmail would. */
export const EmailAddressResolver = new GraphQLScalarType<string, string>({
  name: 'EmailAddress',
  description: 'An e-mail address (the addr-spec of RFC 5322), e.g. buyer@example.com',
  specifiedByURL: 'https://www.rfc-editor.org/rfc/rfc5322#section-3.4.1',
  // Stored addresses are answered as they are: the rule applies to what callers send.
  serialize(value) {
    if (typeof value === 'string') return value
    throw new GraphQLError(`EmailAddress cannot represent ${typeof value} value`)
  },
  parseValue: parseEmail,
  parseLiteral(ast) {
    return parseEmail(ast.kind === Kind.STRING ? ast.value : undefined)
  },
})

/** Resolvers for the scalars every subgraph schema declares (see SCALARS_SDL). */
export const scalarResolvers = {
  UUID: UuidResolver,
  DateTime: DateTimeResolver,
  LocalDate: LocalDateResolver,
  JSON: JSONResolver,
  JSONObject: JSONObjectResolver,
  EmailAddress: EmailAddressResolver,
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
directive @requiresPermission(permission: String!, self: String) repeatable on FIELD_DEFINITION
"""
The module (packages/service-kit/src/modules.ts) this part of the graph belongs to: while an administrator has
switched the module off, the gateway refuses, before any subgraph is asked, an operation that touches it (403
MODULE_DISABLED). On a type: any field of it, any field returning it, any fragment on it; on a field: the field;
on an input field: an operation giving it a value. pnpm compose collects them for the gateway.
"""
directive @module(id: String!) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | FIELD_DEFINITION | INPUT_FIELD_DEFINITION
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
"""
On a Query field's argument (or an input field of one): given a value, the field's answer holds only entities
that the named entity with this id owns (say, products of one supplier), and each write that changes one of
them and tells the gateway what it changed names that owner (see changes.ts). The gateway then keeps the answer
until its owner changes, instead of until anything in the subgraph does. pnpm compose collects them.
"""
directive @cacheScope(entity: String!) on ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION

"""Relay page information for keyset (cursor) pagination."""
type PageInfo @shareable {
  "Whether more items follow this page: pass endCursor as after to read them."
  hasNextPage: Boolean!
  "Whether this page was read with an after cursor (items come before it); backward paging is not offered."
  hasPreviousPage: Boolean!
  "The cursor of the page's first item; null when the page is empty."
  startCursor: String
  "The cursor of the page's last item, to pass as after for the next page; null when the page is empty."
  endCursor: String
}

"""The direction of a list order."""
enum SortDirection {
  "Smallest (oldest, A to Z) first; nulls last."
  ASC
  "Largest (newest, Z to A) first; nulls first."
  DESC
}

"""
A UUID (RFC 9562) in the 8-4-4-4-12 hexadecimal form, e.g. "3f2b8c1e-9a4d-4c7e-8f1a-2b3c4d5e6f70"; accepted in
any case, always answered in lower case.
"""
scalar UUID @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc9562")
"""An instant (RFC 3339 date-time), answered in UTC with milliseconds, e.g. 2026-11-23T10:15:00.000Z"""
scalar DateTime @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc3339#section-5.6")
"""A calendar date (RFC 3339 full-date), YYYY-MM-DD, e.g. 2026-11-23"""
scalar LocalDate @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc3339#section-5.6")
"""Any JSON value (RFC 8259): object, array, string, number, boolean or null"""
scalar JSON @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc8259")
"""A JSON object (RFC 8259): keys to any JSON values"""
scalar JSONObject @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc8259#section-4")
"""An e-mail address (the addr-spec of RFC 5322), e.g. buyer@example.com"""
scalar EmailAddress @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc5322#section-3.4.1")
"""An integer from -(2^53 - 1) to 2^53 - 1: counts and sizes beyond Int's 32 bits, exact in JavaScript"""
scalar SafeInt @specifiedBy(url: "https://tc39.es/ecma262/#sec-number.max_safe_integer")
"""An exact decimal number as a string, e.g. "19.90" (money and NUMERIC columns; never a float)"""
scalar Decimal @specifiedBy(url: "https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-NUMERIC-DECIMAL")
`
