import { describe, expect, it } from 'vitest'
import {
  ANONYMOUS,
  type Caller,
  MIN_SECRET_LENGTH,
  requireSecret,
  SERVICE,
  SecretConfigError,
  signCaller,
  verifyCaller,
} from '../src/identity'

const SECRET = 's'.repeat(MIN_SECRET_LENGTH)
const user: Caller = {
  kind: 'user',
  userId: '7d1f9a3e-2b4c-4d5e-8f90-123456789abc',
  apiKeyId: null,
  permissions: ['product:read'],
  superuser: false,
}

describe('signed caller identities', () => {
  const verify = (headers: Record<string, string>, secret = SECRET, now = Date.now()) =>
    verifyCaller(headers['x-pm-caller'], headers['x-pm-signature'], secret, now)

  it('verify what was signed, within 60 s', () => {
    for (const caller of [user, ANONYMOUS, SERVICE])
      expect(verify(signCaller(caller, SECRET))).toEqual(caller)
    const now = Date.now()
    expect(verify(signCaller(user, SECRET, now - 59_000), SECRET, now)).toEqual(user)
  })

  it('refuse stale, future, forged, tampered and missing identities', () => {
    const now = Date.now()
    expect(verify(signCaller(user, SECRET, now - 61_000), SECRET, now)).toBeNull()
    expect(verify(signCaller(user, SECRET, now + 10_000), SECRET, now)).toBeNull()
    expect(verify(signCaller(user, SECRET), 't'.repeat(MIN_SECRET_LENGTH))).toBeNull()
    const signed = signCaller(user, SECRET)
    const elevated = signCaller({ ...user, superuser: true }, SECRET)
    expect(verify({ ...signed, 'x-pm-caller': elevated['x-pm-caller']! })).toBeNull()
    expect(verifyCaller(undefined, signed['x-pm-signature'], SECRET)).toBeNull()
    expect(verifyCaller(signed['x-pm-caller'], undefined, SECRET)).toBeNull()
    expect(verifyCaller('not base64 json', 'x', SECRET)).toBeNull()
  })
})

describe('requireSecret', () => {
  it('returns a long enough secret; names the variable when missing or short', () => {
    expect(requireSecret('GATEWAY_SIGNING_SECRET', { GATEWAY_SIGNING_SECRET: ` ${SECRET} ` })).toBe(SECRET)
    const missing = () => requireSecret('AUTH_TOKEN_SECRET', {})
    expect(missing).toThrow(SecretConfigError)
    expect(missing).toThrow(/^AUTH_TOKEN_SECRET is not set: .*pnpm start/)
    expect(() => requireSecret('AUTH_TOKEN_SECRET', { NODE_ENV: 'production' })).toThrow(
      /^AUTH_TOKEN_SECRET is not set: it is required in production/,
    )
    expect(() => requireSecret('GATEWAY_SIGNING_SECRET', { GATEWAY_SIGNING_SECRET: 'short' })).toThrow(
      /GATEWAY_SIGNING_SECRET is too short \(5 characters\)/,
    )
  })
})
