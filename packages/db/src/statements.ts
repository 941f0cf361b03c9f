import type { Compilable, CompiledQuery, Kysely, RootOperationNode } from 'kysely'

/**
 * Stands for one value of a fixed statement while Kysely builds and compiles it (see fixedStatement). It is
 * no value at all: reading it as text or a number throws, so a builder that looks into a value instead of
 * handing it to Kysely fails on its first call instead of baking one call's value into every later one.
 */
class Placeholder {
  constructor(readonly index: number) {}
  [Symbol.toPrimitive](): never {
    throw new Error(`fixedStatement: value ${this.index} was read while building; hand it to Kysely as is`)
  }
  toJSON(): never {
    return this[Symbol.toPrimitive]()
  }
}

interface Template {
  query: RootOperationNode
  queryId: CompiledQuery['queryId']
  sql: string
  /** Per parameter of the compiled statement: the index of the call's value, or a constant of the builder. */
  slots: ({ value: number } | { constant: unknown })[]
}

function compileTemplate<DB>(
  db: Kysely<DB>,
  build: (db: Kysely<DB>, ...values: never[]) => Compilable<unknown>,
  arity: number,
  name: string,
): Template {
  const placeholders = Array.from({ length: arity }, (_, i) => new Placeholder(i))
  const compiled = build(db, ...(placeholders as never[])).compile()
  const used = new Set<number>()
  const slots = compiled.parameters.map((parameter) => {
    if (parameter instanceof Placeholder) {
      used.add(parameter.index)
      return { value: parameter.index }
    }
    return { constant: parameter }
  })
  const unused = placeholders.filter((p) => !used.has(p.index)).map((p) => p.index)
  if (unused.length > 0)
    throw new Error(`fixedStatement ${name}: value(s) ${unused.join(', ')} never reach the statement`)
  return { query: compiled.query, queryId: compiled.queryId, sql: compiled.sql, slots }
}

/**
 * A statement whose shape never changes, only its values: Kysely builds and compiles it once (the first
 * call), and every call then sends the same SQL text with its own values. For the hot fixed-shape reads
 * (loader batches `WHERE key = ANY($1)`), where building and compiling cost more than the rest of the
 * statement's JavaScript.
 *
 * `build` gets one stand-in per value and must hand each to Kysely as a value, untouched:
 * `eb.fn.any(eb.val(keys))`, `where(column, '=', value)`, `limit(count)`. Whatever else the statement holds
 * is the builder's own constants. A stand-in that does not reach the statement, or one read as text or a
 * number, fails the first call. Arrays go to PostgreSQL as one array parameter (`= ANY($1)`); `in` lists
 * need a shape per length and do not belong here.
 *
 * The statement runs on the handle each call gives (the request's pool, a transaction), counted and logged
 * like any other. Compiled once for PostgreSQL: for handles without plugins (every domain's `db` and
 * `background`).
 */
export function fixedStatement<DB, Values extends unknown[], Row>(
  name: string,
  build: (db: Kysely<DB>, ...values: Values) => Compilable<Row>,
): (db: Kysely<DB>, ...values: Values) => Promise<Row[]> {
  let template: Template | undefined
  return async (db, ...values) => {
    template ??= compileTemplate(
      db,
      build as unknown as (db: Kysely<DB>, ...values: never[]) => Compilable<unknown>,
      values.length,
      name,
    )
    const parameters = template.slots.map((slot) => ('value' in slot ? values[slot.value] : slot.constant))
    const result = await db.executeQuery<Row>({
      query: template.query,
      queryId: template.queryId,
      sql: template.sql,
      parameters,
    })
    return result.rows
  }
}
