import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  newRefreshToken,
  sha256Hex,
  signAccessToken,
  TOKEN_LEEWAY_SECONDS,
  verifyAccessToken,
} from '../src/tokens'

const SECRET = 'a-test-secret-that-is-at-least-32-characters'
const CLAIMS = { sub: '6f1c2a0e-4a8b-4a53-9a8e-2f4f3e0d9b11', perms: ['product:read'], su: false, sid: 's1' }
const NOW = Date.UTC(2026, 0, 1, 12)

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const hs256 = (input: string, secret = SECRET) =>
  createHmac('sha256', secret).update(input).digest('base64url')

/** A token built by hand, to try what a forger would. */
function forge(header: unknown, payload: unknown, secret = SECRET) {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${hs256(input, secret)}`
}

describe('access tokens', () => {
  it('round-trips the claims, with iat and exp set from the TTL', () => {
    const token = signAccessToken(CLAIMS, SECRET, 900, NOW)
    const claims = verifyAccessToken(token, SECRET, NOW + 1000)
    const iat = NOW / 1000
    expect(claims).toEqual({ ...CLAIMS, iat, exp: iat + 900 })
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toEqual({
      alg: 'HS256',
      typ: 'JWT',
    })
  })

  it('refuses a token signed with another secret', () => {
    const token = signAccessToken(CLAIMS, 'another-secret-that-is-at-least-32-characters', 900, NOW)
    expect(verifyAccessToken(token, SECRET, NOW)).toBeNull()
  })

  it('refuses a forged signature', () => {
    const token = signAccessToken(CLAIMS, SECRET, 900, NOW)
    const [h, p] = token.split('.')
    expect(verifyAccessToken(`${h}.${p}.${hs256('something else')}`, SECRET, NOW)).toBeNull()
    expect(verifyAccessToken(`${h}.${p}.AAAA`, SECRET, NOW)).toBeNull()
    expect(verifyAccessToken(`${h}.${p}.`, SECRET, NOW)).toBeNull()
  })

  it('refuses tampered claims (the signature no longer matches)', () => {
    const token = signAccessToken(CLAIMS, SECRET, 900, NOW)
    const [h, , s] = token.split('.')
    const payload = b64({ ...CLAIMS, perms: ['*:*'], su: true, iat: NOW / 1000, exp: NOW / 1000 + 900 })
    expect(verifyAccessToken(`${h}.${payload}.${s}`, SECRET, NOW)).toBeNull()
  })

  it('refuses alg none, other algorithms, and crit headers, even correctly signed', () => {
    const payload = { ...CLAIMS, iat: NOW / 1000, exp: NOW / 1000 + 900 }
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`
    expect(verifyAccessToken(none, SECRET, NOW)).toBeNull()
    expect(verifyAccessToken(`${b64({ alg: 'none' })}.${b64(payload)}`, SECRET, NOW)).toBeNull()
    expect(verifyAccessToken(forge({ alg: 'none', typ: 'JWT' }, payload), SECRET, NOW)).toBeNull()
    expect(verifyAccessToken(forge({ alg: 'HS512', typ: 'JWT' }, payload), SECRET, NOW)).toBeNull()
    expect(verifyAccessToken(forge({ alg: 'RS256', typ: 'JWT' }, payload), SECRET, NOW)).toBeNull()
    expect(verifyAccessToken(forge({ alg: 'HS256', crit: ['exp'] }, payload), SECRET, NOW)).toBeNull()
    // The same payload with the expected header passes: the refusals above are about the header.
    expect(verifyAccessToken(forge({ alg: 'HS256', typ: 'JWT' }, payload), SECRET, NOW)).not.toBeNull()
  })

  it('refuses an expired token, with 30 s of leeway for clock skew', () => {
    const token = signAccessToken(CLAIMS, SECRET, 60, NOW)
    const expiry = NOW + 60_000
    expect(verifyAccessToken(token, SECRET, expiry + (TOKEN_LEEWAY_SECONDS - 1) * 1000)).not.toBeNull()
    expect(verifyAccessToken(token, SECRET, expiry + TOKEN_LEEWAY_SECONDS * 1000)).toBeNull()
    // Signed with a past expiry.
    const stale = signAccessToken({ ...CLAIMS, iat: NOW / 1000 - 3600 }, SECRET, 900, NOW)
    expect(verifyAccessToken(stale, SECRET, NOW)).toBeNull()
  })

  it('refuses tokens issued in the future or not valid yet', () => {
    const future = signAccessToken({ ...CLAIMS, iat: NOW / 1000 + 600 }, SECRET, 900, NOW)
    expect(verifyAccessToken(future, SECRET, NOW)).toBeNull()
    const payload = { ...CLAIMS, iat: NOW / 1000, exp: NOW / 1000 + 900, nbf: NOW / 1000 + 300 }
    expect(verifyAccessToken(forge({ alg: 'HS256', typ: 'JWT' }, payload), SECRET, NOW)).toBeNull()
    expect(
      verifyAccessToken(forge({ alg: 'HS256', typ: 'JWT' }, payload), SECRET, NOW + 300_000),
    ).not.toBeNull()
  })

  it('returns null for malformed tokens and claims of the wrong shape', () => {
    const header = { alg: 'HS256', typ: 'JWT' }
    const times = { iat: NOW / 1000, exp: NOW / 1000 + 900 }
    for (const token of [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      '!!!.???.***',
      `${b64(header)}.not-json.${hs256(`${b64(header)}.not-json`)}`,
      forge('a string header', { ...CLAIMS, ...times }),
      forge(header, ['an', 'array']),
      forge(header, { ...CLAIMS, ...times, sub: 42 }),
      forge(header, { ...CLAIMS, ...times, perms: 'product:read' }),
      forge(header, { ...CLAIMS, ...times, perms: [1] }),
      forge(header, { ...CLAIMS, ...times, su: 'true' }),
      forge(header, { ...CLAIMS, ...times, sid: undefined }),
      forge(header, { ...CLAIMS, exp: NOW / 1000 + 900 }),
      forge(header, { ...CLAIMS, iat: NOW / 1000, exp: '9999999999' }),
      forge(header, { ...CLAIMS, ...times, nbf: 'now' }),
      'x'.repeat(20_000),
    ]) {
      expect(verifyAccessToken(token, SECRET, NOW), token.slice(0, 60)).toBeNull()
    }
    expect(verifyAccessToken(signAccessToken(CLAIMS, SECRET, 900, NOW), '', NOW)).toBeNull()
    expect(() => signAccessToken(CLAIMS, '', 900)).toThrow()
  })
})

describe('refresh tokens and hashes', () => {
  it('makes 32 random bytes, base64url, never the same twice', () => {
    const a = newRefreshToken()
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(a, 'base64url')).toHaveLength(32)
    expect(new Set(Array.from({ length: 100 }, newRefreshToken)).size).toBe(100)
  })

  it('hashes with SHA-256 as lower-case hex', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})
