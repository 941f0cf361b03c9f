interface Entry {
  namespace: string
  value: string
  /** The tag generations the value was valid under (see TwoLevelCache): a lookup under others misses. */
  stamp: string
  bytes: number
  storedAt: number
  expiresAt: number
}

/** In-process LRU bounded by (approximate) bytes, with a deadline per entry and an index per namespace. */
export class L1 {
  private readonly entries = new Map<string, Entry>()
  private readonly byNamespace = new Map<string, Set<string>>()
  bytes = 0
  evictions = 0

  constructor(readonly maxBytes: number) {}

  get size(): number {
    return this.entries.size
  }

  /**
   * The value if present, not expired, stored less than `maxAgeMs` ago and under `stamp`; a hit becomes the
   * newest. An entry under another stamp is dead (one of its tags was invalidated since): it goes.
   */
  get(key: string, now: number, maxAgeMs: number, stamp = ''): string | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (now >= entry.expiresAt || now - entry.storedAt >= maxAgeMs || entry.stamp !== stamp) {
      this.remove(key, entry)
      return undefined
    }
    // Map iteration order is insertion order: re-inserting moves the entry to the young end.
    this.entries.delete(key)
    this.entries.set(key, entry)
    return entry.value
  }

  set(key: string, namespace: string, value: string, now: number, expiresAt: number, stamp = ''): void {
    const bytes = 2 * (key.length + value.length + stamp.length)
    const previous = this.entries.get(key)
    if (previous) this.remove(key, previous)
    if (bytes > this.maxBytes || expiresAt <= now) return
    while (this.bytes + bytes > this.maxBytes) this.evictOldest()
    this.entries.set(key, { namespace, value, stamp, bytes, storedAt: now, expiresAt })
    this.bytes += bytes
    let keys = this.byNamespace.get(namespace)
    if (!keys) {
      keys = new Set()
      this.byNamespace.set(namespace, keys)
    }
    keys.add(key)
  }

  delete(key: string): void {
    const entry = this.entries.get(key)
    if (entry) this.remove(key, entry)
  }

  dropNamespace(namespace: string): void {
    const keys = this.byNamespace.get(namespace)
    if (!keys) return
    for (const key of keys) {
      const entry = this.entries.get(key)
      if (entry) {
        this.entries.delete(key)
        this.bytes -= entry.bytes
      }
    }
    this.byNamespace.delete(namespace)
  }

  clear(): void {
    this.entries.clear()
    this.byNamespace.clear()
    this.bytes = 0
  }

  private evictOldest(): void {
    const oldest = this.entries.entries().next()
    if (oldest.done) return
    this.remove(oldest.value[0], oldest.value[1])
    this.evictions++
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key)
    this.bytes -= entry.bytes
    const keys = this.byNamespace.get(entry.namespace)
    keys?.delete(key)
    if (keys?.size === 0) this.byNamespace.delete(entry.namespace)
  }
}
