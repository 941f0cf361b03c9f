import type { GraphQLError } from 'graphql'
import type { Kysely, Transaction } from 'kysely'
import { badUserInput, ErrorCode, notFound, userError } from './errors'

interface PgError {
  code?: string
  constraint?: string
  column?: string
  detail?: string
}

/** `uq_x_email` / `products_sku_key` → a field name callers recognise. */
function fieldOfConstraint(constraint: string | undefined, detail: string | undefined): string | undefined {
  const fromDetail = detail && /^Key \(([^)]+)\)=/.exec(detail)?.[1]
  if (fromDetail) return fromDetail.split(',')[0]!.trim()
  return constraint
}

/**
 * The safety net under input validation: PostgreSQL errors a caller can act on become GraphQL errors
 * with a stable code (CONFLICT for unique keys, NOT_FOUND for a missing referenced row, BAD_USER_INPUT
 * for checks and sizes) and never carry SQL. Anything else stays an internal error (masked).
 */
export function translateDbError(error: unknown): GraphQLError | undefined {
  const e = error as PgError
  switch (e?.code) {
    case '23505': {
      const field = fieldOfConstraint(e.constraint, e.detail)
      return userError(ErrorCode.CONFLICT, `${field ?? 'a unique value'} is already used by another record`, {
        ...(field ? { field } : {}),
      })
    }
    case '23503': {
      const field = fieldOfConstraint(e.constraint, e.detail)
      return /is still referenced/.test(e.detail ?? '')
        ? userError(ErrorCode.CONFLICT, 'this record is still referenced by others; remove those first', {
            ...(field ? { field } : {}),
          })
        : notFound(`${field ?? 'a referenced record'} does not exist`, { ...(field ? { field } : {}) })
    }
    case '23502':
      return badUserInput(`${e.column ?? 'a required field'} is required`, {
        ...(e.column ? { field: e.column } : {}),
      })
    case '23514':
      return badUserInput(`a value is outside what is allowed (${e.constraint ?? 'check'})`)
    case '22001':
      return badUserInput('a value is longer than its field allows')
    case '22003':
      return badUserInput('a number is out of range for its field')
    default:
      return undefined
  }
}

export interface MutationScope<DB> {
  db: Kysely<DB>
  auditRelay?: { nudge(): void }
}

/**
 * Runs a mutation in one transaction: all of it is written or nothing is. Known PostgreSQL errors
 * come back as coded GraphQL errors; after the commit the audit relay is told there is work.
 */
export async function inTransaction<DB, T>(
  scope: MutationScope<DB>,
  work: (trx: Transaction<DB>) => Promise<T>,
) {
  let result: T
  try {
    result = await scope.db.transaction().execute(work)
  } catch (error) {
    throw translateDbError(error) ?? error
  }
  scope.auditRelay?.nudge()
  return result
}
