import { randomUUID } from 'node:crypto'
import type { DB } from '@pm/db/types/core'
import { newRefreshToken, sha256Hex, signAccessToken } from '@pm/service-kit'
import { type Kysely, sql, type Transaction } from 'kysely'
import type { CoreEnvironment } from '../environment'
import type { UserPermissions } from './permissions'
import { storedAddress } from './throttle'

/**
 * Sessions. The access token is a 15-minute HS256 JWT { sub, perms, su, sid, iat, exp } (sid = the
 * session family). The refresh token is 32 random bytes (base64url), stored only as its SHA-256, valid
 * 30 days, and single-use: each refresh revokes it and issues the next one of the same family. Presenting
 * an already-rotated or revoked token means it was copied: the whole family is revoked (the thief and the
 * owner both sign in again). Logout revokes the family; logoutEverywhere every family of the user.
 * An access token is refused by the gateway once its session ended or its user was disabled
 * (accessTokenState, which the gateway asks and caches for a few seconds).
 */
export interface IssuedSession {
  accessToken: string
  accessTokenExpiresAt: Date
  refreshToken: string
  refreshTokenExpiresAt: Date
  permissions: string[]
  superuser: boolean
}

type Trx = Transaction<DB>

/** A refresh token longer than this is not one of ours (they are 43 characters). */
const MAX_REFRESH_TOKEN_LENGTH = 256

/**
 * Inserts a refresh token of the family (a new family for a sign-in) and signs its access token; the
 * client's address and user agent are kept with the session.
 */
export async function issueSession(
  trx: Trx,
  env: CoreEnvironment,
  userId: string,
  granted: UserPermissions,
  familyId: string = randomUUID(),
  client: { address: string | null; userAgent: string | null } = { address: null, userAgent: null },
): Promise<IssuedSession & { id: string; familyId: string }> {
  const refreshToken = newRefreshToken()
  const now = Date.now()
  const refreshTokenExpiresAt = new Date(now + env.refreshTokenTtlSeconds * 1000)
  const row = await trx
    .insertInto('refresh_tokens')
    .values({
      user_id: userId,
      token_hash: sha256Hex(refreshToken),
      family_id: familyId,
      expires_at: refreshTokenExpiresAt,
      ip: storedAddress(client.address),
      user_agent: client.userAgent?.slice(0, 255) ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  const iat = Math.floor(now / 1000)
  const accessToken = signAccessToken(
    { sub: userId, perms: granted.permissions, su: granted.superuser, sid: familyId, iat },
    env.authTokenSecret,
    env.accessTokenTtlSeconds,
  )
  return {
    id: row.id,
    familyId,
    accessToken,
    accessTokenExpiresAt: new Date((iat + env.accessTokenTtlSeconds) * 1000),
    refreshToken,
    refreshTokenExpiresAt,
    permissions: granted.permissions,
    superuser: granted.superuser,
  }
}

/** The refresh token row (locked), or undefined for anything that is not a stored token. */
export async function lockRefreshToken(trx: Trx, token: string) {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_REFRESH_TOKEN_LENGTH) {
    return undefined
  }
  return trx
    .selectFrom('refresh_tokens')
    .select(['id', 'user_id', 'family_id', 'expires_at', 'revoked_at'])
    .where('token_hash', '=', sha256Hex(token))
    .forUpdate()
    .executeTakeFirst()
}

/** Revokes the family's live tokens; returns how many were live. */
export async function revokeFamily(db: Kysely<DB> | Trx, familyId: string): Promise<number> {
  const result = await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: sql<Date>`localtimestamp` })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Revokes every live token of the user; returns how many sessions that ended. */
export async function revokeUserSessions(db: Kysely<DB> | Trx, userId: string): Promise<number> {
  const rows = await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: sql<Date>`localtimestamp` })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`localtimestamp`)
    .returning('family_id')
    .execute()
  return new Set(rows.map((r) => r.family_id)).size
}

export interface AccessTokenState {
  /** The session ended (logout, a new password, a reused refresh token) or the user is disabled. */
  revoked: boolean
  /** The user or the session exists: the answer may change; otherwise it never will. */
  known: boolean
}

/** Whether an access token of (userId, sessionId) was revoked; one statement. */
export async function accessTokenState(
  db: Kysely<DB>,
  userId: string,
  sessionId: string,
): Promise<AccessTokenState> {
  const { rows } = await sql<{
    active: boolean | null
    user_known: boolean
    session_known: boolean
    live: boolean
  }>`
    SELECT
      (SELECT is_active FROM users WHERE id = ${userId}) AS active,
      EXISTS (SELECT 1 FROM users WHERE id = ${userId}) AS user_known,
      EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = ${sessionId} AND user_id = ${userId}) AS session_known,
      EXISTS (SELECT 1 FROM refresh_tokens
              WHERE family_id = ${sessionId} AND user_id = ${userId} AND revoked_at IS NULL) AS live`.execute(
    db,
  )
  const row = rows[0]!
  return {
    revoked: (row.user_known && row.active === false) || (row.session_known && !row.live),
    known: row.user_known || row.session_known,
  }
}
