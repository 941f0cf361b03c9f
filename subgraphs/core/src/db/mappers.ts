import type { DB } from '@pm/db/types/core'
import { MASK } from '@pm/service-kit'
import type { Selectable } from 'kysely'

type UserRow = Selectable<DB['users']>
type NotificationRow = Selectable<DB['notifications']>
type RoleRow = Selectable<DB['roles']>
type PermissionRow = Selectable<DB['permissions']>
type AppSettingRow = Selectable<DB['app_settings']>
/** Every api_keys column but the hash. */
export type ApiKeyRow = Omit<Selectable<DB['api_keys']>, 'key_hash'>

export type User = ReturnType<typeof toUser>
export type Notification = ReturnType<typeof toNotification>
export type Role = ReturnType<typeof toRole> & { permissions?: Permission[] }
export type Permission = ReturnType<typeof toPermission>
export type AppSetting = ReturnType<typeof toAppSetting>
export type ApiKey = ReturnType<typeof toApiKey>

/** users row → GraphQL User; hashed_password and last_login_ip are left behind on purpose. */
export function toUser(row: Omit<UserRow, 'hashed_password' | 'last_login_ip'>) {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    firstName: row.first_name,
    lastName: row.last_name,
    role: row.role,
    isActive: row.is_active,
    isVerified: row.is_verified,
    isSuperuser: row.is_superuser,
    isAdmin: row.is_admin,
    permissions: row.permissions,
    lastLogin: row.last_login,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/**
 * What anyone who reaches a user may see of its name: the username, else first and last name, else
 * "user " and the start of its id. Never the e-mail (personal data that needs user:read).
 */
export function displayName(user: Pick<User, 'id' | 'username' | 'firstName' | 'lastName'>): string {
  const username = user.username?.trim()
  if (username) return username
  const name = [user.firstName, user.lastName]
    .map((part) => part?.trim())
    .filter(Boolean)
    .join(' ')
  return name || `user ${user.id.slice(0, 8)}`
}

export function toNotification(row: NotificationRow) {
  return {
    id: row.id,
    userId: row.user_id,
    title: row.title,
    message: row.message,
    type: row.type,
    read: row.read,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    metadata: row.metadata,
  }
}

export function toRole(row: RoleRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    isActive: row.is_active,
  }
}

export function toPermission(row: PermissionRow) {
  return {
    id: row.id,
    name: row.name,
    resource: row.resource,
    action: row.action,
  }
}

/** app_settings row → GraphQL AppSetting; a secret's value never leaves the service (MASK instead). */
export function toAppSetting(row: AppSettingRow) {
  return {
    id: row.id,
    key: row.key,
    value: row.is_secret ? MASK : row.value,
    category: row.category,
    description: row.description,
    isSecret: row.is_secret,
    updatedById: row.updated_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** api_keys row → GraphQL ApiKey; the key's hash is never read out of the database for this. */
export function toApiKey(row: ApiKeyRow) {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    keyPrefix: row.key_prefix,
    scopes: row.scopes,
    allowedOperations: row.allowed_operations,
    rateLimitPerMinute: row.rate_limit_per_minute,
    isActive: row.is_active,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    createdAt: row.created_at,
  }
}
