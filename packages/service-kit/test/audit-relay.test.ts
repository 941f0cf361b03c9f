import { createDomainDatabase, type DomainDatabase } from '@pm/db'
import { createMigratedDatabase, type TestDatabase } from '@pm/testing'
import { TEST_POOL } from '@pm/testing/subgraph'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type AuditRelay, type Logger, type OutboxEntry, startAuditRelay } from '../src'

/**
 * Two relays on one outbox, as two catalog processes (or replicas) run them: each has its own pool, as a
 * process would, and the outbox's advisory lock lets one deliver at a time.
 */
let testDatabase: TestDatabase
let first: DomainDatabase<'catalog'>
let second: DomainDatabase<'catalog'>
const relays: AuditRelay[] = []
/** Gates still closed at the end of a test (one that failed midway) are opened, so that stop() returns. */
const gates: (() => void)[] = []

/** A logger that keeps its warnings (a failed delivery is logged as one). */
function recordingLogger() {
  const warnings: string[] = []
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (msg) => {
      warnings.push(msg)
    },
    error() {},
    child: () => logger,
  }
  return { logger, warnings }
}

/** A promise and its resolve, to hold a delivery until the test lets it go. */
function gate() {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  gates.push(open)
  return { promise, open }
}

/** Outbox entries created one second apart, in this order; their ids. */
async function addEntries(count: number, from = Date.UTC(2026, 0, 1)): Promise<string[]> {
  const rows = await first.db
    .insertInto('audit_outbox')
    .values(
      Array.from({ length: count }, (_, i) => ({
        action: 'update',
        entity_type: 'product',
        entity_id: `p${i}`,
        changes: JSON.stringify({ n: i }),
        created_at: new Date(from + i * 1_000),
      })),
    )
    .returning(['id', 'created_at'])
    .execute()
  return rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime()).map((r) => r.id)
}

function relay(
  database: DomainDatabase<'catalog'>,
  deliver: (entries: OutboxEntry[]) => Promise<void>,
  handle: 'background' | 'db' = 'background',
) {
  const { logger, warnings } = recordingLogger()
  // Polling far away: every delivery in these tests is asked for (flush, nudge).
  const started = startAuditRelay({
    db: database[handle],
    deliver,
    logger,
    intervalMs: 3_600_000,
    batchSize: 2,
  })
  relays.push(started)
  return { relay: started, warnings }
}

beforeAll(async () => {
  testDatabase = await createMigratedDatabase('catalog', 'audit_relay')
  first = createDomainDatabase({ domain: 'catalog', url: testDatabase.url, pool: TEST_POOL })
  second = createDomainDatabase({ domain: 'catalog', url: testDatabase.url, pool: TEST_POOL })
}, 120_000)
afterAll(async () => {
  await first?.destroy()
  await second?.destroy()
  await testDatabase?.drop()
})
beforeEach(async () => {
  await first.db.deleteFrom('audit_outbox').execute()
})
afterEach(async () => {
  for (const open of gates.splice(0)) open()
  await Promise.all(relays.splice(0).map((r) => r.stop()))
})

describe('audit relays sharing one outbox', () => {
  it('poll an empty outbox with one statement (no transaction, no lock)', async () => {
    // On the counted handle (stats().queries), which the services' relays do not use.
    const { relay: idle } = relay(first, async () => {}, 'db')
    const before = first.stats().queries
    expect(await idle.flush()).toBe(0)
    expect(first.stats().queries - before).toBe(1)
    await addEntries(1)
    const withEntry = first.stats().queries
    expect(await idle.flush()).toBe(1)
    // The look, then BEGIN, the lock, the batch, its delete and COMMIT; then the empty look that ends the drain.
    expect(first.stats().queries - withEntry).toBeGreaterThan(2)
  })

  it('deliver every entry once, in creation order; the one finding the lock taken delivers nothing and has not failed', async () => {
    const created = await addEntries(5)
    /** Every delivery of both relays, in the order they happened. */
    const log: { relay: 'A' | 'B'; ids: string[] }[] = []
    const aEntered = gate()
    const aRelease = gate()
    let aCalls = 0
    const a = relay(first, async (entries) => {
      log.push({ relay: 'A', ids: entries.map((e) => e.id) })
      if (++aCalls === 1) {
        aEntered.open()
        await aRelease.promise
      }
    })
    const bDelivered = gate()
    const b = relay(second, async (entries) => {
      log.push({ relay: 'B', ids: entries.map((e) => e.id) })
      bDelivered.open()
    })

    const aFlush = a.relay.flush()
    await aEntered.promise
    // A holds its first batch (created[0..1]) mid-delivery: B's turns deliver nothing, and are no failures.
    expect(await b.relay.flush()).toBe(0)
    expect(await b.relay.flush()).toBe(0)
    expect(log).toEqual([{ relay: 'A', ids: created.slice(0, 2) }])
    expect(b.warnings).toEqual([])
    expect(await b.relay.pending()).toBe(5)

    // Released, A delivers the rest, batch after batch, oldest first.
    aRelease.open()
    expect(await aFlush).toBe(5)
    expect(log.flatMap((d) => d.ids)).toEqual(created)
    expect(log.every((d) => d.relay === 'A')).toBe(true)
    expect(a.warnings).toEqual([])

    // B is not backing off: a nudge (ignored after a failure) has it deliver a new entry at once.
    const [later] = await addEntries(1, Date.UTC(2026, 0, 2))
    b.relay.nudge()
    await bDelivered.promise
    await b.relay.flush()
    expect(log.at(-1)).toEqual({ relay: 'B', ids: [later] })
    expect(await b.relay.pending()).toBe(0)
    expect(b.warnings).toEqual([])
  })

  it('flushing together, the two relays deliver each entry once and in order between them', async () => {
    const created = await addEntries(9)
    const log: string[][] = []
    const deliver = async (entries: OutboxEntry[]) => {
      log.push(entries.map((e) => e.id))
    }
    const a = relay(first, deliver)
    const b = relay(second, deliver)
    const [fromA, fromB] = await Promise.all([a.relay.flush(), b.relay.flush()])
    // A relay that finds the lock taken stops, and the one holding it goes on to the end of the outbox.
    expect(fromA + fromB).toBe(9)
    expect(log.flat()).toEqual(created)
    expect(await a.relay.pending()).toBe(0)
    expect([...a.warnings, ...b.warnings]).toEqual([])
  })

  it('records a failed delivery on the entries (the transaction commits) and delivers them again later', async () => {
    const created = await addEntries(3)
    let down = true
    const delivered: string[] = []
    const a = relay(first, async (entries) => {
      if (down) throw new Error('analytics answered 503: no GraphQL body')
      delivered.push(...entries.map((e) => e.id))
    })
    expect(await a.relay.flush()).toBe(0)
    expect(a.warnings).toEqual(['audit delivery failed; entries stay in the outbox'])
    const rows = await first.db
      .selectFrom('audit_outbox')
      .select(['id', 'attempts', 'last_error'])
      .orderBy('created_at')
      .execute()
    // The first batch (two entries) was tried; the third waits behind it, untried.
    expect(rows).toEqual([
      { id: created[0], attempts: 1, last_error: 'analytics answered 503: no GraphQL body' },
      { id: created[1], attempts: 1, last_error: 'analytics answered 503: no GraphQL body' },
      { id: created[2], attempts: 0, last_error: null },
    ])

    // The failed relay held no lock after its failure: the other relay delivers meanwhile.
    const b = relay(second, async (entries) => {
      delivered.push(...entries.map((e) => e.id))
    })
    down = false
    expect(await b.relay.flush()).toBe(3)
    expect(delivered).toEqual(created)
    expect(await a.relay.flush()).toBe(0)
    expect(await a.relay.pending()).toBe(0)
  })
})
