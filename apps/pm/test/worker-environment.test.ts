import { ConfigError } from '@pm/db'
import { describe, expect, it } from 'vitest'
import { loadWorkerEnvironment } from '../src/environment'

const BASE = { DATABASE_URL: 'postgres://pm@db:5432/postgres', GATEWAY_SIGNING_SECRET: 's'.repeat(40) }
const DEFAULTS = { nice: 10, concurrency: 2 }

describe('pm worker reads its environment once, with its zod schema', () => {
  it("takes the README defaults, and the domain's own for WORKER_NICE and WORKER_CONCURRENCY", () => {
    expect(loadWorkerEnvironment('media', { ...BASE }, DEFAULTS)).toMatchObject({
      logLevel: 'info',
      database: {
        domain: 'media',
        url: 'postgres://pm@db:5432/db_media',
        pool: { size: 10, maxOverflow: 10, acquireTimeoutMs: 30_000 },
      },
      signingSecret: BASE.GATEWAY_SIGNING_SECRET,
      storageConfig: { driver: 'local' },
      subgraphUrls: { core: 'http://127.0.0.1:4001/graphql', media: 'http://127.0.0.1:4005/graphql' },
      gatewayUrl: 'http://127.0.0.1:4000',
      admin: { host: '127.0.0.1', port: 9010 },
      nice: 10,
      concurrency: 2,
    })
  })

  it('takes valid overrides', () => {
    expect(
      loadWorkerEnvironment(
        'media',
        {
          ...BASE,
          DB_MEDIA_URL: 'postgres://pm@media-db/db_media',
          DB_MEDIA_POOL_SIZE: '3',
          WORKER_NICE: '0',
          WORKER_CONCURRENCY: '4',
          WORKER_ADMIN_PORT: '0',
          GATEWAY_URL: 'http://gateway:4000/',
          SUBGRAPH_CORE_URL: 'http://core:4001/graphql',
        },
        DEFAULTS,
      ),
    ).toMatchObject({
      database: { url: 'postgres://pm@media-db/db_media', pool: { size: 3 } },
      nice: 0,
      concurrency: 4,
      admin: { port: 0 },
      gatewayUrl: 'http://gateway:4000',
      subgraphUrls: { core: 'http://core:4001/graphql' },
    })
    expect(loadWorkerEnvironment('exports', { ...BASE, GATEWAY_PORT: '4100' }, DEFAULTS).gatewayUrl).toBe(
      'http://127.0.0.1:4100',
    )
  })

  it('refuses an invalid value with a ConfigError naming the variable and what was given', () => {
    for (const [name, value] of [
      ['WORKER_CONCURRENCY', '65'],
      ['WORKER_NICE', 'low'],
      ['WORKER_ADMIN_PORT', '-1'],
      ['DB_POOL_RECYCLE_MS', 'hourly'],
      ['DATABASE_URL', 'db:5432'],
    ] as const) {
      const load = () => loadWorkerEnvironment('media', { ...BASE, [name]: value }, DEFAULTS)
      expect(load, name).toThrow(ConfigError)
      expect(load, name).toThrow(`${name}: `)
      expect(load, name).toThrow(`(got "${value}")`)
    }
    const { GATEWAY_SIGNING_SECRET: _secret, ...noSecret } = BASE
    expect(() => loadWorkerEnvironment('media', noSecret, DEFAULTS)).toThrow(
      /GATEWAY_SIGNING_SECRET is not set/,
    )
    expect(() =>
      loadWorkerEnvironment('media', { GATEWAY_SIGNING_SECRET: BASE.GATEWAY_SIGNING_SECRET }, DEFAULTS),
    ).toThrow(/pm worker needs DB_MEDIA_URL or DATABASE_URL/)
  })
})
