import { randomBytes } from 'node:crypto'
import {
  badUserInput,
  ErrorCode,
  hashPassword,
  inTransaction,
  provenAsOwn,
  recordAudit,
  userError,
  verifyPassword,
} from '@pm/service-kit'
import { permissionsOfUser } from '../auth/permissions'
import { issueSession, lockRefreshToken, revokeFamily, revokeUserSessions } from '../auth/sessions'
import {
  markAttemptSucceeded,
  openLoginAttempt,
  pruneAuthTables,
  storedAddress,
  throttledMessage,
} from '../auth/throttle'
import type { Context } from '../context'
import { toUser } from '../db/mappers'
import { USER_COLUMNS } from '../db/queries'
import { markRefreshTokenRotated, recordLogin } from '../db/writes'
import { coreEnvironment } from '../environment'
import type { MutationResolvers } from '../generated/graphql'
import { normalizeEmail } from '../validation'

/** Longer passwords are refused before hashing (scrypt's cost grows with the input); the policy allows 128. */
export const MAX_LOGIN_PASSWORD = 1_024

export const WRONG_CREDENTIALS = 'email or password is wrong'
export const ACCOUNT_DISABLED = 'this account is disabled; ask an administrator to reactivate it'
const INVALID_REFRESH = 'the refresh token is not valid; sign in again'

const unauthenticated = (message: string, extensions?: Record<string, unknown>) =>
  userError(ErrorCode.UNAUTHENTICATED, message, extensions)

let dummyHash: Promise<string> | undefined

/**
 * A hash to check unknown emails against, so they take as long as a wrong password (same scrypt cost).
 * Made once per process; module.onStart warms it up.
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(24).toString('base64url'))
  return dummyHash
}

async function userPayload(ctx: Context, userId: string) {
  const row = await ctx.db
    .selectFrom('users')
    .select(USER_COLUMNS)
    .where('id', '=', userId)
    .executeTakeFirst()
  // The refresh token proved who this is: the payload shows the user their own account.
  return row ? provenAsOwn(toUser(row)) : null
}

export const authMutations = {
  /**
   * Sign-in. An unknown email and a wrong password give the same error after the same work (a scrypt check
   * against a dummy hash); the disabled-account message only comes after a correct password. Throttled
   * by account and by client address (see auth/throttle.ts); the address is recorded with the attempt,
   * the session and users.last_login_ip.
   */
  login: async (_, { email, password }, ctx) => {
    const normalized = normalizeEmail('email', email)
    if (password.length > MAX_LOGIN_PASSWORD) {
      throw badUserInput(`password is longer than ${MAX_LOGIN_PASSWORD} characters`, { field: 'password' })
    }
    const env = coreEnvironment(ctx.env)
    await pruneAuthTables(ctx.db)
    const address = storedAddress(ctx.client.address)
    const gate = await openLoginAttempt(ctx.db, normalized, address)
    if ('retryAfterSeconds' in gate) {
      throw unauthenticated(throttledMessage(gate), {
        reason: 'TOO_MANY_ATTEMPTS',
        scope: gate.scope,
        retryAfter: gate.retryAfterSeconds,
      })
    }
    const user = await ctx.db
      .selectFrom('users')
      .select(['id', 'hashed_password', 'is_active'])
      .where('email', '=', normalized)
      .executeTakeFirst()
    const matches = await verifyPassword(password, user?.hashed_password ?? (await dummyPasswordHash()))
    if (!user || !matches || user.is_active === false) {
      const reason = !user || !matches ? 'wrong_credentials' : 'account_disabled'
      await inTransaction(ctx, (trx) =>
        recordAudit(trx, {
          action: 'login_failed',
          entityType: 'user',
          entityId: user?.id ?? null,
          userId: null,
          changes: { email: normalized, reason, address },
        }),
      )
      throw unauthenticated(reason === 'account_disabled' ? ACCOUNT_DISABLED : WRONG_CREDENTIALS)
    }
    return inTransaction(ctx, async (trx) => {
      await markAttemptSucceeded(trx, gate.attemptId)
      const granted = await permissionsOfUser(trx, user.id)
      const row = await recordLogin(trx, user.id, address)
      // Deactivated or deleted between the check and now.
      if (!row || !granted) throw unauthenticated(ACCOUNT_DISABLED)
      const session = await issueSession(trx, env, user.id, granted, undefined, ctx.client)
      await recordAudit(trx, {
        action: 'login',
        entityType: 'user',
        entityId: user.id,
        userId: user.id,
        changes: { sessionId: session.familyId, address },
      })
      // The password proved who this is: the payload shows the user their own account.
      return { ...session, user: provenAsOwn(toUser(row)) }
    })
  },

  /**
   * Trades a refresh token for a new pair (rotation). A token already rotated or revoked revokes its
   * whole session; an expired one, or one of a user since disabled, is refused.
   */
  refreshSession: async (_, { refreshToken }, ctx) => {
    const env = coreEnvironment(ctx.env)
    const outcome = await inTransaction(ctx, async (trx) => {
      const row = await lockRefreshToken(trx, refreshToken)
      if (!row) return { refused: INVALID_REFRESH }
      if (row.revoked_at) {
        // Committed, not rolled back with the error: the refusal itself is what protects the session.
        const revoked = await revokeFamily(trx, row.family_id)
        if (revoked > 0) {
          await recordAudit(trx, {
            action: 'session_reuse',
            entityType: 'user',
            entityId: row.user_id,
            userId: row.user_id,
            changes: { sessionId: row.family_id, revokedTokens: revoked },
          })
        }
        return {
          refused: 'the refresh token was already used; its session is revoked, sign in again',
        }
      }
      if (row.expires_at.getTime() <= Date.now())
        return { refused: 'the refresh token expired; sign in again' }
      const granted = await permissionsOfUser(trx, row.user_id)
      if (!granted?.isActive) {
        await revokeFamily(trx, row.family_id)
        return { refused: ACCOUNT_DISABLED }
      }
      const session = await issueSession(trx, env, row.user_id, granted, row.family_id, ctx.client)
      await markRefreshTokenRotated(trx, row.id, session.id)
      return { session, userId: row.user_id }
    })
    if (outcome.refused !== undefined) throw unauthenticated(outcome.refused)
    const user = await userPayload(ctx, outcome.userId)
    if (!user) throw unauthenticated(INVALID_REFRESH)
    return { ...outcome.session, user }
  },

  /** Ends the session the refresh token belongs to; false when it was unknown or already ended. */
  logout: (_, { refreshToken }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const row = await lockRefreshToken(trx, refreshToken)
      if (!row) return false
      const revoked = await revokeFamily(trx, row.family_id)
      if (revoked === 0) return false
      await recordAudit(trx, {
        action: 'logout',
        entityType: 'user',
        entityId: row.user_id,
        userId: ctx.caller.userId ?? row.user_id,
        changes: { sessionId: row.family_id },
      })
      return true
    }),

  /** Ends every session of the signed-in user; returns how many. Their access tokens stop within seconds. */
  logoutEverywhere: (_, __, ctx) => {
    const { caller } = ctx
    // Public in the schema only because it needs no permission: it acts on the caller's own sessions.
    if (caller.kind !== 'user' || !caller.userId) {
      throw unauthenticated('logoutEverywhere signs out a signed-in user; sign in first')
    }
    const userId = caller.userId
    return inTransaction(ctx, async (trx) => {
      const sessions = await revokeUserSessions(trx, userId)
      if (sessions > 0) {
        await recordAudit(trx, {
          action: 'logout_everywhere',
          entityType: 'user',
          entityId: userId,
          userId,
          changes: { sessions },
        })
      }
      return sessions
    })
  },
} satisfies MutationResolvers
