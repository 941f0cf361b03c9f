import { queryPeer } from '@pm/service-kit'
import type { Context } from './context'

const PRODUCTS = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Product { id } }
}`

/** Ids per question to catalog: one batched statement there, a body of ~50 KB here. */
export const PRODUCT_CHUNK = 1_000
/** Questions in flight at once, so a 10,000-id job does not take all of catalog's connections. */
const PARALLEL = 3

/**
 * The ids catalog does not know, asked through the graph (`_entities`, null for a missing product) in
 * chunks, never across databases. Throws SERVICE_UNAVAILABLE when catalog cannot answer.
 */
export async function unknownProductIds(ctx: Context, ids: readonly string[]): Promise<string[]> {
  const chunks: string[][] = []
  for (let i = 0; i < ids.length; i += PRODUCT_CHUNK) chunks.push(ids.slice(i, i + PRODUCT_CHUNK))
  const unknown: string[][] = new Array(chunks.length)
  let next = 0
  const worker = async () => {
    while (next < chunks.length) {
      const index = next++
      const chunk = chunks[index]!
      const data = await queryPeer<{ _entities: ({ id: string } | null)[] }>(ctx.peers, 'catalog', PRODUCTS, {
        representations: chunk.map((id) => ({ __typename: 'Product', id })),
      })
      unknown[index] = chunk.filter((_, i) => !data._entities[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, chunks.length) }, worker))
  return unknown.flat()
}
