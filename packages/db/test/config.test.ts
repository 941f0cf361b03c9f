import { describe, expect, it } from 'vitest'
import { ConfigError, describeUrl, loadDatabaseConfig } from '../src'

describe('loadDatabaseConfig', () => {
  it('uses the embedded default when no URL is set, with the documented pool sizes', () => {
    const config = loadDatabaseConfig({})
    expect(config.mode).toBe('embedded')
    if (config.mode !== 'embedded') return
    expect(config.embedded.port).toBe(54329)
    expect(config.embedded.dataDir).toMatch(/\.data\/postgres$/)
    expect(Object.fromEntries(Object.entries(config.pools).map(([d, p]) => [d, p.size]))).toEqual({
      core: 5,
      catalog: 20,
      imports: 15,
      exports: 10,
      media: 10,
      code2asin: 10,
      analytics: 10,
    })
    expect(config.pools.core).toMatchObject({
      maxOverflow: 10,
      acquireTimeoutMs: 30_000,
      recycleMs: 3_600_000,
    })
  })

  it('derives the seven databases from DATABASE_URL, letting DB_<DOMAIN>_URL win', () => {
    const config = loadDatabaseConfig({
      DATABASE_URL: 'postgres://u:p@db.internal:5433/postgres?sslmode=require',
      DB_MEDIA_URL: 'postgres://m:q@media.internal/media_prod',
      DB_CATALOG_POOL_SIZE: '42',
      DB_POOL_MAX_OVERFLOW: '0',
    })
    if (config.mode !== 'external') throw new Error('expected external')
    expect(config.domains.core.url).toBe('postgres://u:p@db.internal:5433/db_core?sslmode=require')
    expect(config.domains.analytics.url).toBe('postgres://u:p@db.internal:5433/db_analytics?sslmode=require')
    expect(config.domains.media.url).toBe('postgres://m:q@media.internal/media_prod')
    expect(config.domains.catalog.pool).toMatchObject({ size: 42, maxOverflow: 0 })
  })

  it('names every missing DB_<DOMAIN>_URL when only some are set', () => {
    expect(() => loadDatabaseConfig({ DB_CORE_URL: 'postgres://h/db_core' })).toThrow(
      /DB_CATALOG_URL, DB_IMPORTS_URL, DB_EXPORTS_URL, DB_MEDIA_URL, DB_CODE2ASIN_URL, DB_ANALYTICS_URL not set/,
    )
  })

  it('rejects bad values with the variable name', () => {
    expect(() => loadDatabaseConfig({ DB_CORE_POOL_SIZE: 'ten' })).toThrow(ConfigError)
    expect(() => loadDatabaseConfig({ DB_CORE_POOL_SIZE: '0' })).toThrow(
      /DB_CORE_POOL_SIZE must be a positive integer/,
    )
    expect(() => loadDatabaseConfig({ DATABASE_URL: 'mysql://x' })).toThrow(
      /DATABASE_URL is not a postgres:\/\/ URL/,
    )
  })

  it('describes a URL without its password', () => {
    expect(describeUrl('postgres://admin:hunter2@10.0.0.5:6432/db_core')).toBe('10.0.0.5:6432/db_core')
  })
})
