import { entitiesExist } from '@pm/service-kit'
import type { Context } from './context'

/** Whether catalog has this product, asked through its graph (never its database); SERVICE_UNAVAILABLE when down. */
export async function catalogHasProduct(ctx: Context, productId: string): Promise<boolean> {
  const [exists] = await entitiesExist(ctx.peers, 'catalog', 'Product', [productId])
  return exists === true
}
