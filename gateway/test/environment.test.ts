import { describe, expect, it } from 'vitest'
import {
  DEFAULT_DOCUMENT_CACHE_MB,
  DEFAULT_QUERY_PLAN_CACHE_MB,
  GatewayConfigError,
  loadGatewayEnvironment,
} from '../src/environment'

const SECRETS = {
  GATEWAY_SIGNING_SECRET: 's'.repeat(40),
  AUTH_TOKEN_SECRET: 't'.repeat(40),
}

describe('gateway memory bounds from the environment', () => {
  it('bounds the query-plan and document caches by default', () => {
    const parsed = loadGatewayEnvironment({ ...SECRETS })
    expect(parsed.queryPlanCacheMb).toBe(DEFAULT_QUERY_PLAN_CACHE_MB)
    expect(parsed.documentCacheMb).toBe(DEFAULT_DOCUMENT_CACHE_MB)
    // Below Apollo's own defaults (30 MiB each): a worker's caches stay a small part of its memory.
    expect(DEFAULT_QUERY_PLAN_CACHE_MB).toBeLessThan(30)
    expect(DEFAULT_DOCUMENT_CACHE_MB).toBeLessThan(30)
  })

  it('reads GATEWAY_QUERY_PLAN_CACHE_MB and GATEWAY_DOCUMENT_CACHE_MB', () => {
    const parsed = loadGatewayEnvironment({
      ...SECRETS,
      GATEWAY_QUERY_PLAN_CACHE_MB: '4',
      GATEWAY_DOCUMENT_CACHE_MB: '2',
    })
    expect(parsed.queryPlanCacheMb).toBe(4)
    expect(parsed.documentCacheMb).toBe(2)
  })

  it('refuses a bound that is not a positive integer, naming the variable', () => {
    for (const [name, value] of [
      ['GATEWAY_QUERY_PLAN_CACHE_MB', '0'],
      ['GATEWAY_QUERY_PLAN_CACHE_MB', '1.5'],
      ['GATEWAY_DOCUMENT_CACHE_MB', '-3'],
      ['GATEWAY_DOCUMENT_CACHE_MB', 'lots'],
    ] as const) {
      expect(() => loadGatewayEnvironment({ ...SECRETS, [name]: value }), `${name}=${value}`).toThrow(
        GatewayConfigError,
      )
      expect(() => loadGatewayEnvironment({ ...SECRETS, [name]: value })).toThrow(name)
    }
  })
})
