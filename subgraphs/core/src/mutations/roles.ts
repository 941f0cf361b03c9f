import {
  badUserInput,
  checkEnum,
  checkString,
  inTransaction,
  isPermissionName,
  lockRow,
  notFound,
  PERMISSION_ACTIONS,
  PERMISSION_RESOURCES,
  recordAudit,
  requireSomeField,
  updateAudited,
} from '@pm/service-kit'
import { sql } from 'kysely'
import { assertMayGive } from '../auth/permissions'
import type { Context } from '../context'
import { toPermission, toRole } from '../db/mappers'
import {
  type CoreTrx,
  deletePermission,
  deleteRole,
  grantPermission,
  insertPermission,
  insertRole,
  renameRoleOnUsers,
  revokePermission,
} from '../db/writes'
import type { MutationResolvers } from '../generated/graphql'
import { normalizeRoleName } from '../validation'
import { checkFlag, conflict, withInputFields } from './shared'

const MAX_DESCRIPTION = 1_000

const description = (value: string | null | undefined) =>
  value === undefined ? undefined : checkString('input.description', value, { max: MAX_DESCRIPTION })

async function lockRole(trx: CoreTrx, id: number, field = 'id') {
  const row = await lockRow(trx, 'roles', id)
  if (!row) throw notFound(`${field}: no role has this id`, { field })
  return row
}

async function findPermission(trx: CoreTrx, id: number, field = 'id') {
  const row = await trx.selectFrom('permissions').selectAll().where('id', '=', id).executeTakeFirst()
  if (!row) throw notFound(`${field}: no permission has this id`, { field })
  return row
}

async function assertRoleNameFree(trx: CoreTrx, name: string, exceptId?: number) {
  let query = trx.selectFrom('roles').select('id').where('name', '=', name)
  if (exceptId !== undefined) query = query.where('id', '<>', exceptId)
  if (await query.executeTakeFirst()) throw conflict('input.name', `a role named '${name}' already exists`)
}

/**
 * Grant or revoke; both are idempotent (the second call changes and audits nothing). The caller gives or
 * takes back only a permission they hold.
 */
function setGrant(roleId: number, permissionId: number, granted: boolean, ctx: Context) {
  return inTransaction(ctx, async (trx) => {
    const role = await lockRole(trx, roleId, 'roleId')
    const permission = await findPermission(trx, permissionId, 'permissionId')
    // A row outside the vocabulary (made before it was enforced) may still be taken back, never given.
    if (granted || isPermissionName(permission.name)) {
      assertMayGive(ctx.caller, [permission.name], 'permissionId')
    }
    const changed = granted
      ? await grantPermission(trx, roleId, permissionId)
      : await revokePermission(trx, roleId, permissionId)
    if (changed.length > 0) {
      await recordAudit(trx, {
        action: granted ? 'grant' : 'revoke',
        entityType: 'role',
        entityId: String(roleId),
        userId: ctx.caller.userId,
        changes: { role: role.name, permission: toPermission(permission) },
      })
    }
    return toRole(role)
  })
}

export const roleMutations = {
  createRole: (_, { input }, ctx) => {
    const name = normalizeRoleName('input.name', input.name)
    const values = {
      name,
      description: description(input.description) ?? null,
      is_active: input.isActive ?? true,
    }
    return withInputFields(
      inTransaction(ctx, async (trx) => {
        await assertRoleNameFree(trx, name)
        const role = toRole(await insertRole(trx, values))
        await recordAudit(trx, {
          action: 'create',
          entityType: 'role',
          entityId: String(role.id),
          userId: ctx.caller.userId,
          changes: { after: role },
        })
        return role
      }),
      { name: 'input.name' },
    )
  },

  /**
   * Renaming a role renames it on its users too (users.role holds the name); a deactivated role stays
   * on its users but can no longer be given.
   */
  updateRole: (_, { id, input }, ctx) => {
    requireSomeField('input', input)
    if (input.name === null) throw badUserInput('input.name cannot be null', { field: 'input.name' })
    const name = input.name === undefined ? undefined : normalizeRoleName('input.name', input.name)
    const set = Object.fromEntries(
      Object.entries({
        name,
        description: description(input.description),
        is_active: checkFlag('input.isActive', input.isActive),
      }).filter(([, v]) => v !== undefined),
    )
    return withInputFields(
      inTransaction(ctx, async (trx) => {
        const { row } = await updateAudited(trx, {
          table: 'roles',
          id,
          notFound: () => notFound('id: no role has this id', { field: 'id' }),
          values: async (before) => {
            if (name !== undefined && name !== before.name) await assertRoleNameFree(trx, name, id)
            return set
          },
          view: toRole,
          // users.role holds the name: a renamed role is renamed on its users.
          afterUpdate: async (row, before) => {
            if (row.name === before.name) return undefined
            const usersRenamed = await renameRoleOnUsers(trx, before.name, row.name)
            return usersRenamed ? { usersRenamed } : undefined
          },
          audit: { entityType: 'role', userId: ctx.caller.userId },
        })
        return toRole(row)
      }),
      { name: 'input.name' },
    )
  },

  /** Refused while users still have the role; its grants go with it. Returns the role as it was. */
  deleteRole: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const role = await lockRole(trx, id)
      const holders = await trx
        .selectFrom('users')
        .select(sql<string>`count(*)`.as('n'))
        .where('role', '=', role.name)
        .executeTakeFirstOrThrow()
      if (Number(holders.n) > 0) {
        throw conflict(
          'id',
          `${holders.n} user(s) still have role '${role.name}'; give them another role first`,
        )
      }
      const permissions = await deleteRole(trx, id)
      const deleted = { ...toRole(role), permissions: permissions.map(toPermission) }
      await recordAudit(trx, {
        action: 'delete',
        entityType: 'role',
        entityId: String(id),
        userId: ctx.caller.userId,
        changes: { before: deleted },
      })
      return deleted
    }),

  /**
   * Permissions are the vocabulary's (`<resource>:<action>`, seeded by the migrations): this recreates one
   * that was deleted. The caller must hold it.
   */
  createPermission: (_, { input }, ctx) => {
    const resource = checkEnum('input.resource', input.resource, PERMISSION_RESOURCES)
    const action = checkEnum('input.action', input.action, PERMISSION_ACTIONS)
    const name = `${resource}:${action}`
    if (input.name != null && input.name.trim() !== name) {
      throw badUserInput(`input.name must be ${name} (<resource>:<action>) or be left out`, {
        field: 'input.name',
      })
    }
    assertMayGive(ctx.caller, [name], 'input')
    return withInputFields(
      inTransaction(ctx, async (trx) => {
        const taken = await trx
          .selectFrom('permissions')
          .select('id')
          .where('name', '=', name)
          .executeTakeFirst()
        if (taken)
          throw conflict('input.name', `a permission named '${name}' already exists (id ${taken.id})`)
        const permission = toPermission(await insertPermission(trx, { name, resource, action }))
        await recordAudit(trx, {
          action: 'create',
          entityType: 'permission',
          entityId: String(permission.id),
          userId: ctx.caller.userId,
          changes: { after: permission },
        })
        return permission
      }),
      { name: 'input.name' },
    )
  },

  /** Revokes it from every role that holds it, then deletes it; returns it as it was. The caller must hold it. */
  deletePermission: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const permission = toPermission(await findPermission(trx, id))
      if (isPermissionName(permission.name)) assertMayGive(ctx.caller, [permission.name], 'id')
      const revoked = await deletePermission(trx, id)
      await recordAudit(trx, {
        action: 'delete',
        entityType: 'permission',
        entityId: String(id),
        userId: ctx.caller.userId,
        changes: { before: permission, revokedFromRoleIds: revoked.map((r) => r.role_id) },
      })
      return permission
    }),

  grantPermission: (_, args, ctx) => setGrant(args.roleId, args.permissionId, true, ctx),
  revokePermission: (_, args, ctx) => setGrant(args.roleId, args.permissionId, false, ctx),
} satisfies MutationResolvers
