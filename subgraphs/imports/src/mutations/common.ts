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

/** The fields of `a` whose value differs in `b` (audit entries carry what changed, not the whole row). */
export function changed<T extends Record<string, unknown>>(a: T, b: T): Partial<T> {
  const out: Partial<T> = {}
  for (const key of Object.keys(a) as (keyof T)[]) {
    if (key === 'updatedAt') continue
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) out[key] = a[key]
  }
  return out
}
