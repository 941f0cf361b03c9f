import { diffValues, sameValue, slugify } from '@pm/service-kit'
import { GraphQLError } from 'graphql'
import { describe, expect, it } from 'vitest'
import { marginPercent, normalizeGtin, normalizeUpc, productColumns, rowError } from '../src/validation'

describe('marginPercent', () => {
  it('is (price - cost) / price x 100 rounded half away from zero, exactly', () => {
    expect(marginPercent('19.90', '12.00')).toBe('39.70')
    expect(marginPercent('3', '1')).toBe('66.67')
    expect(marginPercent('100', '100')).toBe('0.00')
    expect(marginPercent('10', '0')).toBe('100.00')
    // 0.125 % exactly: the half goes away from zero, as PostgreSQL's round() does.
    expect(marginPercent('800', '799')).toBe('0.13')
    expect(marginPercent('800', '801')).toBe('-0.13')
    expect(marginPercent('10', '20')).toBe('-100.00')
    // 0.1 + 0.2 style inputs stay exact.
    expect(marginPercent('0.30', '0.10')).toBe('66.67')
  })

  it('is null without a cost or with a zero price, undefined when NUMERIC(5,2) cannot hold it', () => {
    expect(marginPercent('10', null)).toBeNull()
    expect(marginPercent('0', '5')).toBeNull()
    expect(marginPercent('1', '10.99')).toBe('-999.00')
    expect(marginPercent('1', '11')).toBeUndefined()
  })
})

describe('slugify', () => {
  it('drops accents and joins words with dashes', () => {
    expect(slugify('Outillage électrique')).toBe('outillage-electrique')
    expect(slugify('  Câbles & adaptateurs  ')).toBe('cables-adaptateurs')
    expect(slugify('!!!')).toBe('')
  })
})

describe('UPC and GTIN', () => {
  it('keeps UPC-A on 12 digits and GTIN on 14', () => {
    expect(normalizeUpc('036000291452', 'upc')).toBe('036000291452')
    expect(normalizeUpc('0036000291452', 'upc')).toBe('036000291452')
    expect(() => normalizeUpc('4006381333931', 'upc')).toThrow(/UPC/)
    expect(normalizeGtin('4006381333931', 'gtin')).toBe('04006381333931')
    expect(normalizeGtin('96385074', 'gtin')).toBe('00000096385074')
  })
})

describe('productColumns', () => {
  it('validates only the given fields and names the path in errors', () => {
    expect(productColumns({ title: ' T ', description: null }, 'input')).toEqual({
      title: 'T',
      description: null,
    })
    expect(productColumns({ status: 'DRAFT' }, 'input')).toEqual({ status: 'draft', is_active: false })
    expect(productColumns({ status: 'out_of_stock', isActive: false }, 'input')).toEqual({
      status: 'out_of_stock',
      is_active: false,
    })
    const error = (() => {
      try {
        productColumns({ ean: '4006381333932' }, 'rows[17]')
      } catch (e) {
        return rowError(e)
      }
    })()
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rows[17].ean' })
    expect(() => productColumns({ title: null }, 'input')).toThrow(GraphQLError)
  })
})

describe('diffValues on catalog columns', () => {
  it('compares NUMERIC by value, jsonb by content and text exactly', () => {
    const row = { weight: '1.500', sku: '001', specs: { b: 1, a: [1, 2] }, note: null }
    expect(
      diffValues(
        row,
        { weight: '1.5', sku: '1', specs: JSON.stringify({ a: [1, 2], b: 1 }), note: null },
        { numeric: new Set(['weight']) },
      ).after,
    ).toEqual({ sku: '1' })
    expect(sameValue(new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00.000Z'))).toBe(true)
    expect(sameValue('0.10', '0.1', true)).toBe(true)
    expect(sameValue('10', '1', true)).toBe(false)
  })
})
