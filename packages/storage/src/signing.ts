import { createHmac, timingSafeEqual } from 'node:crypto'
import {
  DEFAULT_URL_EXPIRY_SECONDS,
  MAX_URL_EXPIRY_SECONDS,
  StorageConfigError,
  type UrlOptions,
} from './types'

/** Where the gateway serves local files; storageDownloadHandler is mounted here. */
export const FILES_PATH = '/files/'

export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/')
}

function signature(secret: string, key: string, expires: number, filename: string): string {
  return createHmac('sha256', secret).update(`${key}\n${expires}\n${filename}`).digest('base64url')
}

export function expirySeconds(opts?: UrlOptions): number {
  const seconds = opts?.expiresInSeconds ?? DEFAULT_URL_EXPIRY_SECONDS
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_URL_EXPIRY_SECONDS)
    throw new RangeError(`expiresInSeconds must be an integer from 1 to ${MAX_URL_EXPIRY_SECONDS}`)
  return seconds
}

/** `<publicUrl>/files/<key>?expires=<unix s>&sig=<HMAC-SHA256>[&filename=…]`. */
export function signedFileUrl(
  publicUrl: string,
  secret: string | undefined,
  key: string,
  opts?: UrlOptions,
  now = Date.now(),
): string {
  if (!secret)
    throw new StorageConfigError(
      'local download URLs need STORAGE_URL_SECRET (or GATEWAY_SIGNING_SECRET) to sign them',
    )
  const expires = Math.floor(now / 1000) + expirySeconds(opts)
  const filename = opts?.filename ?? ''
  const url = new URL(`${publicUrl.replace(/\/+$/, '')}${FILES_PATH}${encodeKey(key)}`)
  url.searchParams.set('expires', String(expires))
  if (filename) url.searchParams.set('filename', filename)
  url.searchParams.set('sig', signature(secret, key, expires, filename))
  return url.toString()
}

export type Verification =
  | { ok: true; filename?: string; expires: number }
  | { ok: false; reason: 'invalid' | 'expired' }

export function verifyFileUrl(
  secret: string,
  key: string,
  params: URLSearchParams,
  now = Date.now(),
): Verification {
  const expires = Number(params.get('expires'))
  const sig = params.get('sig') ?? ''
  const filename = params.get('filename') ?? ''
  if (!Number.isSafeInteger(expires) || !sig) return { ok: false, reason: 'invalid' }
  const expected = Buffer.from(signature(secret, key, expires, filename))
  const given = Buffer.from(sig)
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return { ok: false, reason: 'invalid' }
  if (expires * 1000 < now) return { ok: false, reason: 'expired' }
  return { ok: true, expires, ...(filename ? { filename } : {}) }
}
