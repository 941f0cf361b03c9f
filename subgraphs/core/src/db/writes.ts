import type { DB } from '@pm/db/types/core'
import type { Insertable, Transaction } from 'kysely'

/** The write statements of core's mutations; each runs inside the mutation's transaction. */
export type CoreTrx = Transaction<DB>

// ---------------------------------------------------------------- notifications

export function insertNotification(trx: CoreTrx, values: Insertable<DB['notifications']>) {
  return trx.insertInto('notifications').values(values).returningAll().executeTakeFirstOrThrow()
}

/** Marks the user's unread notifications read; returns the ids it changed. */
export function markNotificationsRead(trx: CoreTrx, userId: string) {
  return trx
    .updateTable('notifications')
    .set({ read: true })
    .where('user_id', '=', userId)
    .where('read', '=', false)
    .returning('id')
    .execute()
}

export function deleteNotification(trx: CoreTrx, id: string) {
  return trx.deleteFrom('notifications').where('id', '=', id).returningAll().executeTakeFirst()
}

// ---------------------------------------------------------------- roles and permissions

export function insertRole(trx: CoreTrx, values: Insertable<DB['roles']>) {
  return trx.insertInto('roles').values(values).returningAll().executeTakeFirstOrThrow()
}

/** users.role holds a role's name: renames it on every user that has it; returns how many. */
export async function renameRoleOnUsers(trx: CoreTrx, from: string, to: string) {
  const renamed = await trx.updateTable('users').set({ role: to }).where('role', '=', from).executeTakeFirst()
  return Number(renamed.numUpdatedRows)
}

/** Grants (idempotent); returns the row it added, none when the role already had it. */
export function grantPermission(trx: CoreTrx, roleId: number, permissionId: number) {
  return trx
    .insertInto('role_permissions')
    .values({ role_id: roleId, permission_id: permissionId })
    .onConflict((oc) => oc.columns(['role_id', 'permission_id']).doNothing())
    .returning('role_id')
    .execute()
}

/** Revokes (idempotent); returns the row it removed, none when the role did not have it. */
export function revokePermission(trx: CoreTrx, roleId: number, permissionId: number) {
  return trx
    .deleteFrom('role_permissions')
    .where('role_id', '=', roleId)
    .where('permission_id', '=', permissionId)
    .returning('role_id')
    .execute()
}

/** Deletes a role with its grants; returns the permissions it held. */
export async function deleteRole(trx: CoreTrx, id: number) {
  const permissions = await trx
    .deleteFrom('role_permissions')
    .using('permissions')
    .whereRef('permissions.id', '=', 'role_permissions.permission_id')
    .where('role_permissions.role_id', '=', id)
    .returning(['permissions.id', 'permissions.name', 'permissions.resource', 'permissions.action'])
    .execute()
  await trx.deleteFrom('roles').where('id', '=', id).execute()
  return permissions
}

export function insertPermission(trx: CoreTrx, values: Insertable<DB['permissions']>) {
  return trx.insertInto('permissions').values(values).returningAll().executeTakeFirstOrThrow()
}

/** Deletes a permission after revoking it from every role; returns the roles it was revoked from. */
export async function deletePermission(trx: CoreTrx, id: number) {
  const revoked = await trx
    .deleteFrom('role_permissions')
    .where('permission_id', '=', id)
    .returning('role_id')
    .execute()
  await trx.deleteFrom('permissions').where('id', '=', id).execute()
  return revoked
}
