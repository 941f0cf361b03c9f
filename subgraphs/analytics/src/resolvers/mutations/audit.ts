import { checkJsonObject, checkString, inTransaction } from '@pm/service-kit'
import type { Context } from '../../context'
import { toAuditLog } from '../../db/mappers'
import type { MutationResolvers } from '../../generated/graphql'
import { checkAuditName } from '../../validation'

interface RecordAuditLogInput {
  action: string
  entityType: string
  entityId?: string | null
  changes?: Record<string, unknown> | null
}

const MAX_CHANGES_BYTES = 16_384

export const auditMutations = {
  /**
   * A front end logs a user action. Written straight into audit_logs (this is analytics' own table),
   * under the caller's user id; services' entries arrive by their outboxes instead (recordAuditEntries).
   */
  recordAuditLog: (_: unknown, { input }: { input: RecordAuditLogInput }, ctx: Context) => {
    const values = {
      user_id: ctx.caller.userId,
      action: checkAuditName('input.action', input.action, 50),
      entity_type: checkAuditName('input.entityType', input.entityType, 100),
      entity_id: checkString('input.entityId', input.entityId, { max: 255 }),
      changes: JSON.stringify(checkJsonObject('input.changes', input.changes, MAX_CHANGES_BYTES) ?? {}),
    }
    return inTransaction(ctx, async (trx) =>
      toAuditLog(await trx.insertInto('audit_logs').values(values).returningAll().executeTakeFirstOrThrow()),
    )
  },
} satisfies MutationResolvers
