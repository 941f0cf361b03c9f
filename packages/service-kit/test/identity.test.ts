import { describe, expect, it } from 'vitest'
import {
  ANONYMOUS,
  type Caller,
  MIN_SECRET_LENGTH,
  requireSecret,
  SERVICE,
  SecretConfigError,
  type SignedRequest,
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
  const request = { target: 'catalog', payload: '{"query":"{ products(first: 1) { totalCount } }"}' }
  const verify = (
    headers: Record<string, string>,
    secret = SECRET,
    now = Date.now(),
    to: SignedRequest = request,
  ) => verifyCaller(headers['x-pm-caller'], headers['x-pm-signature'], secret, to, now)

  it('verify what was signed for this request, within 15 s (2 s of clock skew ahead)', () => {
    for (const caller of [user, ANONYMOUS, SERVICE])
      expect(verify(signCaller(caller, SECRET, request))).toEqual(caller)
    const now = Date.now()
    expect(verify(signCaller(user, SECRET, request, now - 14_000), SECRET, now)).toEqual(user)
    expect(verify(signCaller(user, SECRET, request, now + 1_500), SECRET, now)).toEqual(user)
  })

  it('refuse a signature taken from another request: another body, another subgraph', () => {
    const signed = signCaller(SERVICE, SECRET, request)
    expect(verify(signed, SECRET, Date.now(), { ...request, payload: `${request.payload} ` })).toBeNull()
    expect(verify(signed, SECRET, Date.now(), { ...request, target: 'core' })).toBeNull()
    expect(verify(signed, SECRET, Date.now(), { target: 'catalog', payload: '' })).toBeNull()
  })

  it('refuse stale, future, forged, tampered and missing identities', () => {
    const now = Date.now()
    expect(verify(signCaller(user, SECRET, request, now - 16_000), SECRET, now)).toBeNull()
    expect(verify(signCaller(user, SECRET, request, now + 3_000), SECRET, now)).toBeNull()
    expect(verify(signCaller(user, SECRET, request), 't'.repeat(MIN_SECRET_LENGTH))).toBeNull()
    const signed = signCaller(user, SECRET, request)
    const elevated = signCaller({ ...user, superuser: true }, SECRET, request)
    expect(verify({ ...signed, 'x-pm-caller': elevated['x-pm-caller']! })).toBeNull()
    expect(verifyCaller(undefined, signed['x-pm-signature'], SECRET, request)).toBeNull()
    expect(verifyCaller(signed['x-pm-caller'], undefined, SECRET, request)).toBeNull()
    expect(verifyCaller('not base64 json', 'x', SECRET, request)).toBeNull()
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
