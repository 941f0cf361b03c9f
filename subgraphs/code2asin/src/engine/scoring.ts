/**
 * How a product and the catalogue items a provider found for it are compared.
 *
 * - exact: one of the item's identifiers (EAN, UPC, GTIN, compared as GTIN-14) is one of the product's. The
 *   confidence starts at 90, gains 5 when the brands agree (token-set similarity ≥ 0.8) and up to 5 more in
 *   proportion to the titles' token-set similarity.
 * - fuzzy: no identifier in common; the confidence is 100 × the weighted mean of the titles' similarity
 *   (weight 0.6), the brands' (0.25) and whether the manufacturer reference appears in the item's model
 *   number or title (0.15, 1 or 0), over the parts the product has; capped at 89 so that it never outranks
 *   an identifier match. A candidate below the job's minimum confidence is no match.
 * - none: neither.
 *
 * Token-set similarity of two texts: their words (lower case, accents removed, split on anything that is not a
 * letter or a digit) taken as sets A and B, scored 2·|A∩B| / (|A| + |B|) (Dice's coefficient), 0 to 1.
 */

export interface MatchProduct {
  id: string
  ean: string | null
  upc: string | null
  gtin: string | null
  title: string | null
  brand: string | null
  manufacturerReference: string | null
}

export interface CatalogItem {
  asin: string
  title: string | null
  brand: string | null
  manufacturer: string | null
  modelNumber: string | null
  /** Identifiers the catalogue lists for the item, e.g. { type: 'EAN', value: '4006381333931' }. */
  identifiers: { type: string; value: string }[]
  images: string[]
  salesRank: { rank: number; title: string | null } | null
  marketplaceId: string | null
  category: string | null
}

export type MatchType = 'exact' | 'fuzzy'

export interface Scored {
  item: CatalogItem
  matchType: MatchType
  /** 0 to 100, two decimals. */
  confidence: number
}

export const EXACT_BASE = 90
export const FUZZY_CAP = 89

/** Digits of a GTIN family code (EAN-8/13, UPC-A, GTIN-14) left-padded to 14, or null when it is none. */
export function gtin14(code: string | null | undefined): string | null {
  if (!code) return null
  const digits = code.replace(/[\s-]/g, '')
  if (!/^\d{8,14}$/.test(digits)) return null
  return digits.padStart(14, '0')
}

export function words(text: string | null | undefined): Set<string> {
  if (!text) return new Set()
  const plain = text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
  return new Set(plain.split(/[^a-z0-9]+/).filter((w) => w.length > 0))
}

/** Dice's coefficient over the two texts' word sets (0 when either has none). */
export function tokenSetSimilarity(a: string | null | undefined, b: string | null | undefined): number {
  const A = words(a)
  const B = words(b)
  if (A.size === 0 || B.size === 0) return 0
  let common = 0
  for (const w of A) if (B.has(w)) common++
  return (2 * common) / (A.size + B.size)
}

const round2 = (n: number) => Math.round(n * 100) / 100
const compact = (s: string | null | undefined) => (s ?? '').toLowerCase().replace(/[^a-z0-9]/g, '')

/** The product's codes as GTIN-14 (EAN first, then UPC, then GTIN). */
export function productCodes(p: MatchProduct): string[] {
  return [...new Set([p.ean, p.upc, p.gtin].map(gtin14).filter((c): c is string => c !== null))]
}

function brandsAgree(p: MatchProduct, item: CatalogItem): boolean {
  if (!p.brand) return false
  return (
    Math.max(tokenSetSimilarity(p.brand, item.brand), tokenSetSimilarity(p.brand, item.manufacturer)) >= 0.8
  )
}

export function scoreExact(p: MatchProduct, item: CatalogItem): number | null {
  const codes = new Set(productCodes(p))
  const hit = item.identifiers.some((i) => {
    const code = gtin14(i.value)
    return code !== null && codes.has(code)
  })
  if (!hit) return null
  const bonus = (brandsAgree(p, item) ? 5 : 0) + 5 * tokenSetSimilarity(p.title, item.title)
  return Math.min(100, round2(EXACT_BASE + bonus))
}

export function scoreFuzzy(p: MatchProduct, item: CatalogItem): number {
  const parts: [number, number][] = []
  if (p.title) parts.push([0.6, tokenSetSimilarity(p.title, item.title)])
  if (p.brand) {
    parts.push([
      0.25,
      Math.max(tokenSetSimilarity(p.brand, item.brand), tokenSetSimilarity(p.brand, item.manufacturer)),
    ])
  }
  const ref = compact(p.manufacturerReference)
  if (ref.length >= 3) {
    const found = compact(item.modelNumber) === ref || compact(item.title).includes(ref)
    parts.push([0.15, found ? 1 : 0])
  }
  const weight = parts.reduce((s, [w]) => s + w, 0)
  if (weight === 0) return 0
  const mean = parts.reduce((s, [w, v]) => s + w * v, 0) / weight
  return Math.min(FUZZY_CAP, round2(100 * mean))
}

/** The best identifier match among the items, or null. */
export function bestExact(p: MatchProduct, items: readonly CatalogItem[]): Scored | null {
  let best: Scored | null = null
  for (const item of items) {
    const confidence = scoreExact(p, item)
    if (confidence !== null && (!best || confidence > best.confidence)) {
      best = { item, matchType: 'exact', confidence }
    }
  }
  return best
}

/** The best keyword candidate at or above minConfidence, or null. */
export function bestFuzzy(
  p: MatchProduct,
  items: readonly CatalogItem[],
  minConfidence: number,
): Scored | null {
  let best: Scored | null = null
  for (const item of items) {
    const confidence = scoreFuzzy(p, item)
    if (confidence >= minConfidence && (!best || confidence > best.confidence)) {
      best = { item, matchType: 'fuzzy', confidence }
    }
  }
  return best
}

/** The keywords a fuzzy search sends: brand, title, manufacturer reference (at most 20 words). */
export function keywordsOf(p: MatchProduct): string[] {
  const all = [...words(p.brand), ...words(p.title), ...words(p.manufacturerReference)]
  return [...new Set(all)].slice(0, 20)
}
