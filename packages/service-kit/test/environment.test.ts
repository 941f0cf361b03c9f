import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { DEFAULT_POOL_SIZES } from '@pm/db'
import { describe, expect, it } from 'vitest'
import { EnvironmentError, loadSubgraphEnvironment } from '../src'

const ROOT = new URL('../../../', import.meta.url).pathname
const SECRET = { GATEWAY_SIGNING_SECRET: 's'.repeat(40) }

describe('a subgraph started alone reads its environment once, with its zod schema', () => {
  it('takes the README defaults', () => {
    const settings = loadSubgraphEnvironment('catalog', { ...SECRET })
    expect(settings).toMatchObject({
      logLevel: 'info',
      port: 4002,
      host: '127.0.0.1',
      admin: { host: '127.0.0.1', port: 9002 },
      signingSecret: SECRET.GATEWAY_SIGNING_SECRET,
      peers: { core: 'http://127.0.0.1:4001/graphql', analytics: 'http://127.0.0.1:4007/graphql' },
      nice: 0,
    })
    expect(settings.database.mode).toBe('embedded')
    if (settings.database.mode !== 'embedded') return
    expect(settings.database.embedded.port).toBe(54_329)
    expect(settings.database.pools.catalog).toEqual({
      size: DEFAULT_POOL_SIZES.catalog,
      maxOverflow: 10,
      acquireTimeoutMs: 30_000,
      recycleMs: 3_600_000,
      idleTimeoutMs: 10_000,
      prePingIdleMs: 1_000,
    })
  })

  it('takes valid overrides (blank counts as unset)', () => {
    const settings = loadSubgraphEnvironment('catalog', {
      ...SECRET,
      LOG_LEVEL: 'warn',
      HOST: '0.0.0.0',
      SUBGRAPH_CATALOG_PORT: '5002',
      SUBGRAPH_CATALOG_ADMIN_PORT: '0',
      ADMIN_HOST: '10.0.0.1',
      SUBGRAPH_CORE_URL: 'http://core:4001/graphql',
      DATABASE_URL: 'postgres://pm@db:5432/postgres',
      DB_CATALOG_POOL_SIZE: '7',
      DB_POOL_MAX_OVERFLOW: '0',
      DB_POOL_TIMEOUT_MS: ' ',
      SUBGRAPH_NICE: '10',
    })
    expect(settings).toMatchObject({
      nice: 10,
      logLevel: 'warn',
      port: 5002,
      host: '0.0.0.0',
      admin: { host: '10.0.0.1', port: 0 },
      peers: { core: 'http://core:4001/graphql', catalog: 'http://127.0.0.1:5002/graphql' },
    })
    expect(settings.database.mode).toBe('external')
    if (settings.database.mode !== 'external') return
    expect(settings.database.domains.catalog).toMatchObject({
      url: 'postgres://pm@db:5432/db_catalog',
      pool: { size: 7, maxOverflow: 0, acquireTimeoutMs: 30_000 },
    })
  })

  it('refuses an invalid value, naming the variable and what was given', () => {
    for (const [name, value] of [
      ['SUBGRAPH_CATALOG_PORT', '70000'],
      ['DB_POOL_TIMEOUT_MS', 'soon'],
      ['DB_CATALOG_POOL_SIZE', '0'],
      ['DATABASE_URL', 'mysql://db/x'],
      ['SUBGRAPH_CORE_URL', 'core:4001'],
      ['LOG_LEVEL', 'loud'],
      ['SUBGRAPH_NICE', '20'],
      ['SUBGRAPH_NICE', 'low'],
    ] as const) {
      const load = () => loadSubgraphEnvironment('catalog', { ...SECRET, [name]: value })
      expect(load, name).toThrow(EnvironmentError)
      expect(load, name).toThrow(`${name}: `)
      expect(load, name).toThrow(`(got "${value}")`)
    }
    expect(() => loadSubgraphEnvironment('catalog', {})).toThrow(/GATEWAY_SIGNING_SECRET is not set/)
    expect(() =>
      loadSubgraphEnvironment('catalog', { ...SECRET, DB_CORE_URL: 'postgres://h/db_core' }),
    ).toThrow(/DB_CATALOG_URL, .* not set/)
  })

  it('stops a subgraph process on a bad value with one message naming the variable, no stack trace', async () => {
    const run = promisify(execFile)(`${ROOT}node_modules/.bin/tsx`, ['subgraphs/catalog/src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...SECRET, DB_POOL_TIMEOUT_MS: 'soon' },
    })
    const failed = (await run.then(
      () => null,
      (error: unknown) => error,
    )) as { code: number; stdout: string; stderr: string } | null
    expect(failed?.code).toBe(1)
    const output = `${failed?.stdout}${failed?.stderr}`
    expect(output).toContain('DB_POOL_TIMEOUT_MS: must be a positive integer (got \\"soon\\")')
    expect(output).not.toMatch(/^\s+at /m)
  })
})
