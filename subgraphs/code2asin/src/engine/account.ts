import { MASK, type Peers, queryPeer } from '@pm/service-kit'
import { GraphQLError } from 'graphql'
import { checkUrl, SP_API_SETTING } from './config'
import { SP_API_DEFAULTS } from './sp-api'

/**
 * The platform's Amazon SP-API account, stored once by an administrator as the secret app setting
 * `code2asin.sp_api` (core's app_settings, category code2asin, isSecret true):
 *
 *   { "clientId": "amzn1.application-oa2-client.…", "clientSecret": "…", "refreshToken": "Atzr|…",
 *     "endpoint": "https://sellingpartnerapi-eu.amazon.com", "tokenEndpoint": "https://api.amazon.com/auth/o2/token",
 *     "marketplaceId": "A13V1IB3VIYZZH" }
 *
 * clientId, clientSecret and refreshToken are required; the rest default to Amazon's European endpoints and
 * amazon.fr. A job created without credentials of its own uses it: the worker reads it from core each time it
 * runs (core's internal internalAppSetting, as the SERVICE caller), so the secrets live in core only, never in
 * a job row, and a rotated secret is used by the next run.
 */
export { SP_API_SETTING }

export interface SpApiAccount {
  clientId: string
  clientSecret: string
  refreshToken: string
  endpoint: string
  tokenEndpoint: string
  /** The account's marketplace, when the setting names one. */
  marketplaceId: string | null
}

/** Why the stored account cannot be used; the message names the setting and never holds its values. */
export class AccountProblem extends Error {
  override readonly name = 'AccountProblem'
}

const HOW_TO_SET =
  `setAppSetting(input: { key: "${SP_API_SETTING}", category: "code2asin", isSecret: true, ` +
  'value: { clientId, clientSecret, refreshToken } })'

const READ = `query($key: String!) { internalAppSetting(key: $key) { value isSecret } }`

/** The stored setting, checked (AccountProblem when it is missing, not secret or incomplete). */
export function parseSpApiAccount(setting: { value: unknown; isSecret: boolean } | null): SpApiAccount {
  if (!setting) {
    throw new AccountProblem(
      `no SP-API credentials: give clientId, clientSecret and refreshToken, or have an administrator store them once in the app setting ${SP_API_SETTING} with ${HOW_TO_SET}`,
    )
  }
  if (!setting.isSecret) {
    throw new AccountProblem(
      `the app setting ${SP_API_SETTING} is not secret (anyone with settings:read can read it): an administrator sets it again with isSecret: true`,
    )
  }
  const value = setting.value
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AccountProblem(
      `the app setting ${SP_API_SETTING} must be a JSON object { clientId, clientSecret, refreshToken } (endpoint, tokenEndpoint and marketplaceId optional)`,
    )
  }
  const o = value as Record<string, unknown>
  const text = (name: string, optional = false) => {
    const v = o[name]
    if (v === undefined || v === null) {
      if (optional) return null
      throw new AccountProblem(`the app setting ${SP_API_SETTING} has no ${name}: ${HOW_TO_SET}`)
    }
    if (typeof v !== 'string' || v.trim() === '' || v.trim() === MASK) {
      throw new AccountProblem(
        `the app setting ${SP_API_SETTING}: ${name} must be a non-empty string (not the masked "${MASK}")`,
      )
    }
    return v.trim()
  }
  const url = (name: 'endpoint' | 'tokenEndpoint') => {
    try {
      return checkUrl(name, text(name, true), SP_API_DEFAULTS[name])
    } catch (error) {
      if (error instanceof GraphQLError) {
        throw new AccountProblem(`the app setting ${SP_API_SETTING}: ${error.message}`)
      }
      throw error
    }
  }
  const marketplaceId = text('marketplaceId', true)
  if (marketplaceId !== null && !/^[A-Z0-9]{5,20}$/.test(marketplaceId)) {
    throw new AccountProblem(
      `the app setting ${SP_API_SETTING}: marketplaceId must be an Amazon marketplace id, e.g. A13V1IB3VIYZZH`,
    )
  }
  return {
    clientId: text('clientId')!,
    clientSecret: text('clientSecret')!,
    refreshToken: text('refreshToken')!,
    endpoint: url('endpoint'),
    tokenEndpoint: url('tokenEndpoint'),
    marketplaceId,
  }
}

/**
 * The stored account, read from core as the SERVICE caller (peers must be signed); AccountProblem when it
 * cannot be used, SERVICE_UNAVAILABLE when core does not answer.
 */
export async function readSpApiAccount(peers: Peers): Promise<SpApiAccount> {
  const data = await queryPeer<{ internalAppSetting: { value: unknown; isSecret: boolean } | null }>(
    peers,
    'core',
    READ,
    { key: SP_API_SETTING },
  )
  return parseSpApiAccount(data.internalAppSetting)
}
