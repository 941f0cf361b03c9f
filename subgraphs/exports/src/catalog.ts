import { entitiesExist } from '@pm/service-kit'
import type { Context } from './context'

/** Ids per question to catalog: one batched statement there, a body of ~50 KB here. */
export const PRODUCT_CHUNK = 1_000

/**
 * The ids catalog does not know, asked through the graph (`_entities`), never across databases.
 * Throws SERVICE_UNAVAILABLE when catalog cannot answer.
 */
export async function unknownProductIds(ctx: Context, ids: readonly string[]): Promise<string[]> {
  const exists = await entitiesExist(ctx.peers, 'catalog', 'Product', ids, { chunk: PRODUCT_CHUNK })
  return ids.filter((_, i) => !exists[i])
}
