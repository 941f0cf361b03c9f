import { randomUUID } from 'node:crypto'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let stack: TestStack<'catalog'>

beforeAll(async () => {
  stack = await startTestStack({ only: ['catalog'], gateway: { cache: false } })
}, 120_000)
afterAll(() => stack?.stop())

describe('what a subgraph tells the gateway about its changes', () => {
  it('stays between them when the gateway caches nothing (GATEWAY_CACHE=false)', async () => {
    const product = await stack.request(
      'mutation($t: String!) { createProduct(input: { title: $t }) { id } }',
      {
        t: `Leak check ${randomUUID().slice(0, 8)}`,
      },
    )
    expect(product.errors).toBeUndefined()
    const price = await stack.send(
      'mutation($input: SetProductPriceInput!) { setProductPrice(input: $input) { id price } }',
      { input: { productId: product.data.createProduct.id, price: '12.50' } },
    )
    expect(price.body.errors).toBeUndefined()
    expect(JSON.stringify(price.body)).not.toContain('pmChangedEntities')
  })
})
