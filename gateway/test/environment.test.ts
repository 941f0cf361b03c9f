import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { DOMAINS } from '@pm/db'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_DOCUMENT_CACHE_MB,
  DEFAULT_MAX_SOCKETS_PER_SUBGRAPH,
  DEFAULT_QUERY_PLAN_CACHE_MB,
  DEFAULT_SUBGRAPH_TIMEOUT_MS,
  DEFAULT_UPLOAD_MAX_BYTES,
  GatewayConfigError,
  loadGatewayEnvironment,
} from '../src/environment'
import { DEFAULT_CACHE_POLICY } from '../src/fetch-cache'

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

describe('the gateway reads its environment once, with its zod schema', () => {
  it('takes the README defaults', () => {
    const parsed = loadGatewayEnvironment({ ...SECRETS })
    expect(parsed).toMatchObject({
      logLevel: 'info',
      port: 4000,
      host: '127.0.0.1',
      admin: { host: '127.0.0.1', port: 9000 },
      subgraphTimeoutMs: DEFAULT_SUBGRAPH_TIMEOUT_MS,
      maxSocketsPerSubgraph: DEFAULT_MAX_SOCKETS_PER_SUBGRAPH,
      mode: 'development',
      rateLimitPerMinute: 600,
      corsOrigins: [],
      workers: 1,
      uploadMaxBytes: DEFAULT_UPLOAD_MAX_BYTES,
      cache: { l1MaxBytes: 64 * 1_048_576, l1TtlMs: 60_000, policy: DEFAULT_CACHE_POLICY },
      signingSecret: SECRETS.GATEWAY_SIGNING_SECRET,
      tokenSecret: SECRETS.AUTH_TOKEN_SECRET,
      storageConfig: { driver: 'local' },
    })
    expect(parsed.redisUrl).toBeUndefined()
    expect(parsed.subgraphUrls).toEqual(
      Object.fromEntries(DOMAINS.map((d, i) => [d, `http://127.0.0.1:${4001 + i}/graphql`])),
    )
  })

  it('takes valid overrides (blank counts as unset)', () => {
    const parsed = loadGatewayEnvironment({
      ...SECRETS,
      GATEWAY_PORT: '8080',
      SUBGRAPH_MEDIA_PORT: '5005',
      SUBGRAPH_CORE_URL: 'https://core.internal/graphql',
      GATEWAY_ADMIN_PORT: '0',
      GATEWAY_SUBGRAPH_TIMEOUT_MS: '2500',
      GATEWAY_MAX_DEPTH: '',
      GATEWAY_TRUST_PROXY: 'TRUE',
      REDIS_URL: 'redis://cache:6379',
      LOG_LEVEL: 'debug',
    })
    expect(parsed).toMatchObject({
      logLevel: 'debug',
      port: 8080,
      admin: { port: 0 },
      subgraphTimeoutMs: 2500,
      limits: { maxDepth: 12 },
      trustProxy: true,
      redisUrl: 'redis://cache:6379',
      subgraphUrls: { core: 'https://core.internal/graphql', media: 'http://127.0.0.1:5005/graphql' },
    })
  })

  it('refuses an invalid value with a GatewayConfigError naming the variable and what was given', () => {
    for (const [name, value] of [
      ['GATEWAY_PORT', 'eighty'],
      ['GATEWAY_ADMIN_PORT', '65536'],
      ['SUBGRAPH_CATALOG_URL', 'ftp://catalog/graphql'],
      ['GATEWAY_SUBGRAPH_TIMEOUT_MS', '0'],
      ['UPLOAD_MAX_BYTES', '1e-3'],
      ['LOG_LEVEL', 'verbose'],
    ] as const) {
      const load = () => loadGatewayEnvironment({ ...SECRETS, [name]: value })
      expect(load, name).toThrow(GatewayConfigError)
      expect(load, name).toThrow(`gateway: ${name}: `)
      expect(load, name).toThrow(`(got "${value}")`)
    }
  })
})

it('a gateway process stops on a bad value with one message naming the variable, no stack trace', async () => {
  const root = new URL('../../', import.meta.url).pathname
  const failed = (await promisify(execFile)(`${root}node_modules/.bin/tsx`, ['gateway/src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...SECRETS, GATEWAY_MAX_DEPTH: '0' },
  }).then(
    () => null,
    (error: unknown) => error,
  )) as { code: number; stdout: string; stderr: string } | null
  expect(failed?.code).toBe(1)
  const output = `${failed?.stdout}${failed?.stderr}`
  expect(output).toContain('gateway: GATEWAY_MAX_DEPTH: must be a positive integer (got \\"0\\")')
  expect(output).not.toMatch(/^\s+at /m)
})
