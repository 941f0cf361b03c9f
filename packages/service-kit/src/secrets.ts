import { badUserInput } from './errors'

type Json = string | number | boolean | null | Json[] | { [key: string]: Json | undefined }

/** Key names whose values are credentials (substring, case-insensitive): api_key, ftpPassword, authToken, … */
const SECRET_KEY = /pass(?:word|wd|phrase)|secret|token|key|credential/i

export const MASK = '***'

/** A copy with every secret-looking key's value, at any depth, as "***"; null stays null (tells nothing). */
export function maskSecrets<T extends Json>(value: T): T
export function maskSecrets(value: Json): Json {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v))
  if (value === null || typeof value !== 'object') return value
  const masked: Record<string, Json> = {}
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue
    masked[key] = SECRET_KEY.test(key) && v !== null ? MASK : maskSecrets(v)
  }
  return masked
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)

/** Whether maskSecrets hides this key's values. */
const isSecretKey = (key: string) => SECRET_KEY.test(key)

const keyPath = (base: string, key: string) =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`

/**
 * An update may send back the configuration it read, secrets masked: "***" under a secret key keeps the
 * value stored at the same path, so editing one setting does not wipe the credentials.
 */
export function restoreMaskedSecrets(next: unknown, stored: unknown): unknown {
  if (Array.isArray(next)) {
    return next.map((v, i) => restoreMaskedSecrets(v, Array.isArray(stored) ? stored[i] : undefined))
  }
  if (!isObject(next)) return next
  const result: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(next)) {
    const old = isObject(stored) ? stored[key] : undefined
    result[key] =
      value === MASK && isSecretKey(key) && old !== undefined && old !== null
        ? old
        : restoreMaskedSecrets(value, old)
  }
  return result
}

/** Refuses a "***" left under a secret key (nothing stored to keep): it would be saved as the secret. */
export function refuseMaskedSecrets(field: string, value: unknown): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) refuseMaskedSecrets(`${field}[${i}]`, v)
  } else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      const at = keyPath(field, key)
      if (v === MASK && isSecretKey(key)) {
        throw badUserInput(`${at} is the masked placeholder "${MASK}"; send the real value`, { field: at })
      }
      refuseMaskedSecrets(at, v)
    }
  }
}
