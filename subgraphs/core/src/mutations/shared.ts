import { badUserInput, ErrorCode, userError } from '@pm/service-kit'
import { GraphQLError } from 'graphql'

export const conflict = (field: string, message: string) =>
  userError(ErrorCode.CONFLICT, `${field}: ${message}`, { field })

/** A flag in an update: omitted leaves it, true/false sets it, null is refused (it cannot be cleared). */
export function checkFlag(field: string, value: boolean | null | undefined): boolean | undefined {
  if (value === null) throw badUserInput(`${field} must be true or false (it cannot be cleared)`, { field })
  return value
}

/** Refuses an explicit null for a field whose column is NOT NULL. */
export function notNull<T>(field: string, value: T | null | undefined): T | undefined {
  if (value === null) throw badUserInput(`${field} cannot be null`, { field })
  return value
}

/**
 * The kit's safety net names the column of a unique violation (a concurrent insert that passed the
 * check); callers should see the input field they sent instead.
 */
export async function withInputFields<T>(work: Promise<T>, fields: Record<string, string>): Promise<T> {
  try {
    return await work
  } catch (error) {
    const column = error instanceof GraphQLError ? error.extensions.field : undefined
    const field = typeof column === 'string' ? fields[column] : undefined
    if (!field || !(error instanceof GraphQLError)) throw error
    throw userError(error.extensions.code as ErrorCode, error.message.replace(column as string, field), {
      ...error.extensions,
      field,
    })
  }
}
