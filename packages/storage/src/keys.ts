import { StorageKeyError } from './types'

const MAX_KEY_LENGTH = 1024

/**
 * Keys are "/"-separated relative paths: no empty, "." or ".." segment, no leading "/", no backslash or
 * control character. The same rule for every driver, so a key that works on one works on all.
 */
export function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0)
    throw new StorageKeyError('a storage key must not be empty')
  if (Buffer.byteLength(key) > MAX_KEY_LENGTH)
    throw new StorageKeyError(`a storage key must be at most ${MAX_KEY_LENGTH} bytes`)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(key))
    throw new StorageKeyError(`storage key "${key}" holds a backslash or a control character`)
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..')
      throw new StorageKeyError(
        `storage key "${key}" must be a relative path without empty, "." or ".." segments`,
      )
  }
  return key
}

/** A list prefix: empty, or a key-like string that may end with "/". */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix
  checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix)
  return prefix
}

const META_KEY = /^[a-z0-9][a-z0-9-]{0,63}$/

export function checkMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (!META_KEY.test(k))
      throw new StorageKeyError(`metadata key "${k}" must be lower-case letters, digits and "-"`)
    if (typeof v !== 'string' || !/^[\x20-\x7e]*$/.test(v) || v.length > 1024)
      throw new StorageKeyError(`metadata "${k}" must be printable ASCII of at most 1024 characters`)
    out[k] = v
  }
  return out
}
