import { describe, expect, it } from 'vitest'
import { checkAsin, checkCreateJob, checkResult, isIsbn10, resultKey } from '../src/validation'

const fieldOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return (error as { extensions: { code: string; field: string } }).extensions
  }
  throw new Error('expected an error')
}

describe('checkAsin', () => {
  it('accepts B0 ASINs (upper-cased) and ISBN-10s with a valid check digit', () => {
    expect(checkAsin('asin', ' b07xjwd1w4 ')).toBe('B07XJWD1W4')
    expect(checkAsin('asin', '0306406152')).toBe('0306406152')
    expect(checkAsin('asin', '080442957x')).toBe('080442957X')
    expect(isIsbn10('0306406153')).toBe(false)
  })

  it('refuses other codes naming the field', () => {
    for (const bad of ['B0123', 'B0-1234567', 'A123456789', '0306406153', 'B0123456789']) {
      expect(fieldOf(() => checkAsin('results[2].asin', bad))).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'results[2].asin',
      })
    }
  })
})

describe('checkResult', () => {
  // Ids arrive lower-cased: the UUID scalar normalises them before any resolver runs.
  const base = { productId: 'a6b7e2d8-0000-4000-8000-000000000000' }

  it('normalises a match: EAN, decimals, currency default', () => {
    const values = checkResult('results[0]', {
      ...base,
      asin: 'B0ABCDEFGH',
      matchType: 'exact',
      matchConfidence: '099.50',
      productEan: '400-6381-33393-1',
      amazonPrice: '5',
    })
    expect(values).toMatchObject({
      product_id: 'a6b7e2d8-0000-4000-8000-000000000000',
      product_ean: '4006381333931',
      match_type: 'exact',
      match_confidence: '99.5',
      amazon_price: '5',
      amazon_currency: 'EUR',
    })
    expect(resultKey(values)).toBe('a6b7e2d8-0000-4000-8000-000000000000|B0ABCDEFGH')
  })

  it('takes a no-match row without type or confidence, and refuses inconsistent rows', () => {
    expect(checkResult('r', base)).toMatchObject({ asin: null, match_type: null, amazon_currency: null })
    expect(fieldOf(() => checkResult('r', { ...base, matchType: 'exact' })).field).toBe('r.matchType')
    expect(
      fieldOf(() => checkResult('r', { ...base, asin: 'B0ABCDEFGH', matchConfidence: '90' })).field,
    ).toBe('r.matchType')
    expect(fieldOf(() => checkResult('r', { ...base, asin: 'B0ABCDEFGH', matchType: 'exact' })).field).toBe(
      'r.matchConfidence',
    )
    const match = { ...base, asin: 'B0ABCDEFGH', matchType: 'exact' as const, matchConfidence: '90' }
    expect(fieldOf(() => checkResult('r', { ...match, matchConfidence: '100.01' })).field).toBe(
      'r.matchConfidence',
    )
    expect(fieldOf(() => checkResult('r', { ...match, matchConfidence: '-1' })).field).toBe(
      'r.matchConfidence',
    )
    // AsinMatchType refuses it in the schema before any resolver; the check still refuses it after.
    // @ts-expect-error not an AsinMatchType
    expect(fieldOf(() => checkResult('r', { ...match, matchType: 'close' })).field).toBe('r.matchType')
    expect(fieldOf(() => checkResult('r', { ...match, amazonPrice: '-0.01' })).field).toBe('r.amazonPrice')
    expect(fieldOf(() => checkResult('r', { ...match, amazonRating: '5.5' })).field).toBe('r.amazonRating')
    expect(fieldOf(() => checkResult('r', { ...match, amazonReviewCount: -1 })).field).toBe(
      'r.amazonReviewCount',
    )
    expect(fieldOf(() => checkResult('r', { ...match, amazonCurrency: 'XYZ' })).field).toBe(
      'r.amazonCurrency',
    )
    expect(fieldOf(() => checkResult('r', { ...match, productEan: '12345' })).field).toBe('r.productEan')
  })
})

describe('checkCreateJob', () => {
  it('needs exactly one of productIds and supplierCode', () => {
    expect(fieldOf(() => checkCreateJob({}))).toEqual({ code: 'BAD_USER_INPUT', field: 'input.productIds' })
    expect(fieldOf(() => checkCreateJob({ productIds: ['a'], supplierCode: 'S' })).field).toBe(
      'input.productIds',
    )
    expect(checkCreateJob({ productIds: ['a', 'a', 'b'] }).target).toEqual({
      kind: 'products',
      productIds: ['a', 'b'],
    })
    expect(checkCreateJob({ supplierCode: ' S1 ' }).target).toEqual({ kind: 'supplier', code: 'S1' })
    expect(fieldOf(() => checkCreateJob({ supplierCode: 'x'.repeat(101) })).field).toBe('input.supplierCode')
    expect(fieldOf(() => checkCreateJob({ supplierCode: 'S', maxRetries: 21 })).field).toBe(
      'input.maxRetries',
    )
  })
})
