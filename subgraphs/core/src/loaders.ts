import type { DB } from '@pm/db/types/core'
import {
  groupedConnectionLoader,
  groupedLoader,
  LoaderFamily,
  type PageArgs,
  uniqueLoader,
} from '@pm/service-kit'
import type { Selectable } from 'kysely'
import { toUser } from './db/mappers'
import {
  type CoreDb,
  notificationsQuery,
  permissionsByRoleIds,
  usersByEmails,
  usersByIds,
} from './db/queries'

export const NOTIFICATION_ORDER = {
  key: 'CREATED_AT:DESC',
  column: 'notifications.created_at',
  id: 'notifications.id',
  direction: 'desc',
} as const

/** Per-request loaders: each batch is one SQL statement. */
export function createLoaders(db: CoreDb) {
  return {
    userById: uniqueLoader(
      async (ids) => (await usersByIds(db, ids)).map(toUser),
      (u) => u.id,
    ),
    userByEmail: uniqueLoader(
      async (emails) => (await usersByEmails(db, emails)).map(toUser),
      (u) => u.email,
    ),
    permissionsByRoleId: groupedLoader(
      (ids) => permissionsByRoleIds(db, ids.map(Number)),
      (p) => String(p.role_id),
    ),
    notificationsByUserId: new LoaderFamily((args: PageArgs & { unreadOnly: boolean }) =>
      groupedConnectionLoader<Selectable<DB['notifications']>>({
        db,
        query: (userIds) => notificationsQuery(db, userIds, args.unreadOnly),
        parentColumn: 'notifications.user_id',
        order: NOTIFICATION_ORDER,
        args,
      }),
    ),
  }
}

export type CoreLoaders = ReturnType<typeof createLoaders>
