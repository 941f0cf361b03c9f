import { enumValues } from '@pm/service-kit'

/** notifications.type. */
export const NOTIFICATION_TYPES = ['info', 'success', 'warning', 'error'] as const
export type NotificationType = (typeof NOTIFICATION_TYPES)[number]

/** The schema's enums over their stored values: resolvers and SQL see the stored values. */
export const enums = {
  NotificationType: enumValues(NOTIFICATION_TYPES),
}
