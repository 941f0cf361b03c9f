import type { DB } from '@pm/db/types/core'
import type { Selectable } from 'kysely'

type UserRow = Selectable<DB['users']>
type NotificationRow = Selectable<DB['notifications']>

export type User = ReturnType<typeof toUser>
export type Notification = ReturnType<typeof toNotification>

/** users row → GraphQL User; hashed_password is left behind on purpose. */
export function toUser(row: Omit<UserRow, 'hashed_password'>) {
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
