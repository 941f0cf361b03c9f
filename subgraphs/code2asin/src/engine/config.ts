import { badUserInput, MASK } from '@pm/service-kit'
import type { Code2AsinProviderInput } from '../generated/graphql'
import type { LookupTableConfig } from './lookup-table'
import { SP_API_DEFAULTS, type SpApiConfig } from './sp-api'

/**
 * An SP-API job without credentials of its own: the worker signs in with the app setting code2asin.sp_api
 * (see account.ts), read when it runs, and sends its requests to the endpoints stored there.
 */
export interface SpApiSettingConfig {
  kind: 'sp_api_setting'
  /** The app setting holding the credentials and endpoints. */
  setting: string
  /** The marketplace searched (the job's, else the setting's, else amazon.fr), fixed at creation. */
  marketplaceId: string
  ratePerSecond: number
  burst: number
  timeoutMs: number
}

/** The app setting holding the platform's SP-API account (see account.ts). */
export const SP_API_SETTING = 'code2asin.sp_api'

export type ProviderConfig = SpApiConfig | SpApiSettingConfig | LookupTableConfig

/** An absolute http(s) URL without credentials, without its trailing slash; `fallback` when none is given. */
export const checkUrl = (field: string, value: string | null | undefined, fallback: string) => {
  if (value == null) return fallback
  let parsed: URL
  try {
    parsed = new URL(value)
  } catch {
    throw badUserInput(`${field} must be an absolute http(s) URL`, { field })
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw badUserInput(`${field} must be an absolute http(s) URL`, { field })
  }
  if (parsed.username || parsed.password) {
    throw badUserInput(`${field} must not carry credentials`, { field })
  }
  return parsed.href.replace(/\/$/, '')
}

const required = (field: string, value: string | null | undefined) => {
  const v = value?.trim()
  if (!v) {
    throw badUserInput(
      `${field} is required with the job's own credentials (give none of clientId, clientSecret and refreshToken to use the app setting ${SP_API_SETTING})`,
      { field },
    )
  }
  if (v === MASK)
    throw badUserInput(`${field} is the masked placeholder "${MASK}"; send the real value`, { field })
  return v
}

const number = (
  field: string,
  value: number | null | undefined,
  fallback: number,
  min: number,
  max: number,
) => {
  if (value == null) return fallback
  if (!Number.isFinite(value) || value < min || value > max) {
    throw badUserInput(`${field} must be from ${min} to ${max}`, { field })
  }
  return value
}

/**
 * The provider a job runs with, checked: an Amazon SP-API account (the job's own credentials, or, when it
 * gives none, the app setting code2asin.sp_api's: marketplaceId is then null unless given, filled in by the
 * caller from the setting) or an uploaded lookup table.
 */
export function checkProvider(
  field: string,
  input: Code2AsinProviderInput,
):
  | SpApiConfig
  | LookupTableConfig
  | (Omit<SpApiSettingConfig, 'marketplaceId'> & { marketplaceId: null | string }) {
  if (input.kind === 'LOOKUP_TABLE') {
    if (!input.uploadId)
      throw badUserInput(`${field}.uploadId is required for a lookup table`, { field: `${field}.uploadId` })
    return { kind: 'lookup_table', uploadId: input.uploadId }
  }
  const given = input.marketplaceId?.trim() || null
  if (given !== null && !/^[A-Z0-9]{5,20}$/.test(given)) {
    throw badUserInput(`${field}.marketplaceId must be an Amazon marketplace id, e.g. A13V1IB3VIYZZH`, {
      field: `${field}.marketplaceId`,
    })
  }
  const tuning = {
    ratePerSecond: number(
      `${field}.ratePerSecond`,
      input.ratePerSecond,
      SP_API_DEFAULTS.ratePerSecond,
      0.01,
      10_000,
    ),
    burst: Math.round(number(`${field}.burst`, input.burst, SP_API_DEFAULTS.burst, 1, 1_000)),
    timeoutMs: Math.round(
      number(`${field}.timeoutMs`, input.timeoutMs, SP_API_DEFAULTS.timeoutMs, 100, 120_000),
    ),
  }
  if (input.clientId == null && input.clientSecret == null && input.refreshToken == null) {
    // The stored credentials go only to the endpoints stored with them: a job cannot send them elsewhere.
    for (const name of ['endpoint', 'tokenEndpoint'] as const) {
      if (input[name] != null) {
        throw badUserInput(
          `${field}.${name}: a job using the stored credentials (app setting ${SP_API_SETTING}) uses the endpoints stored with them; give clientId, clientSecret and refreshToken to use another ${name}`,
          { field: `${field}.${name}` },
        )
      }
    }
    return { kind: 'sp_api_setting', setting: SP_API_SETTING, marketplaceId: given, ...tuning }
  }
  const marketplaceId = given ?? SP_API_DEFAULTS.marketplaceId
  return {
    kind: 'sp_api',
    endpoint: checkUrl(`${field}.endpoint`, input.endpoint, SP_API_DEFAULTS.endpoint),
    tokenEndpoint: checkUrl(`${field}.tokenEndpoint`, input.tokenEndpoint, SP_API_DEFAULTS.tokenEndpoint),
    marketplaceId,
    clientId: required(`${field}.clientId`, input.clientId),
    clientSecret: required(`${field}.clientSecret`, input.clientSecret),
    refreshToken: required(`${field}.refreshToken`, input.refreshToken),
    ...tuning,
  }
}

/** What the API shows of a job's provider: everything but the credentials' values. */
export function providerView(stored: unknown) {
  if (typeof stored !== 'object' || stored === null) return null
  const c = stored as ProviderConfig
  if (c.kind === 'lookup_table') return { kind: 'LOOKUP_TABLE', uploadId: c.uploadId }
  if (c.kind === 'sp_api_setting') {
    return {
      kind: 'AMAZON_SP_API',
      credentialsSetting: c.setting,
      marketplaceId: c.marketplaceId,
      ratePerSecond: c.ratePerSecond,
      burst: c.burst,
      timeoutMs: c.timeoutMs,
    }
  }
  return {
    kind: 'AMAZON_SP_API',
    endpoint: c.endpoint,
    tokenEndpoint: c.tokenEndpoint,
    marketplaceId: c.marketplaceId,
    clientId: c.clientId,
    clientSecret: c.clientSecret ? MASK : null,
    refreshToken: c.refreshToken ? MASK : null,
    ratePerSecond: c.ratePerSecond,
    burst: c.burst,
    timeoutMs: c.timeoutMs,
  }
}
