import type { DB } from '@pm/db/types/analytics'
import { badUserInput, checkString, type OutboxEntry } from '@pm/service-kit'
import type { Insertable, Kysely, Transaction } from 'kysely'

const MAX_ENTRIES = 1_000

/** One entry a front end records itself (recordAuditLog). */
export function insertAuditLog(trx: Transaction<DB>, values: Insertable<DB['audit_logs']>) {
  return trx.insertInto('audit_logs').values(values).returningAll().executeTakeFirstOrThrow()
}

/** Stores relayed audit entries; an entry already stored (same event id) is skipped. Returns the new ones. */
export async function insertAuditEntries(db: Kysely<DB>, entries: readonly OutboxEntry[]): Promise<number> {
  if (entries.length === 0) return 0
  if (entries.length > MAX_ENTRIES)
    throw badUserInput(`entries: at most ${MAX_ENTRIES} per call`, { field: 'entries' })
  const rows = entries.map((e, i) => ({
    event_id: e.id,
    user_id: e.userId,
    action: checkString(`entries[${i}].action`, e.action, { max: 50 }),
    entity_type: checkString(`entries[${i}].entityType`, e.entityType, { max: 100 }),
    entity_id: checkString(`entries[${i}].entityId`, e.entityId, { max: 255 }),
    changes: JSON.stringify(e.changes ?? {}),
    created_at: e.createdAt,
  }))
  const inserted = await db
    .insertInto('audit_logs')
    .values(rows)
    .onConflict((oc) => oc.column('event_id').where('event_id', 'is not', null).doNothing())
    .returning('id')
    .execute()
  return inserted.length
}
