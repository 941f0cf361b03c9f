import { type GraphQLError, Kind } from 'graphql'
import { describe, expect, it } from 'vitest'
import { checkEmail, EmailAddressResolver, isEmailAddress, UuidResolver } from '../src'

describe('the EmailAddress scalar', () => {
  it('takes exactly the addresses checkEmail takes (one rule)', () => {
    const samples = [
      'buyer@example.com',
      'Jane.Doe+news@sub.example.fr',
      'a@localhost',
      'no-at-sign.example.com',
      'two@@example.com',
      `${'x'.repeat(65)}@example.com`,
      `${'x'.repeat(64)}@example.com`,
      `a@${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.${'g'.repeat(60)}.com`,
    ]
    for (const sample of samples) {
      let scalar = true
      try {
        EmailAddressResolver.parseValue(sample)
      } catch {
        scalar = false
      }
      let checked = true
      try {
        checkEmail('email', sample)
      } catch {
        checked = false
      }
      expect([sample, scalar]).toEqual([sample, checked])
      expect(scalar).toBe(isEmailAddress(sample))
    }
    expect(isEmailAddress('a@localhost')).toBe(false)
    expect(isEmailAddress('buyer@example.com')).toBe(true)
  })

  it('refuses a malformed literal or value with BAD_USER_INPUT', () => {
    const refusal = (run: () => unknown) => {
      try {
        run()
      } catch (error) {
        return (error as GraphQLError).extensions?.code
      }
      return 'accepted'
    }
    expect(refusal(() => EmailAddressResolver.parseLiteral({ kind: Kind.STRING, value: 'nope' }))).toBe(
      'BAD_USER_INPUT',
    )
    expect(refusal(() => EmailAddressResolver.parseValue(42))).toBe('BAD_USER_INPUT')
  })
})

describe('the UUID scalar', () => {
  it('answers any case in lower case, from values and literals', () => {
    const id = '3F2B8C1E-9A4D-4C7E-8F1A-2B3C4D5E6F70'
    expect(UuidResolver.parseValue(id)).toBe(id.toLowerCase())
    expect(UuidResolver.parseLiteral({ kind: Kind.STRING, value: id })).toBe(id.toLowerCase())
  })
})
