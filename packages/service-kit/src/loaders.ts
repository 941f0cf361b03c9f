import DataLoader from 'dataloader'

/**
 * A loader for rows keyed by a unique column: one SQL statement per batch (`WHERE key = ANY($1)`),
 * answers in key order, null where no row exists (an orphan reference across databases).
 */
export function uniqueLoader<K extends string, V>(
  fetch: (keys: readonly K[]) => Promise<readonly V[]>,
  keyOf: (row: V) => K,
): DataLoader<K, V | null> {
  return new DataLoader<K, V | null>(
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
): DataLoader<K, V[]> {
  return new DataLoader<K, V[]>(
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
