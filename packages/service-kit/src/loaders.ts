import DataLoader from 'dataloader'

/**
 * A DataLoader that also answers, without a promise, the keys whose values it already holds: primed (the
 * children a parent's statement fetched) or loaded by a finished batch. A resolver returning loadNow(key)
 * then hands graphql-js a plain value where it can, and graphql-js completes the field, and its parent object,
 * without awaiting anything: the same answer for less work (no promise per field, none per object). The
 * cache keeps DataLoader's rule: the first value a key gets (loaded or primed) is the one it keeps.
 */
export class SettledLoader<K, V> extends DataLoader<K, V> {
  /** Values settled for good, by key: what load(key) resolves to. */
  private readonly settled: Map<K, V>
  /** Keys DataLoader caches (loaded or primed), settled or not: a later prime does not change them. */
  private readonly known = new Set<K>()

  constructor(batch: DataLoader.BatchLoadFn<K, V>, options?: DataLoader.Options<K, V>) {
    const settled = new Map<K, V>()
    super(async (keys) => {
      const values = await batch(keys)
      keys.forEach((key, i) => {
        const value = values[i]
        if (!(value instanceof Error)) settled.set(key, value as V)
      })
      return values
    }, options)
    this.settled = settled
  }

  override load(key: K): Promise<V> {
    this.known.add(key)
    return super.load(key)
  }

  override prime(key: K, value: V | PromiseLike<V> | Error): this {
    if (!this.known.has(key)) {
      this.known.add(key)
      if (!(value instanceof Error) && !isPromiseLike(value)) this.settled.set(key, value)
    }
    return super.prime(key, value)
  }

  override clear(key: K): this {
    this.known.delete(key)
    this.settled.delete(key)
    return super.clear(key)
  }

  override clearAll(): this {
    this.known.clear()
    this.settled.clear()
    return super.clearAll()
  }

  /** The key's value when settled, else load(key): what load(key) resolves to, without a promise if it can. */
  loadNow(key: K): V | Promise<V> {
    return this.settled.has(key) ? (this.settled.get(key) as V) : this.load(key)
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}

/** `fn` of a value now, or of a promise's value once it settles (for resolvers built on loadNow). */
export function thenNow<T, R>(value: T | Promise<T>, fn: (value: T) => R): R | Promise<Awaited<R>> {
  return value instanceof Promise ? (value.then(fn) as Promise<Awaited<R>>) : fn(value)
}

/**
 * A loader for rows keyed by a unique column: one SQL statement per batch (`WHERE key = ANY($1)`),
 * answers in key order, null where no row exists (an orphan reference across databases).
 */
export function uniqueLoader<K extends string, V>(
  fetch: (keys: readonly K[]) => Promise<readonly V[]>,
  keyOf: (row: V) => K,
): SettledLoader<K, V | null> {
  return new SettledLoader<K, V | null>(
    async (keys) => {
      const rows = await fetch(keys)
      const byKey = new Map<K, V>()
      for (const row of rows) byKey.set(keyOf(row), row)
      return keys.map((k) => byKey.get(k) ?? null)
    },
    { maxBatchSize: 1000 },
  )
}

/** A loader for the rows of a one-to-many relation: each key gets its list (empty when none). */
export function groupedLoader<K extends string, V>(
  fetch: (keys: readonly K[]) => Promise<readonly V[]>,
  keyOf: (row: V) => K,
): SettledLoader<K, V[]> {
  return new SettledLoader<K, V[]>(
    async (keys) => {
      const rows = await fetch(keys)
      const byKey = new Map<K, V[]>(keys.map((k) => [k, []]))
      for (const row of rows) byKey.get(keyOf(row))?.push(row)
      return keys.map((k) => byKey.get(k) ?? [])
    },
    { maxBatchSize: 1000 },
  )
}

/**
 * Loaders whose batch also depends on field arguments (e.g. `logs(level:, first:)`): one loader per
 * distinct argument set, created on first use within the request.
 */
export class LoaderFamily<A, L> {
  private readonly loaders = new Map<string, L>()
  constructor(private readonly create: (args: A) => L) {}
  for(args: A): L {
    const key = JSON.stringify(args)
    let loader = this.loaders.get(key)
    if (!loader) {
      loader = this.create(args)
      this.loaders.set(key, loader)
    }
    return loader
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The keys that are UUIDs. Keys from entity representations are not checked by GraphQL, and one
 * malformed key would make PostgreSQL fail its whole batch; filtered out, it simply finds no row.
 */
export function uuidKeys(keys: readonly string[]): string[] {
  return keys.filter((k) => UUID.test(k))
}
