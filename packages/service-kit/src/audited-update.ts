import {
  type Expression,
  isOperationNodeSource,
  type Kysely,
  type Selectable,
  type Transaction,
  type Updateable,
} from 'kysely'
import { type AuditAction, recordAudit } from './audit'

/** Numeric values compared by value: "1.500" from PostgreSQL equals "1.5" from an input. */
function canonicalDecimal(value: string): string {
  const match = /^(-?)0*(\d*?)(?:\.(\d*?)0*)?$/.exec(value)
  if (!match) return value
  const [, sign, whole, fraction] = match
  const text = `${whole || '0'}${fraction ? `.${fraction}` : ''}`
  return text === '0' ? '0' : `${sign}${text}`
}

/** JSON with object keys sorted: two objects of the same content print alike. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/**
 * Whether a stored value (as pg returns it, or as a mapper shows it) equals another value. Numeric
 * columns compare by value ("1.500" equals "1.5"), JSON by content (a JSON text equals the object it
 * encodes), timestamps by instant. A SQL expression (`sql\`now()\``) never equals anything: it is a write.
 */
export function sameValue(stored: unknown, next: unknown, numeric = false): boolean {
  if (stored === next) return true
  if (isOperationNodeSource(next) || isOperationNodeSource(stored)) return false
  if (stored === null || next === null || stored === undefined || next === undefined) return false
  if (stored instanceof Date || next instanceof Date) {
    return new Date(stored as Date).getTime() === new Date(next as Date).getTime()
  }
  if (numeric) return canonicalDecimal(String(stored)) === canonicalDecimal(String(next))
  if (typeof stored === 'object' || typeof next === 'object') {
    const parse = (v: unknown) => {
      if (typeof v !== 'string') return v
      try {
        return JSON.parse(v)
      } catch {
        return v
      }
    }
    return stableJson(parse(stored)) === stableJson(parse(next))
  }
  return false
}

export interface DiffOptions {
  /** Keys compared as decimal numbers. */
  numeric?: ReadonlySet<string>
  /** Keys never reported (default: updatedAt and updated_at, which every write moves). */
  ignore?: readonly string[]
}

export interface Diff<T> {
  before: Partial<T>
  after: Partial<T>
}

const IGNORED = ['updatedAt', 'updated_at']

/**
 * The one diff of the write path: the keys of `after` (undefined ones skipped: "leave it") whose value
 * differs from `before`'s, with both sides. Used for what an update writes (stored row → input columns)
 * and for what its audit entry says changed (the row as the API shows it, before → after).
 */
export function diffValues<T extends object>(
  before: Record<string, unknown>,
  after: T,
  options: DiffOptions = {},
): Diff<T> {
  const ignore = options.ignore ?? IGNORED
  const was: Record<string, unknown> = {}
  const is: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(after) as [string, unknown][]) {
    if (value === undefined || ignore.includes(key)) continue
    if (sameValue(before[key], value, options.numeric?.has(key) ?? false)) continue
    was[key] = before[key] ?? null
    is[key] = value
  }
  return { before: was as Partial<T>, after: is as Partial<T> }
}

/** Whether a diff found nothing. */
export const isEmptyDiff = (diff: Diff<object>) => Object.keys(diff.after).length === 0

type Row<DB, TB extends keyof DB> = Selectable<DB[TB]>

/** The columns an update may write: values, or SQL expressions (`sql\`localtimestamp\``). */
export type WriteValues<T> = { [K in keyof Updateable<T>]?: Updateable<T>[K] | Expression<unknown> }

export interface LockRowOptions {
  /** The key column (default `id`). */
  key?: string
  /** The columns read (default all): leave out what must never leave the database (hashes). */
  columns?: readonly string[]
}

/** The row whose `key` is `id`, locked FOR UPDATE until the transaction ends; undefined when missing. */
export function lockRow<DB, TB extends keyof DB & string>(
  trx: Transaction<DB>,
  table: TB,
  id: string | number,
  options: LockRowOptions = {},
): Promise<Row<DB, TB> | undefined> {
  // biome-ignore lint/suspicious/noExplicitAny: the table is generic; its row type is restored below
  const db = trx as unknown as Kysely<any>
  const query = db.selectFrom(table as string)
  return (options.columns ? query.select(options.columns as string[]) : query.selectAll())
    .where(options.key ?? 'id', '=', id)
    .forUpdate()
    .executeTakeFirst() as Promise<Row<DB, TB> | undefined>
}

export interface AuditedUpdate<DB, TB extends keyof DB & string, V extends object> extends LockRowOptions {
  table: TB
  /** The key's value. */
  id: string | number
  /** The error when no row has this key (a NOT_FOUND naming the argument). */
  notFound: () => Error
  /**
   * The columns to write, from the locked row: checks that need the row throw from here. Undefined
   * leaves a column; a column whose value is already stored is not written. Return {} to write nothing.
   */
  values: (before: Row<DB, TB>) => WriteValues<DB[TB]> | Promise<WriteValues<DB[TB]>>
  /** Columns compared as decimals when deciding what changes ("1.50" is "1.5"). */
  numeric?: ReadonlySet<string>
  /** Runs with the columns that will change, before they are written (checks on the changes alone). */
  check?: (changes: WriteValues<DB[TB]>, before: Row<DB, TB>) => unknown
  /**
   * The row as the audit entry shows it: the API's field names (camelCase), secrets masked. The
   * subgraph's mapper (toProduct, toUser…) is the usual answer.
   */
  view: (row: Row<DB, TB>) => V
  /**
   * Runs after the update, in the transaction (dependent writes: renaming a role on its users); what it
   * returns is added to the audit entry beside before and after.
   */
  afterUpdate?: (row: Row<DB, TB>, before: Row<DB, TB>) => Promise<Record<string, unknown> | undefined | void>
  audit: {
    entityType: string
    /** Default `update`; a function chooses from the columns written (a move is an update of the parent alone). */
    action?: AuditAction | ((changes: WriteValues<DB[TB]>) => AuditAction)
    /** Default the key's value. */
    entityId?: string
    userId: string | null
    /** Extra audit fields computed from the two rows (a masked secret that changed…). */
    extra?: (before: Row<DB, TB>, row: Row<DB, TB>) => Record<string, unknown> | undefined
  }
}

export interface AuditedUpdateResult<R> {
  /** The locked row as it was. */
  before: R
  /** The row as it is now (the same as `before` when nothing changed). */
  row: R
  /** Whether anything was written (and audited). */
  updated: boolean
}

/**
 * The write path's update, in the caller's transaction: lock the row (SELECT … FOR UPDATE) → work out
 * which of the given columns differ from what is stored → write only those → record one audit entry
 * `{ before, after }` holding the fields that changed, as the API names them (see README, "Audit
 * entries"). Nothing differs: nothing is written and nothing audited (updated_at and the trail stay).
 */
export async function updateAudited<DB, TB extends keyof DB & string, V extends object>(
  trx: Transaction<DB>,
  spec: AuditedUpdate<DB, TB, V>,
): Promise<AuditedUpdateResult<Row<DB, TB>>> {
  const key = spec.key ?? 'id'
  const before = await lockRow(trx, spec.table, spec.id, spec)
  if (!before) throw spec.notFound()
  const values = await spec.values(before)
  const changes = diffValues(before as Record<string, unknown>, values as object, {
    numeric: spec.numeric,
    ignore: [],
  }).after as WriteValues<DB[TB]>
  if (Object.keys(changes).length === 0) return { before, row: before, updated: false }
  await spec.check?.(changes, before)
  // biome-ignore lint/suspicious/noExplicitAny: see lockRow
  const db = trx as unknown as Kysely<any>
  const update = db
    .updateTable(spec.table as string)
    .set(changes as Record<string, unknown>)
    .where(key, '=', spec.id)
  const row = (await (spec.columns ? update.returning(spec.columns as string[]) : update.returningAll())
    // biome-ignore lint/suspicious/noExplicitAny: see lockRow
    .executeTakeFirstOrThrow()) as any as Row<DB, TB>
  const more = (await spec.afterUpdate?.(row, before)) ?? undefined
  const diff = diffValues(spec.view(before) as Record<string, unknown>, spec.view(row))
  const extra = { ...spec.audit.extra?.(before, row), ...more }
  if (!isEmptyDiff(diff) || Object.keys(extra).length > 0) {
    await recordAudit(trx, {
      action:
        typeof spec.audit.action === 'function'
          ? spec.audit.action(changes)
          : (spec.audit.action ?? 'update'),
      entityType: spec.audit.entityType,
      entityId: spec.audit.entityId ?? String(spec.id),
      userId: spec.audit.userId,
      changes: { ...diff, ...extra },
    })
  }
  return { before, row, updated: true }
}
