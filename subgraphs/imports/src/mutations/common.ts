import { badUserInput, ErrorCode, userError } from '@pm/service-kit'

/** A field the column cannot hold NULL for: omitted leaves it, null is refused. */
export function notNull<T>(field: string, value: T | null | undefined): T | undefined {
  if (value === null) throw badUserInput(`${field} cannot be null; omit it to leave it unchanged`, { field })
  return value
}

/** JSON columns are written as JSON text (pg would send a JS array as a PostgreSQL array). */
export function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value)
}

export const conflict = (field: string, message: string) =>
  userError(ErrorCode.CONFLICT, `${field}: ${message}`, { field })
