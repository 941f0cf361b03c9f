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
