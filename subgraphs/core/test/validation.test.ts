import { translateDbError } from '@pm/service-kit'
import { describe, expect, it } from 'vitest'
import { withInputFields } from '../src/mutations/shared'
import {
  checkPassword,
  checkSettingValue,
  checkUsername,
  normalizeEmail,
  normalizeRoleName,
} from '../src/validation'

const fieldOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return (error as { extensions: { code: string; field: string } }).extensions
  }
  throw new Error('expected a validation error')
}

describe('core input rules', () => {
  it('normalises emails: trimmed, lower-cased, a dotted domain', () => {
    expect(normalizeEmail('input.email', '  Jane.Doe+pm@Example.COM ')).toBe('jane.doe+pm@example.com')
    for (const bad of ['jane', 'jane@', '@example.com', 'jane@localhost', 'ja ne@example.com', 'a@b..com']) {
      expect(fieldOf(() => normalizeEmail('input.email', bad))).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'input.email',
      })
    }
    expect(fieldOf(() => normalizeEmail('input.email', `${'a'.repeat(65)}@example.com`)).field).toBe(
      'input.email',
    )
    expect(fieldOf(() => normalizeEmail('input.email', `a@${'b'.repeat(250)}.com`)).field).toBe('input.email')
  })

  it('applies the password policy without trimming', () => {
    expect(checkPassword('p', 'correct horse')).toBe('correct horse')
    expect(checkPassword('p', 'abcdefghi1')).toBe('abcdefghi1')
    expect(checkPassword('p', 'ÉTÉ-hiver-2026')).toBe('ÉTÉ-hiver-2026')
    expect(fieldOf(() => checkPassword('p', 'Short1!')).field).toBe('p')
    expect(fieldOf(() => checkPassword('p', 'onlylowercaseletters')).field).toBe('p')
    expect(fieldOf(() => checkPassword('p', '12345678901234')).field).toBe('p')
    expect(fieldOf(() => checkPassword('p', `Aa1${'x'.repeat(126)}`)).field).toBe('p')
    expect(fieldOf(() => checkPassword('p', 'Password1\u0000')).field).toBe('p')
    // 10 code points, even where UTF-16 counts more.
    expect(checkPassword('p', '😀😀😀😀😀😀😀😀😀a')).toHaveLength(19)
  })

  it('checks usernames and role names', () => {
    expect(checkUsername('u', ' Jane_Doe.2 ')).toBe('Jane_Doe.2')
    expect(checkUsername('u', null)).toBeNull()
    expect(fieldOf(() => checkUsername('u', 'ab')).field).toBe('u')
    expect(fieldOf(() => checkUsername('u', 'jane doe')).field).toBe('u')
    expect(normalizeRoleName('r', ' Editor ')).toBe('editor')
    expect(fieldOf(() => normalizeRoleName('r', 'r'.repeat(51))).field).toBe('r')
    expect(fieldOf(() => normalizeRoleName('r', '1admin')).field).toBe('r')
  })

  it('holds module switches to { enabled: boolean } under module.<known id>', () => {
    expect(checkSettingValue('module.icecat', 'modules', { enabled: false })).toEqual({ enabled: false })
    expect(checkSettingValue('catalog.default_currency', 'general', 'EUR')).toBe('EUR')
    expect(fieldOf(() => checkSettingValue('module.icecat', 'modules', { enabled: 'yes' })).field).toBe(
      'input.value',
    )
    expect(
      fieldOf(() => checkSettingValue('module.icecat', 'modules', { enabled: true, extra: 1 })).field,
    ).toBe('input.value')
    expect(fieldOf(() => checkSettingValue('module.icecat', 'modules', [true])).field).toBe('input.value')
    expect(fieldOf(() => checkSettingValue('module.nope', 'modules', { enabled: true })).field).toBe(
      'input.key',
    )
    expect(fieldOf(() => checkSettingValue('other', 'modules', { enabled: true })).field).toBe('input.key')
    expect(fieldOf(() => checkSettingValue('module.icecat', 'general', { enabled: true })).field).toBe(
      'input.category',
    )
    expect(fieldOf(() => checkSettingValue('big', 'general', 'x'.repeat(70_000))).field).toBe('input.value')
  })
})

describe('withInputFields', () => {
  it('names the input field of a unique violation the checks could not see (a concurrent insert)', async () => {
    const raced = translateDbError({ code: '23505', detail: 'Key (email)=(a@b.co) already exists.' })
    const error = await withInputFields(Promise.reject(raced), { email: 'input.email' }).catch((e) => e)
    expect(error.extensions).toEqual({ code: 'CONFLICT', field: 'input.email' })
    expect(error.message).toBe('input.email is already used by another record')
    const other = new Error('boom')
    expect(await withInputFields(Promise.reject(other), { email: 'input.email' }).catch((e) => e)).toBe(other)
  })
})
