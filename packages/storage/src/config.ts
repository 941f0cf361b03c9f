import { LocalStorage } from './local'
import { S3Storage, type S3StorageOptions } from './s3'
import { deriveUrlSecret } from './secret'
import { type Storage, StorageConfigError } from './types'

export type StorageConfig =
  | { driver: 'local'; dir: string; publicUrl: string; urlSecret?: string }
  | ({ driver: 's3' } & S3StorageOptions)

/** `<repo>/.data/storage`: git-ignored, beside the embedded database. */
export function defaultStorageDir(): string {
  return new URL('../../../.data/storage', import.meta.url).pathname
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase()
  if (!raw) return fallback
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw new StorageConfigError(`${name} must be true or false, got "${env[name]}"`)
}

function httpUrl(name: string, raw: string): string {
  try {
    const url = new URL(raw)
    if (url.protocol === 'http:' || url.protocol === 'https:') return raw.replace(/\/+$/, '')
  } catch {}
  throw new StorageConfigError(`${name} must be an http(s) URL, got "${raw}"`)
}

/**
 * STORAGE_DRIVER (local | s3, default local). Local: STORAGE_DIR (default .data/storage), PUBLIC_URL (base of
 * download URLs, default http://127.0.0.1:<GATEWAY_PORT or 4000>), STORAGE_URL_SECRET (signs them; else
 * derived from GATEWAY_SIGNING_SECRET). S3: STORAGE_S3_BUCKET (required), STORAGE_S3_REGION (default
 * us-east-1), STORAGE_S3_ENDPOINT, STORAGE_S3_PUBLIC_ENDPOINT, STORAGE_S3_FORCE_PATH_STYLE (default: true
 * with an endpoint), STORAGE_S3_ACCESS_KEY_ID, STORAGE_S3_SECRET_ACCESS_KEY, STORAGE_S3_CREATE_BUCKET.
 */
export function loadStorageConfig(env: NodeJS.ProcessEnv = process.env): StorageConfig {
  const driver = env.STORAGE_DRIVER?.trim().toLowerCase() || 'local'
  if (driver === 'local') {
    const urlSecret = env.STORAGE_URL_SECRET?.trim() || deriveUrlSecret(env.GATEWAY_SIGNING_SECRET?.trim())
    const publicUrl = env.PUBLIC_URL?.trim()
      ? httpUrl('PUBLIC_URL', env.PUBLIC_URL.trim())
      : `http://127.0.0.1:${env.GATEWAY_PORT?.trim() || '4000'}`
    return {
      driver: 'local',
      dir: env.STORAGE_DIR?.trim() || defaultStorageDir(),
      publicUrl,
      ...(urlSecret ? { urlSecret } : {}),
    }
  }
  if (driver === 's3') {
    const bucket = env.STORAGE_S3_BUCKET?.trim()
    if (!bucket) throw new StorageConfigError('STORAGE_DRIVER=s3 needs STORAGE_S3_BUCKET')
    const endpoint = env.STORAGE_S3_ENDPOINT?.trim()
    const publicEndpoint = env.STORAGE_S3_PUBLIC_ENDPOINT?.trim()
    const accessKeyId = env.STORAGE_S3_ACCESS_KEY_ID?.trim()
    const secretAccessKey = env.STORAGE_S3_SECRET_ACCESS_KEY?.trim()
    if (Boolean(accessKeyId) !== Boolean(secretAccessKey))
      throw new StorageConfigError(
        'set both STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY, or neither',
      )
    return {
      driver: 's3',
      bucket,
      region: env.STORAGE_S3_REGION?.trim() || 'us-east-1',
      ...(endpoint ? { endpoint: httpUrl('STORAGE_S3_ENDPOINT', endpoint) } : {}),
      ...(publicEndpoint ? { publicEndpoint: httpUrl('STORAGE_S3_PUBLIC_ENDPOINT', publicEndpoint) } : {}),
      forcePathStyle: flag(env, 'STORAGE_S3_FORCE_PATH_STYLE', Boolean(endpoint)),
      ...(accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : {}),
      createBucket: flag(env, 'STORAGE_S3_CREATE_BUCKET', false),
    }
  }
  throw new StorageConfigError(`STORAGE_DRIVER must be local or s3, got "${env.STORAGE_DRIVER}"`)
}

export function createStorage(config: StorageConfig = loadStorageConfig()): Storage {
  if (config.driver === 'local') {
    return new LocalStorage({
      dir: config.dir,
      publicUrl: config.publicUrl,
      ...(config.urlSecret ? { urlSecret: config.urlSecret } : {}),
    })
  }
  const { driver: _driver, ...s3 } = config
  return new S3Storage(s3)
}
