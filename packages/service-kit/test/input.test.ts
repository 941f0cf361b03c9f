import { GraphQLError } from 'graphql'
import { describe, expect, it } from 'vitest'
import {
  checkCountry,
  checkCurrency,
  checkDecimal,
  checkEnum,
  checkString,
  decodeCursor,
  encodeCursor,
  hashPassword,
  maskSecrets,
  normalizeEan,
  translateDbError,
  verifyPassword,
} from '../src'

function failure(fn: () => unknown): { message: string; [key: string]: unknown } {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError)
    return { message: (error as GraphQLError).message, ...(error as GraphQLError).extensions }
  }
  throw new Error('expected a failure')
}

describe('normalizeEan', () => {
  it('keeps valid codes and cleans separators', () => {
    expect(normalizeEan('4006381333931')).toBe('4006381333931')
    expect(normalizeEan(' 5 901234-123457 ')).toBe('5901234123457')
    expect(normalizeEan('96385074')).toBe('96385074') // EAN-8
    expect(normalizeEan('10012345000017')).toBe('10012345000017') // GTIN-14
  })
  it('pads a 12-digit UPC-A (or an EAN-13 that lost its leading zero) to 13', () => {
    expect(normalizeEan('036000291452')).toBe('0036000291452')
  })
  it('recovers a spreadsheet number only when every digit is written', () => {
    expect(normalizeEan('4.006381333931e12')).toBe('4006381333931')
    expect(normalizeEan('4006381333931.00')).toBe('4006381333931')
    expect(failure(() => normalizeEan('3.01234567890e12'))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'ean',
      message: expect.stringContaining('rounded number'),
    })
    expect(failure(() => normalizeEan('4006381333931.5')).message).toContain('rounded number')
  })
  it('refuses wrong check digits, letters and odd lengths, naming the field', () => {
    expect(failure(() => normalizeEan('4006381333932', 'rows[3].ean'))).toMatchObject({
      field: 'rows[3].ean',
      message: expect.stringContaining('check digit'),
    })
    expect(failure(() => normalizeEan('40063813339AB')).message).toContain('only digits')
    expect(failure(() => normalizeEan('1234567')).message).toContain('7 digits')
    expect(failure(() => normalizeEan('   ')).message).toContain('empty')
  })
})

describe('input checks', () => {
  it('bounds strings by their column', () => {
    expect(checkString('input.title', '  Hello ', { max: 10 })).toBe('Hello')
    expect(checkString('input.title', null, { max: 10 })).toBeNull()
    expect(failure(() => checkString('input.title', 'x'.repeat(11), { max: 10 }))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.title',
    })
    expect(failure(() => checkString('input.title', '   ', { max: 10 })).message).toBe(
      'input.title must not be empty',
    )
  })
  it('fits decimals to NUMERIC(p, s) without floats', () => {
    expect(checkDecimal('p', '0019.900', { precision: 10, scale: 2 })).toBe('19.9')
    expect(checkDecimal('p', '99999999.99', { precision: 10, scale: 2 })).toBe('99999999.99')
    expect(failure(() => checkDecimal('p', '100000000', { precision: 10, scale: 2 })).message).toContain(
      'too many digits',
    )
    expect(failure(() => checkDecimal('p', '1.234', { precision: 10, scale: 2 })).message).toContain(
      'more than 2 decimals',
    )
    expect(failure(() => checkDecimal('p', '-1', { precision: 10, scale: 2, min: '0' })).message).toContain(
      'at least 0',
    )
    expect(failure(() => checkDecimal('p', '1e3', { precision: 10, scale: 2 })).message).toContain(
      'decimal number',
    )
  })
  it('checks enums, currencies and countries', () => {
    expect(checkEnum('s', 'Active', ['active', 'inactive'] as const)).toBe('active')
    expect(failure(() => checkEnum('s', 'gone', ['active', 'inactive'] as const)).message).toBe(
      's must be one of active, inactive',
    )
    expect(checkCurrency('c', 'eur')).toBe('EUR')
    expect(failure(() => checkCurrency('c', 'EUX')).field).toBe('c')
    expect(checkCountry('k', 'fr')).toBe('FR')
    expect(failure(() => checkCountry('k', 'XX')).field).toBe('k')
  })
})

describe('database error translation', () => {
  it('maps constraint violations to stable codes without SQL', () => {
    expect(
      translateDbError({
        code: '23505',
        constraint: 'suppliers_code_key',
        detail: 'Key (code)=(ACME) already exists.',
      })?.extensions,
    ).toEqual({ code: 'CONFLICT', field: 'code' })
    expect(
      translateDbError({ code: '23503', detail: 'Key (brand_id)=(x) is not present in table "brands".' })
        ?.extensions,
    ).toEqual({ code: 'NOT_FOUND', field: 'brand_id' })
    expect(translateDbError({ code: '42601' })).toBeUndefined()
  })
})

describe('cursors', () => {
  const order = { key: 'CREATED_AT:DESC', column: 't.created_at', id: 't.id', direction: 'desc' as const }
  it('round-trip and refuse another order or garbage', () => {
    expect(decodeCursor(order, encodeCursor(order, '2026-01-01 00:00:00', 'abc'))).toEqual({
      value: '2026-01-01 00:00:00',
      id: 'abc',
    })
    expect(
      failure(() => decodeCursor({ ...order, key: 'TITLE:ASC' }, encodeCursor(order, null, 'a'))).message,
    ).toContain('another order')
    expect(failure(() => decodeCursor(order, 'not-a-cursor')).code).toBe('BAD_USER_INPUT')
  })
})

describe('secrets and passwords', () => {
  it('masks secret-looking keys at any depth', () => {
    expect(
      maskSecrets({ host: 'h', api_key: 'k', nested: [{ Password: 'p', user: 'u' }], token: null }),
    ).toEqual({
      host: 'h',
      api_key: '***',
      nested: [{ Password: '***', user: 'u' }],
      token: null,
    })
  })
  it('hashes with a fresh salt and verifies in constant time', async () => {
    const a = await hashPassword('correct horse battery')
    const b = await hashPassword('correct horse battery')
    expect(a).not.toBe(b)
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{128}$/)
    expect(await verifyPassword('correct horse battery', a)).toBe(true)
    expect(await verifyPassword('wrong', a)).toBe(false)
    expect(await verifyPassword('x', 'md5$abc')).toBe(false)
  })
})
