import type { DB } from '@pm/db/types/media'
import { CHANGED_ENTITIES_EXTENSION, type Logger, type Peers, postPeer } from '@pm/service-kit'
import type { Kysely } from 'kysely'

const RECORD_IMAGES = `mutation($products: [ProductImagesInput!]!) { recordProductImages(products: $products) }`

/** What telling catalog needs: db_media, the peers (signed as SERVICE) and a logger. */
export interface CatalogTeller {
  db: Kysely<DB>
  peers: Peers
  logger: Logger
}

/**
 * After files of these products were attached, recorded or deleted (committed): tells catalog whether each
 * product still has a file, for its completeness score, in one call. Media's state is read now, so the last
 * call carries the last word. A failure is logged, not thrown: the file change stands, and catalog's
 * recomputeCompleteness (analytics' daily job) re-reads every product's images.
 * Answers catalog's response extensions (what it says it changed, for the gateway's cache), or undefined when
 * the call failed and what catalog changed is unknown.
 */
export async function tellCatalogImages(
  deps: CatalogTeller,
  productIds: readonly string[],
): Promise<Record<string, unknown> | undefined> {
  if (productIds.length === 0) return { [CHANGED_ENTITIES_EXTENSION]: { catalog: [] } }
  try {
    const rows = await deps.db
      .selectFrom('media_files')
      .select('product_id')
      .distinct()
      .where('product_id', '=', (eb) => eb.fn.any(eb.val([...productIds])))
      .execute()
    const withImage = new Set(rows.map((r) => r.product_id))
    const answer = await postPeer(deps.peers, 'catalog', RECORD_IMAGES, {
      products: productIds.map((productId) => ({ productId, hasImage: withImage.has(productId) })),
    })
    if (answer.errors?.length) throw new Error(answer.errors[0]?.message ?? 'catalog refused')
    return answer.extensions ?? {}
  } catch (error) {
    deps.logger.warn(
      'catalog not told of a product image change; the daily completeness recompute will catch up',
      {
        productIds: productIds.slice(0, 20),
        products: productIds.length,
        err: error instanceof Error ? error.message : String(error),
      },
    )
    return undefined
  }
}
