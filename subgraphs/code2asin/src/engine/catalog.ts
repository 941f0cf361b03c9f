import { type Peers, queryPeer } from '@pm/service-kit'
import type { MatchProduct } from './scoring'

/** The engine's questions to catalog, through its graph as the SERVICE caller. */

const PAGE = 100
const PEER_TIMEOUT_MS = 30_000

interface Page {
  edges: { node: { id: string } }[]
  pageInfo: { hasNextPage: boolean; endCursor: string | null }
}

const SUPPLIER_PAGE = `query($code: String!, $after: String) {
  supplierByCode(code: $code) { id products(first: ${PAGE}, after: $after) {
    edges { node { id } } pageInfo { hasNextPage endCursor } } }
}`

const PRODUCTS_PAGE = `query($filter: ProductFilter, $after: String) {
  products(filter: $filter, first: ${PAGE}, after: $after) {
    edges { node { id } } pageInfo { hasNextPage endCursor } }
}`

const SUPPLIER_ID = `query($code: String!) { supplierByCode(code: $code) { id } }`

/** Calls `each` with the ids of every product of the supplier (or of the catalog when code is null), page by page. */
export async function forEachProductId(
  peers: Peers,
  supplierCode: string | null,
  each: (ids: string[]) => Promise<void>,
): Promise<void> {
  let after: string | null = null
  let supplierId: string | null = null
  if (supplierCode !== null) {
    const data = await queryPeer<{ supplierByCode: { id: string } | null }>(peers, 'catalog', SUPPLIER_ID, {
      code: supplierCode,
    })
    if (!data.supplierByCode) throw new CatalogGone(`the catalog has no supplier ${supplierCode} any more`)
    supplierId = data.supplierByCode.id
  }
  for (;;) {
    let page: Page
    if (supplierId !== null) {
      const data = await queryPeer<{ supplierByCode: { products: Page } | null }>(
        peers,
        'catalog',
        SUPPLIER_PAGE,
        { code: supplierCode, after },
        PEER_TIMEOUT_MS,
      )
      if (!data.supplierByCode) throw new CatalogGone(`the catalog has no supplier ${supplierCode} any more`)
      page = data.supplierByCode.products
    } else {
      page = (
        await queryPeer<{ products: Page }>(
          peers,
          'catalog',
          PRODUCTS_PAGE,
          { filter: null, after },
          PEER_TIMEOUT_MS,
        )
      ).products
    }
    if (page.edges.length > 0) await each(page.edges.map((e) => e.node.id))
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return
    after = page.pageInfo.endCursor
  }
}

/** What catalog no longer has (a supplier deleted since the job was created). */
export class CatalogGone extends Error {}

const DETAILS = `query($representations: [_Any!]!) { _entities(representations: $representations) {
  ... on Product { id ean upc gtin title manufacturerReference brand { name } }
} }`

interface ProductDetails {
  id: string
  ean: string | null
  upc: string | null
  gtin: string | null
  title: string | null
  manufacturerReference: string | null
  brand: { name: string } | null
}

/** The products' identifiers, title, brand and reference (a product catalog no longer has is left out). */
export async function productDetails(
  peers: Peers,
  ids: readonly string[],
): Promise<Map<string, MatchProduct>> {
  const found = new Map<string, MatchProduct>()
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500)
    const data = await queryPeer<{ _entities: (ProductDetails | null)[] }>(
      peers,
      'catalog',
      DETAILS,
      { representations: chunk.map((id) => ({ __typename: 'Product', id })) },
      PEER_TIMEOUT_MS,
    )
    for (const p of data._entities) {
      if (!p) continue
      found.set(p.id, {
        id: p.id,
        ean: p.ean,
        upc: p.upc,
        gtin: p.gtin,
        title: p.title,
        brand: p.brand?.name ?? null,
        manufacturerReference: p.manufacturerReference,
      })
    }
  }
  return found
}

const SET_ASINS = `mutation($rows: [ProductAsinInput!]!) {
  setProductAsins(rows: $rows) { updated unchanged missingProductIds }
}`

/** Writes verified ASINs onto the catalog's products (null clears one). */
export async function writeCatalogAsins(
  peers: Peers,
  rows: readonly { productId: string; asin: string | null }[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += 1_000) {
    await queryPeer(peers, 'catalog', SET_ASINS, { rows: rows.slice(i, i + 1_000) }, PEER_TIMEOUT_MS)
  }
}
