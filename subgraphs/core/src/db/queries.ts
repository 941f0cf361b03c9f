import type { DB } from '@pm/db/types/core'
import { uuidKeys } from '@pm/service-kit'
import { type Kysely, sql } from 'kysely'

export type CoreDb = Kysely<DB>

/** Every users column but the password hash. */
export const USER_COLUMNS = [
  'users.id',
  'users.email',
  'users.username',
  'users.first_name',
  'users.last_name',
  'users.role',
  'users.is_active',
  'users.is_verified',
  'users.is_superuser',
  'users.is_admin',
  'users.permissions',
  'users.last_login',
  'users.created_at',
  'users.updated_at',
] as const

export function usersByIds(db: CoreDb, ids: readonly string[]) {
  return db
    .selectFrom('users')
    .select(USER_COLUMNS)
    .where('users.id', '=', (eb) => eb.fn.any(eb.val([...ids])))
    .execute()
}

export function usersByEmails(db: CoreDb, emails: readonly string[]) {
  return db
    .selectFrom('users')
    .select(USER_COLUMNS)
    .where('users.email', '=', (eb) => eb.fn.any(eb.val([...emails])))
    .execute()
}

export interface UserFilter {
  isActive?: boolean | null
  role?: string | null
  search?: string | null
}

export function usersQuery(db: CoreDb, filter: UserFilter = {}) {
  let query = db.selectFrom('users').select(USER_COLUMNS)
  if (filter.isActive != null) query = query.where('users.is_active', '=', filter.isActive)
  if (filter.role != null) query = query.where('users.role', '=', filter.role)
  if (filter.search) {
    const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    query = query.where((eb) =>
      eb.or([
        eb('users.email', 'ilike', pattern),
        eb('users.username', 'ilike', pattern),
        eb('users.first_name', 'ilike', pattern),
        eb('users.last_name', 'ilike', pattern),
      ]),
    )
  }
  return query
}

/** Notifications of the given users; the partial index idx_notifications_user_unread serves unreadOnly. */
export function notificationsQuery(db: CoreDb, userIds: readonly string[], unreadOnly: boolean) {
  let query = db
    .selectFrom('notifications')
    .selectAll('notifications')
    .where('notifications.user_id', '=', (eb) => eb.fn.any(eb.val([...userIds])))
  if (unreadOnly) query = query.where('notifications.read', '=', false)
  // Expired notifications are kept (audit) but no longer listed.
  return query.where((eb) =>
    eb.or([
      eb('notifications.expires_at', 'is', null),
      eb('notifications.expires_at', '>', sql<Date>`now()`),
    ]),
  )
}

export function rolesWithPermissions(db: CoreDb) {
  return db.selectFrom('roles').selectAll().orderBy('roles.name').execute()
}

export function permissionsByRoleIds(db: CoreDb, roleIds: readonly number[]) {
  return db
    .selectFrom('role_permissions')
    .innerJoin('permissions', 'permissions.id', 'role_permissions.permission_id')
    .select([
      'role_permissions.role_id',
      'permissions.id',
      'permissions.name',
      'permissions.resource',
      'permissions.action',
    ])
    .where('role_permissions.role_id', '=', (eb) => eb.fn.any(eb.val([...roleIds])))
    .orderBy('permissions.name')
    .execute()
}

export function roleById(db: CoreDb, id: number) {
  return db.selectFrom('roles').selectAll().where('roles.id', '=', id).executeTakeFirst()
}

/** Permissions by name (a small table: no paging), optionally of one resource. */
export function permissionsList(db: CoreDb, resource?: string | null) {
  let query = db.selectFrom('permissions').selectAll().orderBy('permissions.name')
  if (resource != null) query = query.where('permissions.resource', '=', resource)
  return query.execute()
}

export function appSettingByKey(db: CoreDb, key: string) {
  return db.selectFrom('app_settings').selectAll().where('app_settings.key', '=', key).executeTakeFirst()
}

/** Settings by key, optionally of one category (idx_app_settings_category); configuration stays small. */
export function appSettingsList(db: CoreDb, category?: string | null) {
  let query = db.selectFrom('app_settings').selectAll().orderBy('app_settings.key')
  if (category != null) query = query.where('app_settings.category', '=', category)
  return query.execute()
}
