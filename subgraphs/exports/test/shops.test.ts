import { createServer, type IncomingMessage, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { wooCommerce } from '../src/engine/shops'

/** A loopback WooCommerce (products/batch and products?sku=) that can apply a batch and then answer 502. */
const shop = {
  store: [] as { id: number; sku: string; name?: unknown }[],
  requests: [] as string[],
  failAfterApply: 0,
  nextId: 1,
}
let server: Server
let baseUrl = ''

async function body(req: IncomingMessage) {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://shop')
    const text = await body(req)
    res.setHeader('content-type', 'application/json')
    if (req.method === 'GET' && url.pathname === '/wp-json/wc/v3/products') {
      const skus = (url.searchParams.get('sku') ?? '').split(',')
      shop.requests.push(`GET ${skus.join(',')}`)
      return res.end(JSON.stringify(shop.store.filter((p) => skus.includes(p.sku))))
    }
    const { create = [], update = [] } = JSON.parse(text) as {
      create?: { sku: string; name: string }[]
      update?: { id: number; name: string }[]
    }
    shop.requests.push(`POST create ${create.length} update ${update.length}`)
    const created = create.map((p) => {
      const product = { id: shop.nextId++, sku: p.sku, name: p.name }
      shop.store.push(product)
      return product
    })
    const updated = update.map((p) => {
      const product = shop.store.find((s) => s.id === p.id)!
      product.name = p.name
      return product
    })
    if (shop.failAfterApply > 0) {
      shop.failAfterApply--
      res.statusCode = 502
      return res.end('{"message":"bad gateway"}')
    }
    res.end(JSON.stringify({ create: created, update: updated }))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})

afterAll(() => new Promise((r) => server.close(r)))

const connector = () =>
  wooCommerce(
    { base_url: baseUrl, consumer_key: 'ck', consumer_secret: 'cs' },
    { allowPrivate: true, retries: 2, sleep: async () => {} },
  )

describe('WooCommerce delivery is idempotent', () => {
  it('a batch the shop applied before answering 502 is looked up by SKU and updated, not created again', async () => {
    shop.store.length = 0
    shop.requests.length = 0
    shop.failAfterApply = 1
    const verdicts = await connector().push([
      { itemId: 'a', row: { sku: 'A-1', name: 'One' } },
      { itemId: 'b', row: { sku: 'B-2', name: 'Two' } },
    ])
    expect(shop.requests).toEqual([
      'GET A-1,B-2',
      'POST create 2 update 0',
      'GET A-1,B-2',
      'POST create 0 update 2',
    ])
    expect(shop.store.map((p) => p.sku)).toEqual(['A-1', 'B-2'])
    expect(verdicts).toEqual([
      { itemId: 'a', ok: true, response: { id: 1, updated: true } },
      { itemId: 'b', ok: true, response: { id: 2, updated: true } },
    ])
  })

  it('items that may have been sent are looked up first; one without a SKU is not sent again', async () => {
    shop.store.length = 0
    shop.requests.length = 0
    shop.store.push({ id: 50, sku: 'C-3', name: 'old' })
    const verdicts = await connector().push([
      { itemId: 'c', row: { sku: 'C-3', name: 'Three' }, maybeSent: true },
      { itemId: 'd', row: { sku: 'D-4', name: 'Four' }, maybeSent: true },
      { itemId: 'e', row: { name: 'No sku' }, maybeSent: true },
      { itemId: 'f', row: { sku: 'F-6', name: 'Six' } },
    ])
    expect(shop.requests).toEqual(['GET C-3,D-4,F-6', 'POST create 2 update 1'])
    expect(shop.store.map((p) => `${p.sku} ${p.name}`)).toEqual(['C-3 Three', 'D-4 Four', 'F-6 Six'])
    expect(verdicts.map((v) => [v.itemId, v.ok])).toEqual([
      ['c', true],
      ['d', true],
      ['e', false],
      ['f', true],
    ])
    expect(verdicts[2]!.error).toContain('cannot be looked up')
  })

  it('exporting again updates what the shop already has (a create would be refused as a duplicated SKU)', async () => {
    shop.store.length = 0
    shop.requests.length = 0
    shop.store.push({ id: 70, sku: 'G-7', name: 'from an earlier export' })
    const verdicts = await connector().push([
      { itemId: 'g', row: { sku: 'G-7', name: 'Seven' } },
      { itemId: 'h', row: { name: 'No sku, never sent' } },
    ])
    expect(shop.requests).toEqual(['GET G-7', 'POST create 1 update 1'])
    expect(shop.store.map((p) => p.name)).toEqual(['Seven', 'No sku, never sent'])
    expect(shop.store[0]!.id).toBe(70)
    expect(verdicts.map((v) => [v.itemId, v.ok])).toEqual([
      ['g', true],
      ['h', true],
    ])
  })
})
