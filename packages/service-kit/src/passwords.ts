import { randomBytes, scrypt as scryptCallback, scryptSync, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'

const scrypt = promisify(scryptCallback) as (
  password: string,
  salt: Buffer,
  keyLength: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>

/** scrypt (memory-hard); stored as `scrypt$N$r$p$<salt hex>$<key hex>`, never the password. */
export const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1, keyLength: 64 } as const
const MAXMEM = 64 * 1024 * 1024

/** A deterministic hash for a given salt (demo data); services use hashPassword. */
export function hashPasswordWithSalt(password: string, saltHex: string): string {
  const { N, r, p, keyLength } = SCRYPT_PARAMS
  const key = scryptSync(password, Buffer.from(saltHex, 'hex'), keyLength, { N, r, p, maxmem: MAXMEM })
  return `scrypt$${N}$${r}$${p}$${saltHex}$${key.toString('hex')}`
}

/** Hashes off the event loop's main thread (libuv pool), with a fresh 16-byte salt. */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p, keyLength } = SCRYPT_PARAMS
  const salt = randomBytes(16)
  const key = await scrypt(password, salt, keyLength, { N, r, p, maxmem: MAXMEM })
  return `scrypt$${N}$${r}$${p}$${salt.toString('hex')}$${key.toString('hex')}`
}

/** Constant-time check of a password against a stored hash; false for anything malformed. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  const expected = Buffer.from(parts[5]!, 'hex')
  if (!N || !r || !p || expected.length === 0 || N > 1 << 20) return false
  const key = await scrypt(password, Buffer.from(parts[4]!, 'hex'), expected.length, {
    N,
    r,
    p,
    maxmem: MAXMEM,
  })
  return timingSafeEqual(key, expected)
}
