import {
  badUserInput,
  checkCurrency,
  checkDecimal,
  checkEnum,
  checkInt,
  checkJsonObject,
  checkString,
  MAX_URL_LENGTH,
  normalizeEan,
} from '@pm/service-kit'
import { checkProvider } from './engine/config'
import type { Code2AsinResultInput, CreateCode2AsinJobInput } from './generated/graphql'

/** Input checks of the code2asin mutations: run before SQL, each error names its GraphQL field. */

export const MATCH_TYPES = ['exact', 'partial', 'fuzzy', 'manual'] as const
export const MAX_JOB_PRODUCTS = 10_000
export const MAX_RESULTS_PER_CALL = 1_000
const MAX_IMAGES = 50

/** ISBN-10: nine digits and a check digit (0-9 or X) with Σ (10 - i) × dᵢ ≡ 0 (mod 11). */
export function isIsbn10(code: string): boolean {
  if (!/^\d{9}[\dX]$/.test(code)) return false
  let sum = 0
  for (let i = 0; i < 10; i++) sum += (10 - i) * (code[i] === 'X' ? 10 : Number(code[i]))
  return sum % 11 === 0
}

/**
 * An Amazon ASIN: 10 characters A-Z 0-9 (upper-cased), either a B0… identifier or, for books, the ISBN-10
 * Amazon uses as their ASIN (check digit verified, so a mistyped EAN fragment is caught).
 */
export function checkAsin(field: string, value: string): string {
  const asin = value.trim().toUpperCase()
  if (!/^[A-Z0-9]{10}$/.test(asin)) {
    throw badUserInput(`${field} must be 10 characters, letters A-Z and digits (e.g. B0C1234567)`, { field })
  }
  if (!asin.startsWith('B0') && !isIsbn10(asin)) {
    throw badUserInput(`${field} must start with B0, or be an ISBN-10 with a valid check digit`, { field })
  }
  return asin
}

export type JobTarget =
  | { kind: 'products'; productIds: string[] }
  | { kind: 'supplier'; code: string }
  | { kind: 'unverified'; code: string | null }

export function checkCreateJob(input: CreateCode2AsinJobInput) {
  const hasProducts = input.productIds != null
  const hasSupplier = input.supplierCode != null
  const unverified = input.withoutVerifiedAsin === true
  if (unverified && hasProducts) {
    throw badUserInput(
      'input.withoutVerifiedAsin and input.productIds cannot both be given: list the products, or ask for those without a verified match',
      { field: 'input.withoutVerifiedAsin' },
    )
  }
  if (unverified && !input.provider) {
    throw badUserInput('input.withoutVerifiedAsin needs input.provider: the worker lists the products', {
      field: 'input.provider',
    })
  }
  if (!unverified && hasProducts === hasSupplier) {
    throw badUserInput(
      hasProducts
        ? 'input.productIds and input.supplierCode cannot both be given: a job covers a set of products or a supplier'
        : 'input.productIds or input.supplierCode is required: a job covers a set of products or a supplier',
      { field: 'input.productIds' },
    )
  }
  let target: JobTarget
  if (hasProducts) {
    // A set: repeats change nothing, so they are dropped rather than refused.
    const productIds = [...new Set(input.productIds!)]
    if (productIds.length === 0 || productIds.length > MAX_JOB_PRODUCTS) {
      throw badUserInput(`input.productIds must hold 1 to ${MAX_JOB_PRODUCTS} product ids`, {
        field: 'input.productIds',
      })
    }
    target = { kind: 'products', productIds }
  } else if (unverified) {
    target = {
      kind: 'unverified',
      code: hasSupplier ? checkString('input.supplierCode', input.supplierCode!, { max: 100 }) : null,
    }
  } else {
    target = { kind: 'supplier', code: checkString('input.supplierCode', input.supplierCode!, { max: 100 }) }
  }
  const searchConfig = checkJsonObject('input.searchConfig', input.searchConfig)
  if (searchConfig && 'productIds' in searchConfig) {
    throw badUserInput('input.searchConfig.productIds is reserved: give the products in input.productIds', {
      field: 'input.searchConfig.productIds',
    })
  }
  const minConfidence = searchConfig?.min_confidence
  if (
    minConfidence !== undefined &&
    (typeof minConfidence !== 'number' || !(minConfidence >= 0 && minConfidence <= 100))
  ) {
    throw badUserInput('input.searchConfig.min_confidence must be a number from 0 to 100', {
      field: 'input.searchConfig.min_confidence',
    })
  }
  const autoVerify = checkDecimal('input.autoVerifyConfidence', input.autoVerifyConfidence, {
    precision: 5,
    scale: 2,
    min: '0',
    max: '100',
  })
  if (autoVerify !== null && !input.provider) {
    throw badUserInput('input.autoVerifyConfidence needs input.provider: the worker verifies', {
      field: 'input.autoVerifyConfidence',
    })
  }
  return {
    target,
    provider: input.provider ? checkProvider('input.provider', input.provider) : null,
    autoVerifyConfidence: autoVerify,
    name: checkString('input.name', input.name, { max: 255 }),
    batch_size: checkInt('input.batchSize', input.batchSize, { min: 1, max: 1000 }),
    max_retries: checkInt('input.maxRetries', input.maxRetries, { min: 0, max: 20 }),
    searchConfig,
  }
}

/** The code2asin_results values of one input row (`field` is its path, e.g. results[3]). */
export function checkResult(field: string, input: Code2AsinResultInput) {
  const asin = input.asin == null ? null : checkAsin(`${field}.asin`, input.asin)
  const matchType = checkEnum(`${field}.matchType`, input.matchType, MATCH_TYPES)
  const matchConfidence = checkDecimal(`${field}.matchConfidence`, input.matchConfidence, {
    precision: 5,
    scale: 2,
    min: '0',
    max: '100',
  })
  if (asin !== null) {
    if (matchType === null) {
      throw badUserInput(`${field}.matchType is required with an asin`, { field: `${field}.matchType` })
    }
    if (matchConfidence === null) {
      throw badUserInput(`${field}.matchConfidence is required with an asin`, {
        field: `${field}.matchConfidence`,
      })
    }
  } else {
    // No asin records "no match found": a match type or confidence would describe a match that is not there.
    if (matchType !== null) {
      throw badUserInput(`${field}.matchType must be left out when no asin was found`, {
        field: `${field}.matchType`,
      })
    }
    if (matchConfidence !== null) {
      throw badUserInput(`${field}.matchConfidence must be left out when no asin was found`, {
        field: `${field}.matchConfidence`,
      })
    }
  }
  const amazonPrice = checkDecimal(`${field}.amazonPrice`, input.amazonPrice, {
    precision: 10,
    scale: 2,
    min: '0',
  })
  const images = input.amazonImages ?? null
  if (images !== null && images.length > MAX_IMAGES) {
    throw badUserInput(`${field}.amazonImages may hold at most ${MAX_IMAGES} URLs`, {
      field: `${field}.amazonImages`,
    })
  }
  return {
    product_id: input.productId,
    product_ean: input.productEan == null ? null : normalizeEan(input.productEan, `${field}.productEan`),
    product_title: checkString(`${field}.productTitle`, input.productTitle, { max: 500 }),
    asin,
    amazon_title: checkString(`${field}.amazonTitle`, input.amazonTitle, { max: 2000 }),
    match_confidence: matchConfidence,
    match_type: matchType,
    amazon_price: amazonPrice,
    // The column's default, applied only where a price needs a currency.
    amazon_currency:
      checkCurrency(`${field}.amazonCurrency`, input.amazonCurrency) ?? (amazonPrice === null ? null : 'EUR'),
    amazon_category: checkString(`${field}.amazonCategory`, input.amazonCategory, { max: 255 }),
    amazon_rating: checkDecimal(`${field}.amazonRating`, input.amazonRating, {
      precision: 3,
      scale: 2,
      min: '0',
      max: '5',
    }),
    amazon_review_count: checkInt(`${field}.amazonReviewCount`, input.amazonReviewCount, { min: 0 }),
    amazon_data: checkJsonObject(`${field}.amazonData`, input.amazonData),
    amazon_images:
      images === null
        ? null
        : images.map((url, i) => checkString(`${field}.amazonImages[${i}]`, url, { max: MAX_URL_LENGTH })),
  }
}

export type ResultValues = ReturnType<typeof checkResult>

/** The natural key of a result: one row per job, product and asin (null asin = "no match"). */
export const resultKey = (r: { product_id: string; asin: string | null }) => `${r.product_id}|${r.asin ?? ''}`
