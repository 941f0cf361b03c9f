import type { DB } from '@pm/db/types/core'
import {
  badUserInput,
  type Caller,
  ErrorCode,
  hasPermission,
  isPermissionName,
  PERMISSION_RESOURCES,
  userError,
} from '@pm/service-kit'
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

/**
 * The permission strings a users.permissions JSONB value grants: names of the vocabulary only (anything
 * else, a wildcard included, grants nothing).
 */
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
  const all = new Set<string>([
    ...source.rolePermissions.filter(isPermissionName),
    ...permissionsFromJson(source.userPermissions),
  ])
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

/** What `*:*` in a key's scopes stands for when its owner is a superuser: every resource's manage. */
export const ALL_RESOURCES_MANAGE: readonly string[] = PERMISSION_RESOURCES.map((r) => `${r}:manage`)

/**
 * A partner key's permissions: its scopes, each kept only while its owner holds it (a key never does more
 * than the person it belongs to; losing a permission takes it from their keys at once). The scope `*:*`
 * stands for everything the owner holds (for a superuser owner, every resource's manage permission). Keys
 * are never superusers.
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
      for (const p of owner.superuser ? ALL_RESOURCES_MANAGE : owner.permissions) granted.add(p)
    } else if (hasPermission(ownerCaller, scope)) granted.add(scope)
  }
  return [...granted].sort()
}

/**
 * The one rule for everything that moves a privilege (a user's role, grants, admin and superuser flags, a
 * role's permissions, the permissions catalogue, API key scopes) or reaches an account's access (its
 * e-mail, password, active state, keys): nobody gives or reaches what it does not hold itself.
 *   - covers(caller, privileges): the caller holds every permission of `privileges`; a superuser's are
 *     covered by a superuser only (only a superuser touches a superuser);
 *   - assertMayGive: every permission given (or taken back) is a name of the vocabulary that the caller
 *     holds;
 *   - assertMayReach: to change an account's credentials, access or privileges, the caller covers what the
 *     account holds, before and after the change;
 *   - assertMayTouch: any other change of an account (its profile) only needs the caller not to be below
 *     a superuser it touches.
 */
export function covers(caller: Caller, privileges: UserPermissions): boolean {
  if (caller.superuser) return true
  if (privileges.superuser) return false
  return privileges.permissions.every((p) => hasPermission(caller, p))
}

const forbidden = (message: string, extensions: Record<string, unknown> = {}) =>
  userError(ErrorCode.FORBIDDEN, message, extensions)

/** Each permission must be one of the vocabulary (BAD_USER_INPUT) that the caller holds (FORBIDDEN). */
export function assertMayGive(caller: Caller, permissions: readonly string[], field: string): void {
  for (const permission of permissions) {
    if (!isPermissionName(permission)) {
      throw badUserInput(
        `${field}: '${permission}' is not a permission; names are resource:action (see the permissions query)`,
        { field },
      )
    }
    if (!hasPermission(caller, permission)) {
      throw forbidden(`${field}: you cannot give ${permission}, you do not hold it`, {
        field,
        permission,
      })
    }
  }
}

/** `what` an account ("reset the password of") only when the caller holds all it holds (and will hold). */
export function assertMayReach(
  caller: Caller,
  what: string,
  ...states: (UserPermissions | undefined)[]
): void {
  for (const state of states) {
    if (!state || covers(caller, state)) continue
    if (state.superuser) throw forbidden(`only a superuser may ${what} a superuser`)
    const missing = state.permissions.find((p) => !hasPermission(caller, p))
    throw forbidden(
      `you may not ${what} an account holding ${missing}: you do not hold it yourself`,
      missing ? { permission: missing } : {},
    )
  }
}

/** Profile changes: only a superuser touches a superuser. */
export function assertMayTouch(caller: Caller, what: string, target: UserPermissions | undefined): void {
  if (target?.superuser && !caller.superuser) throw forbidden(`only a superuser may ${what} a superuser`)
}

/**
 * The privilege fields of a user's input: isSuperuser takes a superuser; role, isAdmin and permissions
 * take `user:manage` (`user:update` alone edits profiles, never privileges); every name in permissions
 * must be of the vocabulary.
 */
export function assertPrivilegeFields(
  caller: Caller,
  change: { isSuperuser?: unknown; isAdmin?: unknown; role?: unknown; permissions?: unknown },
): void {
  if (change.isSuperuser !== undefined && !caller.superuser) {
    throw forbidden('only a superuser may set isSuperuser', { field: 'input.isSuperuser' })
  }
  for (const [key, value] of [
    ['isAdmin', change.isAdmin],
    ['role', change.role],
    ['permissions', change.permissions],
  ] as const) {
    if (value !== undefined && !hasPermission(caller, 'user:manage')) {
      throw forbidden(`changing ${key} requires permission user:manage`, {
        field: `input.${key}`,
        permission: 'user:manage',
      })
    }
  }
  const grants = change.permissions
  if (grants && typeof grants === 'object' && !Array.isArray(grants)) {
    for (const [name, granted] of Object.entries(grants)) {
      if (granted === true) assertMayGive(caller, [name], 'input.permissions')
      else if (!isPermissionName(name) || typeof granted !== 'boolean') {
        throw badUserInput(
          `input.permissions: '${name}' must be a permission name (resource:action) set to true or false`,
          { field: 'input.permissions' },
        )
      }
    }
  }
}

/** The permission names of a role (by name), as the role grants them. */
export async function rolePermissionNames(db: CoreDb, role: string): Promise<string[]> {
  const rows = await db
    .selectFrom('roles')
    .innerJoin('role_permissions', 'role_permissions.role_id', 'roles.id')
    .innerJoin('permissions', 'permissions.id', 'role_permissions.permission_id')
    .select('permissions.name')
    .where('roles.name', '=', role)
    .execute()
  return rows.map((r) => r.name)
}
