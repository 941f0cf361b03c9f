import {
  badUserInput,
  type Caller,
  checkInt,
  checkString,
  ErrorCode,
  hasPermission,
  inTransaction,
  notFound,
  recordAudit,
  updateAudited,
  userError,
} from '@pm/service-kit'
import { sql } from 'kysely'
import { generateApiKey } from '../auth/api-keys'
import { assertMayGive, assertMayReach, permissionsOfUser } from '../auth/permissions'
import type { Context } from '../context'
import { toApiKey } from '../db/mappers'
import { API_KEY_COLUMNS } from '../db/queries'
import { insertApiKey, shareLockUser } from '../db/writes'
import type { MutationResolvers } from '../generated/graphql'

export const MAX_SCOPES = 100
export const MAX_ALLOWED_OPERATIONS = 1_000
export const MAX_RATE_LIMIT_PER_MINUTE = 100_000
const DEFAULT_RATE_LIMIT_PER_MINUTE = 60
const ALL = '*:*'
const SHA256_HEX = /^[0-9a-f]{64}$/

/** Scopes: 1 to 100 permission names, no duplicates kept; `*:*` only from a superuser. */
function checkScopes(ctx: Context, scopes: readonly string[]): string[] {
  if (scopes.length === 0 || scopes.length > MAX_SCOPES) {
    throw badUserInput(`input.scopes must hold 1 to ${MAX_SCOPES} permission names`, {
      field: 'input.scopes',
    })
  }
  const seen = new Set<string>()
  for (const [i, raw] of scopes.entries()) {
    const field = `input.scopes[${i}]`
    const scope = raw.trim()
    if (scope === ALL) {
      if (!ctx.caller.superuser) {
        throw userError(ErrorCode.FORBIDDEN, `${field}: only a superuser may create a key with ${ALL}`, {
          field,
        })
      }
    } else {
      assertMayGive(ctx.caller, [scope], field)
    }
    seen.add(scope)
  }
  return [...seen]
}

const isCaller = (ctx: Context, userId: string) => ctx.caller.kind === 'user' && ctx.caller.userId === userId

/** Persisted operations: SHA-256 hex of the documents (the APQ hash), lower-cased, no duplicates. */
function checkAllowedOperations(values: readonly string[] | null | undefined): string[] {
  if (!values) return []
  if (values.length > MAX_ALLOWED_OPERATIONS) {
    throw badUserInput(`input.allowedOperations holds at most ${MAX_ALLOWED_OPERATIONS} hashes`, {
      field: 'input.allowedOperations',
    })
  }
  const hashes = new Set<string>()
  for (const [i, raw] of values.entries()) {
    const hash = raw.trim().toLowerCase()
    if (!SHA256_HEX.test(hash)) {
      const field = `input.allowedOperations[${i}]`
      throw badUserInput(`${field} must be the SHA-256 of an operation document, 64 hex digits`, { field })
    }
    hashes.add(hash)
  }
  return [...hashes]
}

export const apiKeyMutations = {
  /**
   * A partner key for input.userId (default: the caller). The key is in the answer once and never again:
   * only its SHA-256 is stored. Each scope must be a permission name of the permissions table that both the
   * caller and the key's owner hold (a key never exceeds either); `*:*` (all the owner's permissions) only
   * from a superuser.
   */
  createApiKey: async (_, { input }, ctx) => {
    const name = checkString('input.name', input.name, { max: 255 })
    const ownerId = input.userId ?? (ctx.caller.kind === 'user' ? ctx.caller.userId : null)
    if (!ownerId) {
      throw badUserInput('input.userId is required: the caller is not a signed-in user', {
        field: 'input.userId',
      })
    }
    const scopes = checkScopes(ctx, input.scopes)
    const allowedOperations = checkAllowedOperations(input.allowedOperations)
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw badUserInput('input.expiresAt must be in the future', { field: 'input.expiresAt' })
    }
    const rateLimit =
      checkInt('input.rateLimitPerMinute', input.rateLimitPerMinute, {
        min: 1,
        max: MAX_RATE_LIMIT_PER_MINUTE,
      }) ?? DEFAULT_RATE_LIMIT_PER_MINUTE
    return inTransaction(ctx, async (trx) => {
      const owner = await shareLockUser(trx, ownerId)
      if (!owner) throw notFound('input.userId: no user has this id', { field: 'input.userId' })
      if (owner.is_active === false) {
        throw badUserInput('input.userId: the user is disabled; reactivate them first', {
          field: 'input.userId',
        })
      }
      const named = scopes.filter((s) => s !== ALL)
      const known = new Set(
        named.length === 0
          ? []
          : (
              await trx
                .selectFrom('permissions')
                .select('name')
                .where('name', '=', (eb) => eb.fn.any(eb.val(named)))
                .execute()
            ).map((p) => p.name),
      )
      const granted = (await permissionsOfUser(trx, ownerId))!
      // A key acts as its owner: making one for someone else reaches their account.
      if (!isCaller(ctx, ownerId)) assertMayReach(ctx.caller, 'create an API key for', granted)
      const ownerCaller: Caller = {
        kind: 'user',
        userId: ownerId,
        apiKeyId: null,
        permissions: granted.permissions,
        superuser: granted.superuser,
      }
      for (const [i, scope] of scopes.entries()) {
        const field = `input.scopes[${i}]`
        if (scope === ALL) continue
        if (!known.has(scope)) {
          throw badUserInput(`${field}: no permission is named ${scope} (see the permissions query)`, {
            field,
          })
        }
        if (!hasPermission(ownerCaller, scope)) {
          throw badUserInput(`${field}: the key's owner does not hold ${scope}`, { field })
        }
      }
      let generated = generateApiKey()
      // 32 bits of prefix: a collision is rare, but the prefix is UNIQUE, so draw again rather than fail.
      for (let i = 0; i < 3; i++) {
        const taken = await trx
          .selectFrom('api_keys')
          .select('id')
          .where('key_prefix', '=', generated.prefix)
          .executeTakeFirst()
        if (!taken) break
        generated = generateApiKey()
      }
      const row = await insertApiKey(trx, {
        user_id: ownerId,
        name,
        key_prefix: generated.prefix,
        key_hash: generated.hash,
        scopes,
        allowed_operations: allowedOperations,
        rate_limit_per_minute: rateLimit,
        expires_at: input.expiresAt ?? null,
      })
      const apiKey = toApiKey(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'api_key',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: apiKey },
      })
      return { apiKey, key: generated.key }
    })
  },

  /** Revokes a key at once (the gateway's cache aside); revoking it again changes nothing. */
  revokeApiKey: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'api_keys',
        id,
        // Never the hash.
        columns: API_KEY_COLUMNS,
        notFound: () => notFound('no API key has this id', { field: 'id' }),
        values: async (before) => {
          if (!isCaller(ctx, before.user_id)) {
            assertMayReach(ctx.caller, 'revoke an API key of', await permissionsOfUser(trx, before.user_id))
          }
          return before.revoked_at ? {} : { revoked_at: sql<Date>`localtimestamp`, is_active: false }
        },
        view: toApiKey,
        audit: { entityType: 'api_key', action: 'revoke', userId: ctx.caller.userId },
      })
      return toApiKey(row)
    }),
} satisfies MutationResolvers
