import type { DB } from '@pm/db/types/core'
import { type Insertable, type Kysely, sql, type Transaction } from 'kysely'
import type { OperationRunRow } from '../operations/runs'
import { API_KEY_COLUMNS, USER_COLUMNS } from './queries'

/** The write statements of core's mutations; each runs inside the mutation's transaction. */
export type CoreTrx = Transaction<DB>

// ---------------------------------------------------------------- users

/** The role named `name`, share-locked: a concurrent deleteRole waits, then sees the new holder, refuses. */
export function shareLockRoleByName(trx: CoreTrx, name: string) {
  return trx
    .selectFrom('roles')
    .select(['name', 'is_active'])
    .where('name', '=', name)
    .forShare()
    .executeTakeFirst()
}

/** The user, share-locked (not deactivated or deleted until the transaction ends). */
export function shareLockUser(trx: CoreTrx, id: string) {
  return trx
    .selectFrom('users')
    .select(['id', 'is_active'])
    .where('id', '=', id)
    .forShare()
    .executeTakeFirst()
}

export function insertUser(trx: CoreTrx, values: Insertable<DB['users']>) {
  return trx.insertInto('users').values(values).returning(USER_COLUMNS).executeTakeFirstOrThrow()
}

/**
 * Stores a new password hash when the stored one is still `expected`; undefined when it changed meanwhile
 * (or the user is gone).
 */
export function replacePasswordHash(trx: CoreTrx, id: string, expected: string, hashed: string) {
  return trx
    .updateTable('users')
    .set({ hashed_password: hashed })
    .where('id', '=', id)
    .where('hashed_password', '=', expected)
    .returning(USER_COLUMNS)
    .executeTakeFirst()
}

/** Records a sign-in on an active user; undefined when the user was deactivated or deleted meanwhile. */
export function recordLogin(trx: CoreTrx, id: string, address: string | null) {
  return trx
    .updateTable('users')
    .set({ last_login: sql<Date>`localtimestamp`, last_login_ip: address })
    .where('id', '=', id)
    .where('is_active', 'is not', false)
    .returning(USER_COLUMNS)
    .executeTakeFirst()
}

// ---------------------------------------------------------------- sessions

/** A refresh token used: revoked, with the token that replaces it (rotation). */
export async function markRefreshTokenRotated(trx: CoreTrx, id: string, replacedBy: string) {
  await trx
    .updateTable('refresh_tokens')
    .set({ revoked_at: sql<Date>`localtimestamp`, replaced_by: replacedBy })
    .where('id', '=', id)
    .execute()
}

// ---------------------------------------------------------------- API keys

export function insertApiKey(trx: CoreTrx, values: Insertable<DB['api_keys']>) {
  return trx.insertInto('api_keys').values(values).returning(API_KEY_COLUMNS).executeTakeFirstOrThrow()
}

// ---------------------------------------------------------------- app settings

export interface AppSettingWrite {
  key: string
  /** The JSON text of the value. */
  value: string
  category: string
  /** Undefined keeps a stored row's description (null on a new row). */
  description: string | null | undefined
  /** Undefined keeps a stored row's flag (false on a new row). */
  isSecret: boolean | undefined
  /** The caller's user id, null for a service. */
  updatedBy: string | null
}

/**
 * Inserts the setting, or updates the stored one when something differs: value and category always,
 * description and is_secret when given. Returns the row written, undefined when nothing differed.
 */
export function upsertAppSetting(trx: CoreTrx, setting: AppSettingWrite) {
  const { description, isSecret } = setting
  return trx
    .insertInto('app_settings')
    .values({
      key: setting.key,
      value: setting.value,
      category: setting.category,
      description: description ?? null,
      is_secret: isSecret ?? false,
      // A caller whose user row is gone (deleted while their token lives on) leaves no FK to break.
      updated_by: setting.updatedBy
        ? sql<string | null>`(SELECT id FROM users WHERE id = ${setting.updatedBy})`
        : null,
    })
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet((eb) => ({
          value: eb.ref('excluded.value'),
          category: eb.ref('excluded.category'),
          updated_by: eb.ref('excluded.updated_by'),
          ...(description !== undefined ? { description: eb.ref('excluded.description') } : {}),
          ...(isSecret !== undefined ? { is_secret: eb.ref('excluded.is_secret') } : {}),
        }))
        // An identical setting is left alone: updated_at and the audit trail only move on a change.
        .where((eb) =>
          eb.or([
            eb('app_settings.value', 'is distinct from', eb.ref('excluded.value')),
            eb('app_settings.category', 'is distinct from', eb.ref('excluded.category')),
            ...(description !== undefined
              ? [eb('app_settings.description', 'is distinct from', eb.ref('excluded.description'))]
              : []),
            ...(isSecret !== undefined
              ? [eb('app_settings.is_secret', 'is distinct from', eb.ref('excluded.is_secret'))]
              : []),
          ]),
        ),
    )
    .returningAll()
    .executeTakeFirst()
}

/** Deletes the setting; returns it as it was, undefined when no setting has the key. */
export function deleteAppSetting(trx: CoreTrx, key: string) {
  return trx.deleteFrom('app_settings').where('key', '=', key).returningAll().executeTakeFirst()
}

// ---------------------------------------------------------------- operation runs

/**
 * Marks a pending or running run cancelled: a pending one finishes now, a running one stops after its
 * current step. Undefined when no run has the id or it already ended.
 */
export async function cancelOperationRun(db: Kysely<DB>, id: string) {
  return (await db
    .updateTable('operation_runs')
    .set({ status: 'cancelled', finished_at: sql`CASE WHEN status = 'pending' THEN NOW() END` })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'running'])
    .returningAll()
    .executeTakeFirst()) as OperationRunRow | undefined
}

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
