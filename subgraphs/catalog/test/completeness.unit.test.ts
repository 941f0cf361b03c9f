import { describe, expect, it } from 'vitest'
import { COMPLETENESS_ITEMS, completenessScore, DEFAULT_REQUIRED, normaliseRules } from '../src/completeness'

describe('completeness rules', () => {
  it('scores the rounded share of required items present, 100 when nothing is required', () => {
    expect(completenessScore(DEFAULT_REQUIRED, [])).toBe(100)
    expect(completenessScore(DEFAULT_REQUIRED, ['IMAGE'])).toBe(86)
    expect(completenessScore(DEFAULT_REQUIRED, ['PRICE', 'STOCK', 'IMAGE'])).toBe(57)
    expect(completenessScore(DEFAULT_REQUIRED, DEFAULT_REQUIRED)).toBe(0)
    expect(completenessScore([], [])).toBe(100)
  })

  it('stores rules without duplicates in the items order; null stands for the defaults', () => {
    expect(normaliseRules(['PRICE', 'TITLE', 'PRICE'])).toEqual(['TITLE', 'PRICE'])
    expect(normaliseRules([])).toEqual([])
    expect(normaliseRules(null)).toBeNull()
    expect(normaliseRules(undefined)).toBeNull()
  })

  it('defaults to title, description, EAN, brand, price, stock and an image', () => {
    expect(DEFAULT_REQUIRED).toEqual(['TITLE', 'DESCRIPTION', 'EAN', 'BRAND', 'PRICE', 'STOCK', 'IMAGE'])
    for (const item of DEFAULT_REQUIRED) expect(COMPLETENESS_ITEMS).toContain(item)
  })
})
