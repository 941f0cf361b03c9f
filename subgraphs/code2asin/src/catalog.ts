import { queryPeer } from '@pm/service-kit'
import type { Context } from './context'

/** Questions to catalog through its graph (never its database); queryPeer answers SERVICE_UNAVAILABLE when down. */

const PRODUCT_ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Product { id } }
}`

// One catalog statement per chunk (its loader batches _entities); chunks keep request bodies small.
const CHUNK = 1_000

/** The positions in `ids` of the products catalog does not have. */
export async function missingProductIndexes(ctx: Context, ids: readonly string[]): Promise<number[]> {
  const chunks: string[][] = []
  for (let i = 0; i < ids.length; i += CHUNK) chunks.push(ids.slice(i, i + CHUNK))
  const answers = await Promise.all(
    chunks.map((chunk) =>
      queryPeer<{ _entities: ({ id: string } | null)[] }>(ctx.peers, 'catalog', PRODUCT_ENTITIES, {
        representations: chunk.map((id) => ({ __typename: 'Product', id })),
      }),
    ),
  )
  return answers.flatMap((a, c) => a._entities.flatMap((e, i) => (e == null ? [c * CHUNK + i] : [])))
}

const SUPPLIER_PRODUCTS = `query($code: String!) {
  supplierByCode(code: $code) { code products(first: 1) { totalCount } }
}`

/** The supplier's canonical code and how many products it has; null when catalog has no such supplier. */
export async function supplierProductCount(ctx: Context, code: string) {
  const data = await queryPeer<{
    supplierByCode: { code: string; products: { totalCount: number } } | null
  }>(ctx.peers, 'catalog', SUPPLIER_PRODUCTS, { code })
  const supplier = data.supplierByCode
  return supplier ? { code: supplier.code, productCount: supplier.products.totalCount } : null
}
