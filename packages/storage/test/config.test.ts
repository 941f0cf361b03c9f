import { describe, expect, it } from 'vitest'
import { createStorage, LocalStorage, loadStorageConfig, S3Storage, StorageConfigError } from '../src'

describe('loadStorageConfig', () => {
  it('defaults to the local driver under .data/storage, URLs signed with a key derived from GATEWAY_SIGNING_SECRET', () => {
    const config = loadStorageConfig({ GATEWAY_SIGNING_SECRET: 's'.repeat(40) })
    expect(config).toMatchObject({ driver: 'local', publicUrl: 'http://127.0.0.1:4000' })
    if (config.driver !== 'local') throw new Error('local expected')
    expect(config.dir).toMatch(/\/\.data\/storage$/)
    expect(config.urlSecret).toBeTruthy()
    expect(config.urlSecret).not.toContain('s'.repeat(40))
    expect(createStorage(config)).toBeInstanceOf(LocalStorage)
    expect(
      loadStorageConfig({ STORAGE_URL_SECRET: 'own', PUBLIC_URL: 'https://pm.example.com/' }),
    ).toMatchObject({
      urlSecret: 'own',
      publicUrl: 'https://pm.example.com',
    })
  })

  it('reads the S3 settings, refusing incomplete ones by name', () => {
    const config = loadStorageConfig({
      STORAGE_DRIVER: 's3',
      STORAGE_S3_BUCKET: 'pm-files',
      STORAGE_S3_ENDPOINT: 'http://minio:9000',
      STORAGE_S3_ACCESS_KEY_ID: 'a',
      STORAGE_S3_SECRET_ACCESS_KEY: 'b',
      STORAGE_S3_CREATE_BUCKET: 'true',
    })
    expect(config).toEqual({
      driver: 's3',
      bucket: 'pm-files',
      region: 'us-east-1',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      accessKeyId: 'a',
      secretAccessKey: 'b',
      createBucket: true,
    })
    const storage = createStorage(config)
    expect(storage).toBeInstanceOf(S3Storage)
    ;(storage as S3Storage).destroy()
    expect(() => loadStorageConfig({ STORAGE_DRIVER: 's3' })).toThrow(/STORAGE_S3_BUCKET/)
    expect(() =>
      loadStorageConfig({ STORAGE_DRIVER: 's3', STORAGE_S3_BUCKET: 'b', STORAGE_S3_ACCESS_KEY_ID: 'a' }),
    ).toThrow(StorageConfigError)
    expect(() => loadStorageConfig({ STORAGE_DRIVER: 'ftp' })).toThrow(/local or s3/)
    expect(() => loadStorageConfig({ PUBLIC_URL: 'not a url' })).toThrow(/PUBLIC_URL/)
  })
})
