import { readFileSync } from 'node:fs'
import { type DomainUrls, withClient } from './data'
import { BENCH_SUPPLIER_CODE } from './params'
import { SUPERGRAPH_FILE } from './supergraph'

export const Q4_BULK_UPSERT = `mutation BulkUpsert($rows: [ProductUpsertInput!]!) {
  upsertProducts(rows: $rows, source: API) { created updated unchanged failed }
}`

export const UPSERT_ROWS = 1000
/** Row sets upserted in turn; each comes back with new prices and titles, so every call really writes. */
const SETS = 4
const VERSIONS = 4
/** Requests 0 … SETS-1 create (or reset) the sets; from request SETS on, each one changes its set's rows. */
export const UPSERT_FIRST_UPDATE = SETS

function checkDigit(body: string): number {
  let sum = 0
  for (let i = 0; i < body.length; i++) sum += Number(body[body.length - 1 - i]) * (i % 2 === 0 ? 3 : 1)
  return (10 - (sum % 10)) % 10
}

export interface UpsertPlan {
  /** SETS × VERSIONS bodies: request n sends set n % SETS at version ⌊n / SETS⌋ % VERSIONS */
  bodies: string[]
  /** The same rows as variables, for the statement count */
  variables: (n: number) => Record<string, unknown>
  supplierId: string
}

/** Why Q4 cannot run, or undefined when the graph has the mutation. */
export function upsertUnavailable(): string | undefined {
  const sdl = readFileSync(SUPERGRAPH_FILE, 'utf8')
  if (!/\bupsertProducts\(/.test(sdl)) {
    return 'Mutation.upsertProducts is not in gateway/supergraph.graphql yet (catalog, then `pnpm compose`)'
  }
  return undefined
}

/** The bench's own supplier (created in the bench catalog when missing) and 1,000-row request bodies for it. */
export async function planUpserts(urls: DomainUrls): Promise<UpsertPlan> {
  const { supplierId, brandIds, categoryIds } = await withClient(urls.catalog, async (c) => {
    const supplier = await c.query<{ id: string }>(
      `INSERT INTO suppliers (code, name, is_active, country) VALUES ($1, 'Benchmark supplier (Q4 upserts)', true, 'FR')
       ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code RETURNING id::text AS id`,
      [BENCH_SUPPLIER_CODE],
    )
    const brands = await c.query<{ id: string }>(
      `SELECT id::text AS id FROM brands ORDER BY md5(id::text) LIMIT 20`,
    )
    const categories = await c.query<{ id: string }>(
      `SELECT id::text AS id FROM categories WHERE is_active = true ORDER BY md5(id::text) LIMIT 20`,
    )
    return {
      supplierId: supplier.rows[0]!.id,
      brandIds: brands.rows.map((r) => r.id),
      categoryIds: categories.rows.map((r) => r.id),
    }
  })
  const rowsFor = (set: number, version: number) =>
    Array.from({ length: UPSERT_ROWS }, (_, i) => {
      const n = set * UPSERT_ROWS + i
      const body = `2${String(9_000_000_000 + n).padStart(11, '0')}`
      const cents = 1_000 + ((n * 37) % 50_000) + version * 100
      return {
        supplierId,
        sku: `BENCH-${String(n).padStart(6, '0')}`,
        ean: `${body}${checkDigit(body)}`,
        title: `Benchmark product ${n} (v${version})`,
        description: `Written by the Q4 benchmark scenario, version ${version}.`,
        brandId: brandIds.length ? brandIds[n % brandIds.length] : null,
        categoryId: categoryIds.length ? categoryIds[n % categoryIds.length] : null,
        status: 'ACTIVE',
        weight: ((n % 5000) / 1000 + 0.1).toFixed(3),
        technicalSpecs: { color: ['black', 'white', 'red'][n % 3], warranty_years: 2 },
        price: (cents / 100).toFixed(2),
        cost: ((cents * 0.6) / 100).toFixed(2),
        currency: 'EUR',
      }
    })
  const variables = (n: number) => ({ rows: rowsFor(n % SETS, Math.floor(n / SETS) % VERSIONS) })
  const bodies = Array.from({ length: SETS * VERSIONS }, (_, n) =>
    JSON.stringify({ query: Q4_BULK_UPSERT, variables: variables(n) }),
  )
  return { bodies, variables, supplierId }
}
