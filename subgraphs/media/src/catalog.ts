import { queryPeer } from '@pm/service-kit'
import type { Context } from './context'

const PRODUCT_ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Product { id } }
}`

/** Whether catalog has this product, asked through its graph (never its database); SERVICE_UNAVAILABLE when down. */
export async function catalogHasProduct(ctx: Context, productId: string): Promise<boolean> {
  const data = await queryPeer<{ _entities: ({ id: string } | null)[] }>(
    ctx.peers,
    'catalog',
    PRODUCT_ENTITIES,
    { representations: [{ __typename: 'Product', id: productId }] },
  )
  return data._entities[0] != null
}
