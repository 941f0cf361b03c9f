import {
  badUserInput,
  checkJsonObject,
  checkString,
  ErrorCode,
  hashPassword,
  inTransaction,
  notFound,
  recordAudit,
  requireSomeField,
  updateAudited,
  userError,
  verifyPassword,
} from '@pm/service-kit'
import {
  assertMayReach,
  assertMayTouch,
  assertPrivilegeFields,
  combinePermissions,
  permissionsOfUser,
  rolePermissionNames,
  type UserPermissions,
} from '../auth/permissions'
import { revokeUserSessions } from '../auth/sessions'
import { markAttemptSucceeded, openLoginAttempt, throttledMessage } from '../auth/throttle'
import type { Context } from '../context'
import { toUser } from '../db/mappers'
import { USER_COLUMNS } from '../db/queries'
import { type CoreTrx, insertUser, replacePasswordHash, shareLockRoleByName } from '../db/writes'
import type { MutationResolvers, UpdateUserInput } from '../generated/graphql'
import { checkPassword, checkUsername, normalizeEmail, normalizeRoleName } from '../validation'
import { MAX_LOGIN_PASSWORD } from './auth'
import { checkFlag, conflict, notNull, withInputFields } from './shared'

const DEFAULT_ROLE = 'user'
const MAX_PERMISSIONS_BYTES = 16_384
// A concurrent insert that slipped past the checks comes back from PostgreSQL naming the column.
const USER_FIELDS = { email: 'input.email', username: 'input.username' }

/** users.role must name an active row of roles (a VARCHAR, not a foreign key: checked here). */
async function checkRole(trx: CoreTrx, field: string, value: string): Promise<string> {
  const name = normalizeRoleName(field, value)
  // Shared lock: a concurrent deleteRole waits, then sees this user and refuses.
  const role = await shareLockRoleByName(trx, name)
  if (!role) throw notFound(`${field}: no role is named '${name}'; create it first`, { field })
  if (role.is_active === false) {
    throw badUserInput(`${field}: role '${name}' is inactive; reactivate it or choose another`, { field })
  }
  return name
}

async function assertFree(trx: CoreTrx, column: 'email' | 'username', value: string, exceptId?: string) {
  let query = trx.selectFrom('users').select('id').where(column, '=', value)
  if (exceptId) query = query.where('id', '<>', exceptId)
  if (await query.executeTakeFirst()) {
    throw conflict(USER_FIELDS[column], `'${value}' is already used by another user`)
  }
}

const userNotFound = () => notFound('no user has this id', { field: 'id' })

/** What the account holds now (its role's, its own grants, admin and superuser flags). */
async function privilegesOf(db: CoreTrx | Context['db'], id: string): Promise<UserPermissions> {
  const privileges = await permissionsOfUser(db, id)
  if (!privileges) throw notFound('no user has this id', { field: 'id' })
  return privileges
}

/** The optional profile fields shared by create and update, validated (undefined = not given). */
function profileValues(input: UpdateUserInput) {
  return {
    username: input.username === undefined ? undefined : checkUsername('input.username', input.username),
    first_name:
      input.firstName === undefined
        ? undefined
        : checkString('input.firstName', input.firstName, { max: 100 }),
    last_name:
      input.lastName === undefined ? undefined : checkString('input.lastName', input.lastName, { max: 100 }),
    permissions:
      input.permissions === undefined
        ? undefined
        : JSON.stringify(
            checkJsonObject(
              'input.permissions',
              notNull('input.permissions', input.permissions),
              MAX_PERMISSIONS_BYTES,
            ),
          ),
  }
}

const withoutUndefined = <T extends Record<string, unknown>>(values: T) =>
  Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>

/** Sets the active flag; doing it again changes and audits nothing. */
function setActive(id: string, active: boolean, ctx: Context) {
  return inTransaction(ctx, async (trx) => {
    const { row } = await updateAudited(trx, {
      table: 'users',
      id,
      columns: USER_COLUMNS,
      notFound: userNotFound,
      values: async (before) => {
        assertMayReach(ctx.caller, active ? 'reactivate' : 'deactivate', await privilegesOf(trx, id))
        return (before.is_active ?? true) === active ? {} : { is_active: active }
      },
      // A disabled user's sessions end now (refresh would refuse them anyway; this also frees the rows).
      check: () => (active ? undefined : revokeUserSessions(trx, id)),
      view: toUser,
      audit: { entityType: 'user', action: active ? 'reactivate' : 'deactivate', userId: ctx.caller.userId },
    })
    return toUser(row)
  })
}

/** Stores a new hash when the stored one is still `expected` (a concurrent change wins, never lost). */
async function storePassword(
  ctx: Context,
  id: string,
  expected: string,
  password: string,
  action: string,
): Promise<ReturnType<typeof toUser>> {
  const hashed = await hashPassword(password)
  return inTransaction(ctx, async (trx) => {
    const row = await replacePasswordHash(trx, id, expected, hashed)
    if (!row) throw conflict('id', 'the password was changed meanwhile; try again')
    // A new password usually answers a leak: whoever holds a session (or its access token) signs in again.
    await revokeUserSessions(trx, id)
    await recordAudit(trx, {
      action,
      entityType: 'user',
      entityId: id,
      userId: ctx.caller.userId,
      // Never the password or its hash: only that it changed.
      changes: { after: { passwordChanged: true } },
    })
    return toUser(row)
  })
}

async function storedCredentials(ctx: Context, id: string) {
  const row = await ctx.db
    .selectFrom('users')
    .select(['hashed_password', 'email'])
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw notFound('no user has this id', { field: 'id' })
  return row
}

export const userMutations = {
  createUser: async (_, { input }, ctx) => {
    assertPrivilegeFields(ctx.caller, {
      ...(input.isSuperuser ? { isSuperuser: true } : {}),
      ...(input.isAdmin ? { isAdmin: true } : {}),
      ...(input.role != null ? { role: input.role } : {}),
      ...(input.permissions != null ? { permissions: input.permissions } : {}),
    })
    const email = normalizeEmail('input.email', input.email)
    const password = checkPassword('input.password', input.password)
    const profile = withoutUndefined(profileValues(input))
    const roleName = input.role == null ? DEFAULT_ROLE : input.role
    normalizeRoleName('input.role', roleName)
    // scrypt takes tens of milliseconds: hashed before a connection is taken.
    const hashed = await hashPassword(password)
    return withInputFields(
      inTransaction(ctx, async (trx) => {
        const role = await checkRole(trx, 'input.role', roleName)
        // Nobody makes an account that holds more than they do.
        assertMayReach(
          ctx.caller,
          'create',
          combinePermissions({
            rolePermissions: await rolePermissionNames(trx, role),
            userPermissions: input.permissions ?? {},
            isAdmin: input.isAdmin ?? false,
            isSuperuser: input.isSuperuser ?? false,
          }),
        )
        await assertFree(trx, 'email', email)
        if (profile.username) await assertFree(trx, 'username', profile.username)
        const row = await insertUser(trx, {
          ...profile,
          email,
          hashed_password: hashed,
          role,
          is_active: input.isActive ?? true,
          is_verified: input.isVerified ?? false,
          is_admin: input.isAdmin ?? false,
          is_superuser: input.isSuperuser ?? false,
        })
        const user = toUser(row)
        await recordAudit(trx, {
          action: 'create',
          entityType: 'user',
          entityId: row.id,
          userId: ctx.caller.userId,
          changes: { after: user },
        })
        return user
      }),
      USER_FIELDS,
    )
  },

  updateUser: (_, { id, input }, ctx) => {
    requireSomeField('input', input)
    assertPrivilegeFields(ctx.caller, {
      isSuperuser: input.isSuperuser,
      isAdmin: input.isAdmin,
      role: input.role,
      permissions: input.permissions,
    })
    const email =
      input.email === undefined
        ? undefined
        : normalizeEmail('input.email', notNull('input.email', input.email)!)
    const profile = profileValues(input)
    const flags = {
      is_verified: checkFlag('input.isVerified', input.isVerified),
      is_admin: checkFlag('input.isAdmin', input.isAdmin),
      is_superuser: checkFlag('input.isSuperuser', input.isSuperuser),
    }
    const roleName = input.role === undefined ? undefined : notNull('input.role', input.role)!
    if (roleName !== undefined) normalizeRoleName('input.role', roleName)
    return withInputFields(
      inTransaction(ctx, async (trx) => {
        const { row } = await updateAudited(trx, {
          table: 'users',
          id,
          columns: USER_COLUMNS,
          notFound: userNotFound,
          values: async (before) => {
            const role = roleName === undefined ? undefined : await checkRole(trx, 'input.role', roleName)
            const current = await privilegesOf(trx, id)
            const privileged = [input.role, input.permissions, input.isAdmin, input.isSuperuser].some(
              (v) => v !== undefined,
            )
            if (privileged) {
              // Both what the account holds and what it will hold must be the caller's own.
              assertMayReach(
                ctx.caller,
                'change the privileges of',
                current,
                combinePermissions({
                  rolePermissions: await rolePermissionNames(trx, role ?? before.role),
                  userPermissions: input.permissions ?? before.permissions,
                  isAdmin: input.isAdmin ?? before.is_admin,
                  isSuperuser: input.isSuperuser ?? before.is_superuser,
                }),
              )
            }
            // The e-mail is a credential (sign-in, password resets): changing it reaches the account.
            if (email !== undefined && email !== before.email) {
              assertMayReach(ctx.caller, 'change the e-mail of', current)
            }
            assertMayTouch(ctx.caller, 'update', current)
            if (email !== undefined && email !== before.email) await assertFree(trx, 'email', email, id)
            if (profile.username && profile.username !== before.username) {
              await assertFree(trx, 'username', profile.username, id)
            }
            return withoutUndefined({ email, role, ...profile, ...flags })
          },
          view: toUser,
          audit: { entityType: 'user', userId: ctx.caller.userId },
        })
        return toUser(row)
      }),
      USER_FIELDS,
    )
  },

  /**
   * The user changes their own password: the current one must match. Its check is throttled like
   * sign-ins (by account and by client address, the same counts); another user's password takes holding
   * all the account holds. Every session of the account ends (sign in again with the new password).
   */
  changePassword: async (_, { id, currentPassword, newPassword }, ctx) => {
    checkPassword('newPassword', newPassword)
    if (newPassword === currentPassword) {
      throw badUserInput('newPassword must differ from the current password', { field: 'newPassword' })
    }
    if (currentPassword.length > MAX_LOGIN_PASSWORD) {
      throw badUserInput("currentPassword is not the user's current password", { field: 'currentPassword' })
    }
    const own = ctx.caller.kind === 'user' && ctx.caller.userId === id
    if (!own) assertMayReach(ctx.caller, 'change the password of', await privilegesOf(ctx.db, id))
    const { hashed_password: stored, email } = await storedCredentials(ctx, id)
    const gate = await openLoginAttempt(ctx.db, email, ctx.client.address)
    if ('retryAfterSeconds' in gate) {
      throw userError(ErrorCode.FORBIDDEN, throttledMessage(gate), {
        field: 'currentPassword',
        reason: 'TOO_MANY_ATTEMPTS',
        scope: gate.scope,
        retryAfter: gate.retryAfterSeconds,
      })
    }
    if (!(await verifyPassword(currentPassword, stored))) {
      throw badUserInput("currentPassword is not the user's current password", { field: 'currentPassword' })
    }
    await markAttemptSucceeded(ctx.db, gate.attemptId)
    return storePassword(ctx, id, stored, newPassword, 'password_change')
  },

  /** An administrator sets a new password (reset); the old one is not asked for. */
  setUserPassword: async (_, { id, password }, ctx) => {
    checkPassword('password', password)
    assertMayReach(ctx.caller, 'reset the password of', await privilegesOf(ctx.db, id))
    return storePassword(
      ctx,
      id,
      (await storedCredentials(ctx, id)).hashed_password,
      password,
      'password_reset',
    )
  },

  deactivateUser: (_, { id }, ctx) => setActive(id, false, ctx),
  reactivateUser: (_, { id }, ctx) => setActive(id, true, ctx),
} satisfies MutationResolvers
