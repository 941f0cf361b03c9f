import { badUserInput, MASK } from '@pm/service-kit'
import type { LookupTableConfig } from './lookup-table'
import { SP_API_DEFAULTS, type SpApiConfig } from './sp-api'

export type ProviderConfig = SpApiConfig | LookupTableConfig

export interface ProviderInput {
  kind: 'AMAZON_SP_API' | 'LOOKUP_TABLE'
  uploadId?: string | null
  endpoint?: string | null
  tokenEndpoint?: string | null
  marketplaceId?: string | null
  clientId?: string | null
  clientSecret?: string | null
  refreshToken?: string | null
  ratePerSecond?: number | null
  burst?: number | null
  timeoutMs?: number | null
}

const url = (field: string, value: string | null | undefined, fallback: string) => {
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
  if (!v) throw badUserInput(`${field} is required for the Amazon provider`, { field })
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

/** The provider a job runs with, checked: an Amazon SP-API account or an uploaded lookup table. */
export function checkProvider(field: string, input: ProviderInput): ProviderConfig {
  if (input.kind === 'LOOKUP_TABLE') {
    if (!input.uploadId)
      throw badUserInput(`${field}.uploadId is required for a lookup table`, { field: `${field}.uploadId` })
    return { kind: 'lookup_table', uploadId: input.uploadId.toLowerCase() }
  }
  const marketplaceId = input.marketplaceId?.trim() || SP_API_DEFAULTS.marketplaceId
  if (!/^[A-Z0-9]{5,20}$/.test(marketplaceId)) {
    throw badUserInput(`${field}.marketplaceId must be an Amazon marketplace id, e.g. A13V1IB3VIYZZH`, {
      field: `${field}.marketplaceId`,
    })
  }
  return {
    kind: 'sp_api',
    endpoint: url(`${field}.endpoint`, input.endpoint, SP_API_DEFAULTS.endpoint),
    tokenEndpoint: url(`${field}.tokenEndpoint`, input.tokenEndpoint, SP_API_DEFAULTS.tokenEndpoint),
    marketplaceId,
    clientId: required(`${field}.clientId`, input.clientId),
    clientSecret: required(`${field}.clientSecret`, input.clientSecret),
    refreshToken: required(`${field}.refreshToken`, input.refreshToken),
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
}

/** What the API shows of a job's provider: everything but the credentials' values. */
export function providerView(stored: unknown) {
  if (typeof stored !== 'object' || stored === null) return null
  const c = stored as ProviderConfig
  if (c.kind === 'lookup_table') return { kind: 'LOOKUP_TABLE', uploadId: c.uploadId }
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
