/**
 * The benchmark's GraphQL operations. The floor (bench/floor.ts) answers Q1 and Q2 with the same data in
 * the same JSON shape, and the run checks that before it measures.
 */

/** Q1 product page: active products of a supplier, newest first, with what a listing shows. */
export const Q1_PRODUCT_PAGE = `query ProductPage($supplierId: UUID!, $first: Int!) {
  products(filter: { supplierId: $supplierId, isActive: true }, first: $first) {
    edges {
      node {
        id
        ean
        sku
        title
        status
        createdAt
        prices { priceType price currency minQuantity }
        stocks { warehouseId quantity availableQuantity }
        brand { id name }
        category { id name }
        primaryImage {
          id
          storageUrl
          altText
          thumbnail(size: SMALL) { storageUrl width height }
        }
        bestAsinMatch { asin matchConfidence isVerified }
      }
    }
  }
}`

/**
 * Q2 product detail by EAN. The stock history is its latest 30 movements: the API pages history by
 * count (first/after), it has no date filter; metrics are the 30 days ending at the data set's last day.
 */
export const Q2_PRODUCT_DETAIL = `query ProductDetail($ean: String!, $from: LocalDate!, $to: LocalDate!) {
  productByEan(ean: $ean) {
    id
    ean
    sku
    title
    description
    status
    isActive
    createdAt
    updatedAt
    prices { priceType price cost currency minQuantity validFrom validUntil }
    stocks { warehouseId quantity reservedQuantity availableQuantity lastUpdate }
    stockHistory(first: 30) {
      edges { node { id warehouseId oldQuantity newQuantity delta reason changedAt } }
    }
    media {
      id
      fileName
      mimeType
      width
      height
      isPrimary
      displayOrder
      storageUrl
      thumbnails { sizeName width height storageUrl }
    }
    asinMatches { id asin amazonTitle matchConfidence matchType amazonPrice isVerified processedAt }
    metrics(from: $from, to: $to) { date viewCount salesCount conversionRate revenue }
  }
}`

/** Q3 import dashboard: the latest jobs of one status, with their supplier (catalog) and creator (core). */
export const Q3_IMPORT_DASHBOARD = `query ImportDashboard($status: ImportJobStatus!, $first: Int!) {
  importJobs(filter: { status: $status }, first: $first) {
    edges {
      node {
        id
        status
        importType
        supplierCode
        totalRows
        processedRows
        failedRows
        startedAt
        completedAt
        createdAt
        supplier { id code name }
        createdBy { id email firstName lastName }
      }
    }
  }
}`

/** The mixed workload's product detail by id: Q2's selection, by id (bench/src/mixed.ts). */
export const MIXED_PRODUCT_BY_ID = Q2_PRODUCT_DETAIL.replace(
  'query ProductDetail($ean: String!, $from: LocalDate!, $to: LocalDate!) {\n  productByEan(ean: $ean) {',
  'query ProductById($id: UUID!, $from: LocalDate!, $to: LocalDate!) {\n  product(id: $id) {',
)

/** The mixed workload's product lists: a supplier's page (filters, orders) or a search, with Q1's node. */
export const MIXED_PRODUCT_LIST = Q1_PRODUCT_PAGE.replace(
  'query ProductPage($supplierId: UUID!, $first: Int!) {\n  products(filter: { supplierId: $supplierId, isActive: true }, first: $first) {',
  'query ProductList($filter: ProductFilter!, $orderBy: ProductOrder, $first: Int!) {\n  products(filter: $filter, orderBy: $orderBy, first: $first) {',
)

/** The mixed workload's writes: a price's new amount, a stock moved by a delta (catalog's mutations). */
export const MIXED_SET_PRICE = `mutation SetPrice($input: SetProductPriceInput!) {
  setProductPrice(input: $input) { id price }
}`

export const MIXED_ADJUST_STOCK = `mutation AdjustStock($input: AdjustStockInput!) {
  adjustStock(input: $input) { id quantity availableQuantity }
}`

for (const [name, document] of [
  ['MIXED_PRODUCT_BY_ID', MIXED_PRODUCT_BY_ID],
  ['MIXED_PRODUCT_LIST', MIXED_PRODUCT_LIST],
] as const) {
  // Derived from Q1/Q2 so that the selections stay the same: fails loudly if those change shape.
  if (!/query Product(ById|List)\(/.test(document)) throw new Error(`${name}: Q1/Q2's header changed`)
}
