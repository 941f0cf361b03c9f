import { entitiesExist, postPeer } from '@pm/service-kit'
import type { Context } from './context'

/** Whether catalog has this product, asked through its graph (never its database); SERVICE_UNAVAILABLE when down. */
export async function catalogHasProduct(ctx: Context, productId: string): Promise<boolean> {
  const [exists] = await entitiesExist(ctx.peers, 'catalog', 'Product', [productId])
  return exists === true
}

const RECORD_IMAGES = `mutation($products: [ProductImagesInput!]!) { recordProductImages(products: $products) }`

/**
 * After a file of this product was attached or deleted (committed): tells catalog whether the product still
 * has a file, for its completeness score. Media's state is read now, so the last call carries the last word.
 * A failure is logged, not thrown: the file change stands, and catalog's recomputeCompleteness (analytics'
 * daily job) re-reads every product's images.
 */
export async function tellCatalogImages(ctx: Context, productId: string): Promise<void> {
  try {
    const row = await ctx.db
      .selectFrom('media_files')
      .select('id')
      .where('product_id', '=', productId)
      .limit(1)
      .executeTakeFirst()
    const answer = await postPeer(ctx.peers, 'catalog', RECORD_IMAGES, {
      products: [{ productId, hasImage: row !== undefined }],
    })
    if (answer.errors?.length) throw new Error(answer.errors[0]?.message ?? 'catalog refused')
  } catch (error) {
    ctx.logger.warn(
      'catalog not told of a product image change; the daily completeness recompute will catch up',
      {
        productId,
        err: error instanceof Error ? error.message : String(error),
      },
    )
  }
}
