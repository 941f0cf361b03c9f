import { MODULE_IDS, MODULE_INFO, MODULE_KEY_PREFIX, type ModuleId } from '@pm/service-kit'
import { parseApiKey, touchApiKey } from '../auth/api-keys'
import { keyPermissions, permissionsOfUser } from '../auth/permissions'
import { accessTokenState } from '../auth/sessions'
import { toApiKey } from '../db/mappers'
import { apiKeyByHash, apiKeysOfUser, moduleSettings } from '../db/queries'
import { coreEnvironment } from '../environment'
import type { ApiKeyResolvers, QueryResolvers } from '../generated/graphql'

export const authQueries = {
  /** The signed-in user (a partner key: its owner); null for anonymous callers and services. */
  me: (_, __, ctx) => (ctx.caller.userId ? ctx.loaders.userById.load(ctx.caller.userId) : null),

  apiKeys: async (_, { userId, includeInactive }, ctx) =>
    (await apiKeysOfUser(ctx.db, userId, includeInactive)).map(toApiKey),

  /**
   * For the gateway (internal): the identity of a partner key, or null when the key is unknown, revoked,
   * expired, or its owner disabled. permissions = the key's scopes the owner still holds (keyPermissions).
   */
  authenticateApiKey: async (_, { key }, ctx) => {
    const parsed = parseApiKey(key)
    if (!parsed) return null
    const row = await apiKeyByHash(ctx.db, parsed.hash)
    if (!row || row.key_prefix !== parsed.prefix) return null
    if (row.revoked_at || !row.is_active || row.owner_active === false) return null
    if (row.expires_at && row.expires_at.getTime() <= Date.now()) return null
    const owner = await permissionsOfUser(ctx.db, row.user_id)
    if (!owner?.isActive) return null
    await touchApiKey(ctx.db, row.id)
    return {
      id: row.id,
      apiKeyId: row.id,
      userId: row.user_id,
      name: row.name,
      keyPrefix: row.key_prefix,
      permissions: keyPermissions(row.scopes, owner),
      allowedOperations: row.allowed_operations,
      rateLimitPerMinute: row.rate_limit_per_minute,
      expiresAt: row.expires_at,
    }
  },

  /** For the gateway (internal): whether an access token's session ended or its user was disabled. */
  accessTokenState: (_, { userId, sessionId }, ctx) => accessTokenState(ctx.background, userId, sessionId),

  /**
   * Every module's state: the app_settings row module.<id> (category modules, { "enabled": bool }) first,
   * then MODULE_<ID>_ENABLED, then enabled. Read on each call (one statement): a change applies at once.
   */
  modules: async (_, __, ctx) => {
    const stored = new Map<string, unknown>()
    for (const row of await moduleSettings(ctx.db)) stored.set(row.key, row.value)
    const { moduleSwitches } = coreEnvironment(ctx.env)
    return MODULE_IDS.map((id: ModuleId) => {
      const value = stored.get(`${MODULE_KEY_PREFIX}${id}`) as { enabled?: unknown } | undefined
      const base = { id, ...MODULE_INFO[id] }
      if (typeof value?.enabled === 'boolean') return { ...base, enabled: value.enabled, source: 'DATABASE' }
      const fromEnv = moduleSwitches[id]
      if (fromEnv !== undefined) return { ...base, enabled: fromEnv, source: 'ENVIRONMENT' }
      return { ...base, enabled: true, source: 'DEFAULT' }
    })
  },
} satisfies QueryResolvers

export const ApiKey = {
  user: (key, _, ctx) => ctx.loaders.userById.load(key.userId),
} satisfies ApiKeyResolvers
