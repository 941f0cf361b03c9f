import type { DB } from '@pm/db/types/catalog'
import type { Selectable } from 'kysely'
import { DEFAULT_REQUIRED } from '../completeness'

export type ProductRow = Selectable<DB['products']>
export type SupplierRow = Selectable<DB['suppliers']>
export type SupplierDetailsRow = Selectable<DB['supplier_details']>
export type BrandRow = Selectable<DB['brands']>
export type CategoryRow = Selectable<DB['categories']>
export type ProductPriceRow = Selectable<DB['product_prices']>
export type ProductStockRow = Selectable<DB['product_stocks']>
export type ProductVariantRow = Selectable<DB['product_variants']>
export type PriceHistoryRow = Selectable<DB['price_history']>
export type StockHistoryRow = Selectable<DB['stock_history']>
export type EanResolutionRow = Selectable<DB['ean_resolutions']>

export type Product = ReturnType<typeof toProduct>
export type Supplier = ReturnType<typeof toSupplier>
export type SupplierDetails = ReturnType<typeof toSupplierDetails>
export type Brand = ReturnType<typeof toBrand>
export type Category = ReturnType<typeof toCategory>
export type ProductPrice = ReturnType<typeof toProductPrice>
export type ProductStock = ReturnType<typeof toProductStock>
export type ProductVariant = ReturnType<typeof toProductVariant>
export type PriceHistoryEntry = ReturnType<typeof toPriceHistoryEntry>
export type StockHistoryEntry = ReturnType<typeof toStockHistoryEntry>
export type EanResolution = ReturnType<typeof toEanResolution>

/** A reference to a db_core user, resolved by the core subgraph. */
const userRef = (id: string | null) => (id === null ? null : { id })

/** NUMERIC columns (weight, width, …) stay the strings pg returns: exact, never floats. */
export function toProduct(row: ProductRow) {
  return {
    id: row.id,
    ean: row.ean,
    asin: row.asin,
    sku: row.sku,
    upc: row.upc,
    gtin: row.gtin,
    manufacturerReference: row.manufacturer_reference,
    externalId: row.external_id,
    title: row.title,
    description: row.description,
    shortDescription: row.short_description,
    supplierId: row.supplier_id,
    categoryId: row.category_id,
    brandId: row.brand_id,
    status: row.status,
    isActive: row.is_active,
    weight: row.weight,
    width: row.width,
    height: row.height,
    depth: row.depth,
    technicalSpecs: row.technical_specs,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function toSupplier(row: SupplierRow) {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    isActive: row.is_active,
    contactEmail: row.contact_email,
    contactPhone: row.contact_phone,
    address: row.address,
    country: row.country,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function toSupplierDetails(row: SupplierDetailsRow) {
  return {
    supplierId: row.supplier_id,
    legalName: row.legal_name,
    vatNumber: row.vat_number,
    website: row.website,
    defaultCurrency: row.default_currency,
    paymentTerms: row.payment_terms,
    leadTimeDays: row.lead_time_days,
    minimumOrderAmount: row.minimum_order_amount,
    notes: row.notes,
    extra: row.extra,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function toBrand(row: BrandRow) {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    logoUrl: row.logo_url,
    isActive: row.is_active,
  }
}

export function toCategory(row: CategoryRow) {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    parentId: row.parent_id,
    isActive: row.is_active,
    completenessRules: row.completeness_required ?? [...DEFAULT_REQUIRED],
    completenessRulesAreDefault: row.completeness_required === null,
  }
}

export function toProductPrice(row: ProductPriceRow) {
  return {
    id: row.id,
    productId: row.product_id,
    supplierId: row.supplier_id,
    priceType: row.price_type,
    price: row.price,
    cost: row.cost,
    margin: row.margin,
    currency: row.currency,
    minQuantity: row.min_quantity,
    validFrom: row.valid_from,
    validUntil: row.valid_until,
    isActive: row.is_active,
    createdAt: row.created_at,
  }
}

export function toProductStock(row: ProductStockRow) {
  return {
    id: row.id,
    productId: row.product_id,
    warehouseId: row.warehouse_id,
    quantity: row.quantity,
    reservedQuantity: row.reserved_quantity,
    availableQuantity: row.available_quantity,
    minStock: row.min_stock,
    lastUpdate: row.last_update,
  }
}

export function toProductVariant(row: ProductVariantRow) {
  return {
    id: row.id,
    productId: row.product_id,
    sku: row.sku,
    ean: row.ean,
    title: row.title,
    attributes: row.attributes,
    price: row.price,
    weight: row.weight,
    position: row.position,
    isActive: row.is_active,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** BIGINT ids arrive as strings; identity values stay far below 2^53. */
export function toPriceHistoryEntry(row: PriceHistoryRow) {
  return {
    id: Number(row.id),
    productId: row.product_id,
    supplierId: row.supplier_id,
    priceType: row.price_type,
    oldPrice: row.old_price,
    newPrice: row.new_price,
    currency: row.currency,
    source: row.source,
    reason: row.reason,
    changedBy: userRef(row.changed_by),
    changedAt: row.changed_at,
  }
}

export function toStockHistoryEntry(row: StockHistoryRow) {
  return {
    id: Number(row.id),
    productId: row.product_id,
    warehouseId: row.warehouse_id,
    oldQuantity: row.old_quantity,
    newQuantity: row.new_quantity,
    delta: row.delta,
    reason: row.reason,
    note: row.note,
    changedBy: userRef(row.changed_by),
    changedAt: row.changed_at,
  }
}

export function toEanResolution(row: EanResolutionRow) {
  return {
    id: row.id,
    ean: row.ean,
    productId: row.product_id,
    source: row.source,
    confidence: row.confidence,
    resolvedData: row.resolved_data,
    resolvedAt: row.resolved_at,
  }
}
