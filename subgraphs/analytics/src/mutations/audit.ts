import { checkJsonObject, checkString, inTransaction } from '@pm/service-kit'
import { insertAuditEntries, insertAuditLog } from '../db/audit'
import { toAuditLog } from '../db/mappers'
import type { MutationResolvers } from '../generated/graphql'
import { checkAuditName } from '../validation'

const MAX_CHANGES_BYTES = 16_384

export const auditMutations = {
  /**
   * A front end logs a user action. Written straight into audit_logs (this is analytics' own table),
   * under the caller's user id; services' entries arrive by their outboxes instead (recordAuditEntries).
   */
  recordAuditLog: (_, { input }, ctx) => {
    const values = {
      user_id: ctx.caller.userId,
      action: checkAuditName('input.action', input.action, 50),
      entity_type: checkAuditName('input.entityType', input.entityType, 100),
      entity_id: checkString('input.entityId', input.entityId, { max: 255 }),
      changes: JSON.stringify(checkJsonObject('input.changes', input.changes, MAX_CHANGES_BYTES) ?? {}),
    }
    return inTransaction(ctx, async (trx) => toAuditLog(await insertAuditLog(trx, values)))
  },

  /** Entries relayed from the services' outboxes (internal: signed service callers only). */
  recordAuditEntries: (_, { entries }, ctx) =>
    insertAuditEntries(
      ctx.db,
      entries.map((e) => ({
        id: e.eventId,
        userId: e.userId ?? null,
        action: e.action,
        entityType: e.entityType,
        entityId: e.entityId ?? null,
        changes: e.changes ?? {},
        createdAt: e.occurredAt,
      })),
    ),
} satisfies MutationResolvers
