import type { DB } from '@pm/db/types/core'
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

/** Every api_keys column but the hash. */
export const API_KEY_COLUMNS = [
  'api_keys.id',
  'api_keys.user_id',
  'api_keys.name',
  'api_keys.key_prefix',
  'api_keys.scopes',
  'api_keys.allowed_operations',
  'api_keys.rate_limit_per_minute',
  'api_keys.is_active',
  'api_keys.last_used_at',
  'api_keys.expires_at',
  'api_keys.revoked_at',
  'api_keys.created_at',
] as const

/** A user's keys, newest first (idx_api_keys_user_id); revoked and expired ones only when asked. */
export function apiKeysOfUser(db: CoreDb, userId: string, includeInactive: boolean) {
  let query = db.selectFrom('api_keys').select(API_KEY_COLUMNS).where('api_keys.user_id', '=', userId)
  if (!includeInactive) {
    query = query
      .where('api_keys.revoked_at', 'is', null)
      .where('api_keys.is_active', '=', true)
      .where((eb) =>
        eb.or([
          eb('api_keys.expires_at', 'is', null),
          eb('api_keys.expires_at', '>', sql<Date>`localtimestamp`),
        ]),
      )
  }
  return query.orderBy('api_keys.created_at', 'desc').orderBy('api_keys.id', 'desc').execute()
}

/** The key with this hash and its owner's state (one statement; the gateway asks on every keyed request). */
export function apiKeyByHash(db: CoreDb, keyHash: string) {
  return db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .select([...API_KEY_COLUMNS, 'users.is_active as owner_active'])
    .where('api_keys.key_hash', '=', keyHash)
    .executeTakeFirst()
}

/** Module switches stored in app_settings (category modules, idx_app_settings_category). */
export function moduleSettings(db: CoreDb) {
  return db
    .selectFrom('app_settings')
    .select(['app_settings.key', 'app_settings.value'])
    .where('app_settings.category', '=', 'modules')
    .execute()
}
