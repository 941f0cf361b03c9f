import type { Kysely, Transaction } from 'kysely'
import { sql } from 'kysely'
import { SERVICE, signCaller } from './identity'
import type { Logger } from './logger'

export type AuditAction = 'create' | 'update' | 'delete' | 'deactivate' | (string & {})

export interface AuditEntry {
  action: AuditAction
  entityType: string
  entityId: string | null
  /** What changed: { before, after } or any JSON the entry needs. */
  changes?: Record<string, unknown>
  userId?: string | null
}

/** An outbox row on its way to db_analytics.audit_logs; `id` becomes the audit log's event_id. */
export interface OutboxEntry {
  id: string
  userId: string | null
  action: string
  entityType: string
  entityId: string | null
  changes: unknown
  createdAt: Date
}

// biome-ignore lint/suspicious/noExplicitAny: every domain database has an audit_outbox table
type AnyDb = Kysely<any>

/** Writes the audit entry in the mutation's own transaction (see migrations/*\/NNN_audit_outbox.sql). */
export async function recordAudit(trx: Transaction<any>, entry: AuditEntry): Promise<void> {
  await (trx as AnyDb)
    .insertInto('audit_outbox')
    .values({
      user_id: entry.userId ?? null,
      action: entry.action,
      entity_type: entry.entityType,
      entity_id: entry.entityId,
      changes: JSON.stringify(entry.changes ?? {}),
    })
    .execute()
}

export type AuditDelivery = (entries: OutboxEntry[]) => Promise<void>

export interface AuditRelay {
  /** Asks for a delivery soon (after a commit). */
  nudge(): void
  /**
   * Delivers everything pending now; resolves with the number delivered (tests, shutdown). Stops early,
   * without failing, when another relay on the database holds the outbox's lock (that one delivers the rest).
   */
  flush(): Promise<number>
  pending(): Promise<number>
  stop(): Promise<void>
}

export interface AuditRelayOptions {
  db: AnyDb
  /** Where entries go. */
  deliver: AuditDelivery
  /** False while there is nowhere to deliver (no analytics service known): entries wait, quietly. */
  canDeliver?: () => boolean
  logger: Logger
  /** Polling interval for entries left by a failed delivery or another process (default 2 s). */
  intervalMs?: number
  batchSize?: number
}

/**
 * Key of the transaction-level advisory lock (`hashtextextended(AUDIT_OUTBOX_LOCK, 0)`) under which a relay
 * delivers a batch of its database's outbox. Advisory locks are per database, so one constant serves every
 * domain: of the relays sharing a database (two catalog instances, replicas), one delivers at a time.
 */
export const AUDIT_OUTBOX_LOCK = 'audit_outbox:relay'

type BatchOutcome = { delivered: number } | { busy: true } | { failed: unknown }

/**
 * Delivers the outbox to analytics: at least once, in order of creation, deleting what was delivered.
 * Each batch is selected, delivered and deleted in one transaction holding the outbox's advisory lock
 * (AUDIT_OUTBOX_LOCK), so relays of other processes on the same database never deliver the same entries or
 * interleave theirs; a relay that finds the lock taken delivers nothing this turn (no failure) and tries
 * again at its next poll or nudge. The transaction holds a connection of the pool during the delivery.
 * Failures back off (up to 30 s) and leave entries in place (attempts + 1, last_error); analytics' insert
 * is idempotent on the entry id, so a redelivery never duplicates.
 */
export function startAuditRelay(options: AuditRelayOptions): AuditRelay {
  const { db, logger } = options
  const batchSize = options.batchSize ?? 200
  const intervalMs = options.intervalMs ?? 2_000
  let failures = 0
  let running: Promise<number> | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  /**
   * One batch in one transaction under the outbox's advisory lock: select the oldest entries, deliver them,
   * delete them (or record the failure), commit. 'busy' when another relay holds the lock.
   */
  const deliverBatch = async (): Promise<number | 'busy'> => {
    if (options.canDeliver && !options.canDeliver()) return 0
    // The poll of an empty outbox (most of them) stays one statement: no transaction, no lock.
    const waiting = await db.selectFrom('audit_outbox').select('id').limit(1).execute()
    if (waiting.length === 0) return 0
    const outcome = await db.transaction().execute(async (trx): Promise<BatchOutcome> => {
      const { rows: locks } = await sql<{ locked: boolean }>`
        SELECT pg_try_advisory_xact_lock(hashtextextended(${AUDIT_OUTBOX_LOCK}, 0)) AS locked`.execute(trx)
      if (!locks[0]?.locked) return { busy: true }
      const rows = await trx
        .selectFrom('audit_outbox')
        .select(['id', 'user_id', 'action', 'entity_type', 'entity_id', 'changes', 'created_at'])
        .orderBy('created_at')
        .orderBy('id')
        .limit(batchSize)
        .execute()
      if (rows.length === 0) return { delivered: 0 }
      const entries: OutboxEntry[] = rows.map((r) => ({
        id: r.id,
        userId: r.user_id,
        action: r.action,
        entityType: r.entity_type,
        entityId: r.entity_id,
        changes: r.changes,
        createdAt: r.created_at,
      }))
      const ids = entries.map((e) => e.id)
      try {
        await options.deliver(entries)
      } catch (error) {
        // Recorded in this transaction, which then commits: the error is thrown once it has.
        await trx
          .updateTable('audit_outbox')
          .set({
            attempts: sql`attempts + 1`,
            last_error: String((error as Error)?.message ?? error).slice(0, 500),
          })
          .where('id', '=', (eb: any) => eb.fn.any(eb.val(ids)))
          .execute()
        return { failed: error }
      }
      await trx
        .deleteFrom('audit_outbox')
        .where('id', '=', (eb: any) => eb.fn.any(eb.val(ids)))
        .execute()
      return { delivered: entries.length }
    })
    if ('failed' in outcome) throw outcome.failed
    if ('busy' in outcome) return 'busy'
    return outcome.delivered
  }

  const drain = async (): Promise<{ delivered: number; busy: boolean }> => {
    let delivered = 0
    for (;;) {
      const n = await deliverBatch()
      if (n === 'busy') return { delivered, busy: true }
      delivered += n
      if (n < batchSize) return { delivered, busy: false }
    }
  }

  const run = (): Promise<number> => {
    running ??= drain()
      .then(
        ({ delivered, busy }) => {
          // Another relay delivering is no failure, nor a sign that analytics answers: the back-off stays.
          if (!busy || delivered > 0) failures = 0
          return delivered
        },
        (error: unknown) => {
          failures++
          logger.warn('audit delivery failed; entries stay in the outbox', {
            error: (error as Error)?.message ?? String(error),
            failures,
          })
          return 0
        },
      )
      .finally(() => {
        running = undefined
      })
    return running
  }

  const schedule = (delay: number) => {
    if (stopped) return
    clearTimeout(timer)
    timer = setTimeout(() => {
      run().finally(() => schedule(failures ? Math.min(30_000, intervalMs * 2 ** failures) : intervalMs))
    }, delay)
    timer.unref()
  }
  schedule(intervalMs)

  return {
    nudge: () => {
      if (failures === 0) schedule(0)
    },
    flush: async () => {
      await running
      return run()
    },
    pending: async () =>
      Number(
        (await db.selectFrom('audit_outbox').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow())
          .n,
      ),
    stop: async () => {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}

/**
 * Delivery to the analytics subgraph's internal recordAuditEntries mutation (not in the public graph),
 * signed as SERVICE with the shared signing secret (analytics answers nothing unsigned).
 */
export function httpAuditDelivery(
  analyticsUrl: () => string | undefined,
  signingSecret: string,
  timeoutMs = 5_000,
): AuditDelivery {
  return async (entries) => {
    const url = analyticsUrl()
    if (!url) throw new Error('no analytics service configured')
    const payload = JSON.stringify({
      query: 'mutation($entries: [AuditEntryInput!]!) { recordAuditEntries(entries: $entries) }',
      variables: {
        entries: entries.map((e) => ({
          eventId: e.id,
          userId: e.userId,
          action: e.action,
          entityType: e.entityType,
          entityId: e.entityId,
          changes: e.changes,
          occurredAt: e.createdAt.toISOString(),
        })),
      },
    })
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signCaller(SERVICE, signingSecret, { target: 'analytics', payload }),
      },
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    })
    const body = (await response.json().catch(() => ({}))) as { errors?: { message: string }[] }
    if (!response.ok || body.errors?.length) {
      throw new Error(
        `analytics answered ${response.status}: ${body.errors?.[0]?.message ?? 'no GraphQL body'}`,
      )
    }
  }
}
