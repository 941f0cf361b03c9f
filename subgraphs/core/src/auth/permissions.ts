import type { DB } from '@pm/db/types/core'
import { type Caller, ErrorCode, hasPermission, userError } from '@pm/service-kit'
import { type Kysely, sql, type Transaction } from 'kysely'

/**
 * What a user may do, as put in their access token at login and refresh (so a change of role or grants
 * applies at the next refresh, within the access token's 15 minutes):
 *   - the permissions of the role named in users.role (roles → role_permissions → permissions.name,
 *     `resource:action`); a deactivated role still grants (it stays on its users, it can only no longer
 *     be given);
 *   - ∪ users.permissions JSONB: an array of permission strings, or an object whose keys set to true are
 *     permission strings ({ "product:update": true }); any other shape or key (e.g. the demo partner's
 *     { scopes: [...] }) grants nothing;
 *   - ∪ ADMIN_PERMISSIONS when users.is_admin (is_admin is not a superuser: it manages people, roles,
 *     keys and settings, nothing else);
 *   - superuser = users.is_superuser: every permission (hasPermission), whatever the list says.
 */
export interface UserPermissions {
  permissions: string[]
  superuser: boolean
}

export const ADMIN_PERMISSIONS = ['user:manage', 'role:manage', 'apikey:manage', 'settings:manage'] as const

/** `resource:action` (or the wildcard `*:*`); anything else in users.permissions is ignored. */
const PERMISSION = /^(?:[a-z][a-z0-9_.-]{0,99}|\*):(?:[a-z][a-z0-9_-]{0,49}|\*)$/

export const isPermissionName = (value: unknown): value is string =>
  typeof value === 'string' && PERMISSION.test(value)

/** The permission strings a users.permissions JSONB value grants. */
export function permissionsFromJson(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter(isPermissionName)
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .filter(([key, granted]) => granted === true && isPermissionName(key))
      .map(([key]) => key)
  }
  return []
}

export interface PermissionSource {
  rolePermissions: readonly string[]
  userPermissions: unknown
  isAdmin: boolean | null
  isSuperuser: boolean | null
}

export function combinePermissions(source: PermissionSource): UserPermissions {
  const all = new Set<string>([...source.rolePermissions, ...permissionsFromJson(source.userPermissions)])
  if (source.isAdmin) for (const p of ADMIN_PERMISSIONS) all.add(p)
  return { permissions: [...all].sort(), superuser: source.isSuperuser === true }
}

type CoreDb = Kysely<DB> | Transaction<DB>

/** One statement: the user's flags and their role's permission names. Undefined for an unknown user. */
export async function permissionsOfUser(
  db: CoreDb,
  userId: string,
): Promise<(UserPermissions & { isActive: boolean }) | undefined> {
  const row = await db
    .selectFrom('users')
    .leftJoin('roles', 'roles.name', 'users.role')
    .leftJoin('role_permissions', 'role_permissions.role_id', 'roles.id')
    .leftJoin('permissions', 'permissions.id', 'role_permissions.permission_id')
    .select([
      'users.is_active',
      'users.is_admin',
      'users.is_superuser',
      'users.permissions',
      sql<
        string[]
      >`coalesce(array_agg(permissions.name) filter (where permissions.name is not null), '{}')`.as(
        'role_permissions',
      ),
    ])
    .where('users.id', '=', userId)
    .groupBy('users.id')
    .executeTakeFirst()
  if (!row) return undefined
  return {
    ...combinePermissions({
      rolePermissions: row.role_permissions,
      userPermissions: row.permissions,
      isAdmin: row.is_admin,
      isSuperuser: row.is_superuser,
    }),
    isActive: row.is_active !== false,
  }
}

/**
 * A partner key's permissions: its scopes, each kept only while its owner holds it (a key never does more
 * than the person it belongs to; losing a permission takes it from their keys at once). `*:*` stands for
 * everything the owner holds (`*:*` itself for a superuser owner). Keys are never superusers.
 */
export function keyPermissions(scopes: readonly string[], owner: UserPermissions): string[] {
  const ownerCaller: Caller = {
    kind: 'user',
    userId: null,
    apiKeyId: null,
    permissions: owner.permissions,
    superuser: owner.superuser,
  }
  const granted = new Set<string>()
  for (const scope of scopes) {
    if (scope === '*:*') {
      if (owner.superuser) granted.add('*:*')
      else for (const p of owner.permissions) granted.add(p)
    } else if (hasPermission(ownerCaller, scope)) granted.add(scope)
  }
  return [...granted].sort()
}

/**
 * Who may change what grants power: setting is_superuser takes a superuser; the role, is_admin and the
 * user's own permissions take `user:manage`, and nobody hands out a permission they do not hold
 * themselves. `user:update` alone edits profiles, never privileges.
 */
export function assertMayGrant(
  caller: Caller,
  change: { isSuperuser?: unknown; isAdmin?: unknown; role?: unknown; permissions?: unknown },
): void {
  if (change.isSuperuser !== undefined && !caller.superuser) {
    throw userError(ErrorCode.FORBIDDEN, 'only a superuser may set isSuperuser', {
      field: 'input.isSuperuser',
    })
  }
  for (const [key, value] of [
    ['isAdmin', change.isAdmin],
    ['role', change.role],
    ['permissions', change.permissions],
  ] as const) {
    if (value !== undefined && !hasPermission(caller, 'user:manage')) {
      throw userError(ErrorCode.FORBIDDEN, `changing ${key} requires permission user:manage`, {
        field: `input.${key}`,
        permission: 'user:manage',
      })
    }
  }
  if (change.isAdmin === true) {
    for (const p of ADMIN_PERMISSIONS) {
      if (!hasPermission(caller, p)) {
        throw userError(ErrorCode.FORBIDDEN, `making an admin requires holding ${p}`, {
          field: 'input.isAdmin',
        })
      }
    }
  }
  for (const p of permissionsFromJson(change.permissions ?? null)) {
    if (!hasPermission(caller, p)) {
      throw userError(ErrorCode.FORBIDDEN, `cannot grant ${p}: the caller does not hold it`, {
        field: 'input.permissions',
        permission: p,
      })
    }
  }
}
