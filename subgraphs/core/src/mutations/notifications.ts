import {
  checkJsonObject,
  checkString,
  inTransaction,
  notFound,
  recordAudit,
  updateAudited,
} from '@pm/service-kit'
import { toNotification } from '../db/mappers'
import { deleteNotification, insertNotification, markNotificationsRead } from '../db/writes'
import type { MutationResolvers } from '../generated/graphql'

const MAX_MESSAGE = 10_000

export const notificationMutations = {
  createNotification: (_, { input }, ctx) => {
    const values = {
      user_id: input.userId,
      title: checkString('input.title', input.title, { max: 255 }),
      message: checkString('input.message', input.message, { max: MAX_MESSAGE }),
      type: input.type,
      ...(input.expiresAt ? { expires_at: input.expiresAt } : {}),
      metadata: JSON.stringify(checkJsonObject('input.metadata', input.metadata) ?? {}),
    }
    return inTransaction(ctx, async (trx) => {
      const user = await trx
        .selectFrom('users')
        .select('id')
        .where('id', '=', input.userId)
        .executeTakeFirst()
      if (!user) throw notFound('input.userId: no user has this id', { field: 'input.userId' })
      const row = await insertNotification(trx, values)
      const notification = toNotification(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'notification',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: notification },
      })
      return notification
    })
  },

  markNotificationRead: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'notifications',
        id,
        notFound: () => notFound('no notification has this id', { field: 'id' }),
        values: () => ({ read: true }),
        view: toNotification,
        audit: { entityType: 'notification', userId: ctx.caller.userId },
      })
      return toNotification(row)
    }),

  markAllNotificationsRead: (_, { userId }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const changed = await markNotificationsRead(trx, userId)
      if (changed.length > 0) {
        await recordAudit(trx, {
          action: 'update',
          entityType: 'user_notifications',
          entityId: userId,
          userId: ctx.caller.userId,
          changes: { markedRead: changed.length },
        })
      }
      return changed.length
    }),

  /** Returns the notification as it was. */
  deleteNotification: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const row = await deleteNotification(trx, id)
      if (!row) throw notFound('no notification has this id', { field: 'id' })
      const notification = toNotification(row)
      await recordAudit(trx, {
        action: 'delete',
        entityType: 'notification',
        entityId: id,
        userId: ctx.caller.userId,
        changes: { before: notification },
      })
      return notification
    }),
} satisfies MutationResolvers
