import type { Domain } from '@pm/db'
import type { LeafFixture } from '../fixtures'
import { DAY_MS, Random } from '../random'

/** Everything a table generator needs: the options and labelled PRNG streams. */
export interface Ctx {
  seed: number
  products: number
  now: Date
  /** A PRNG stream for one data area; same label, seed and size → same draws. */
  rng(label: string): Random
  daysAgo(days: number): Date
  /** `date` moved forward by `ms`, but never later than now. */
  after(date: Date, ms: number): Date
}

export function createContext(seed: number, products: number, now: Date): Ctx {
  const nowMs = now.getTime()
  return {
    seed,
    products,
    now,
    rng: (label) => new Random(`pm-seed/${seed}/${products}/${label}`),
    daysAgo: (days) => new Date(nowMs - days * DAY_MS),
    after: (date, ms) => new Date(Math.min(nowMs, date.getTime() + ms)),
  }
}

/**
 * The id of each database's anchor row, the same for every seed: seed.ts recognises demo data of an
 * earlier run by it (see the partial-failure rule there).
 */
export function anchorId(domain: Domain): string {
  return new Random(`pm-seed/anchor/${domain}`).uuid()
}

export interface UserInfo {
  id: string
  role: string
  username: string
  fullName: string
  createdAt: Date
}

export interface SupplierInfo {
  id: string
  code: string
  name: string
  isActive: boolean
  roots: string[]
}

export interface ProductInfo {
  id: string
  index: number
  sku: string
  ean: string
  title: string
  brand: string
  supplier: SupplierInfo
  leaf: LeafFixture
  createdAt: Date
  isActive: boolean
  /** Current retail price in cents. */
  retailCents: number
  /** Set by the code2asin generator when a verified match exists. */
  asin: string | null
}

export const HOUR_MS = 3_600_000
export const MINUTE_MS = 60_000
