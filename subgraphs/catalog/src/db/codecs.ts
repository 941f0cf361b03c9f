import { jsonRowCodec } from '@pm/service-kit'
import type {
  BrandRow,
  CategoryRow,
  EanResolutionRow,
  PriceHistoryRow,
  ProductPriceRow,
  ProductStockRow,
  ProductVariantRow,
  StockHistoryRow,
  SupplierRow,
} from './mappers'

// Every column of each table (the types say so: a new column fails typecheck until it is listed), with
// its PostgreSQL type as migrated; revived rows equal what selectAll() returns for the same table.

export const supplierCodec = jsonRowCodec<SupplierRow>({
  id: 'uuid',
  code: 'text',
  name: 'text',
  is_active: 'bool',
  contact_email: 'text',
  contact_phone: 'text',
  address: 'text',
  country: 'text',
  created_at: 'timestamp',
  updated_at: 'timestamp',
})

export const brandCodec = jsonRowCodec<BrandRow>({
  id: 'uuid',
  code: 'text',
  name: 'text',
  logo_url: 'text',
  is_active: 'bool',
})

export const categoryCodec = jsonRowCodec<CategoryRow>({
  id: 'uuid',
  name: 'text',
  slug: 'text',
  parent_id: 'uuid',
  is_active: 'bool',
  // text[]: json_build_object writes it as a JSON array of strings, what the driver gives.
  completeness_required: 'json',
})

export const priceCodec = jsonRowCodec<ProductPriceRow>({
  id: 'uuid',
  product_id: 'uuid',
  supplier_id: 'uuid',
  price_type: 'text',
  price: 'numeric',
  cost: 'numeric',
  margin: 'numeric',
  currency: 'text',
  min_quantity: 'int4',
  valid_from: 'timestamp',
  valid_until: 'timestamp',
  is_active: 'bool',
  created_at: 'timestamp',
})

export const stockCodec = jsonRowCodec<ProductStockRow>({
  id: 'uuid',
  product_id: 'uuid',
  warehouse_id: 'uuid',
  quantity: 'int4',
  reserved_quantity: 'int4',
  available_quantity: 'int4',
  min_stock: 'int4',
  last_update: 'timestamp',
})

export const variantCodec = jsonRowCodec<ProductVariantRow>({
  id: 'uuid',
  product_id: 'uuid',
  sku: 'text',
  ean: 'text',
  title: 'text',
  attributes: 'jsonb',
  price: 'numeric',
  weight: 'numeric',
  position: 'int4',
  is_active: 'bool',
  created_at: 'timestamp',
  updated_at: 'timestamp',
})

export const eanResolutionCodec = jsonRowCodec<EanResolutionRow>({
  id: 'uuid',
  ean: 'text',
  product_id: 'uuid',
  source: 'text',
  confidence: 'numeric',
  resolved_data: 'jsonb',
  resolved_at: 'timestamp',
})

export const priceHistoryCodec = jsonRowCodec<PriceHistoryRow>({
  id: 'int8',
  product_id: 'uuid',
  supplier_id: 'uuid',
  price_type: 'text',
  old_price: 'numeric',
  new_price: 'numeric',
  currency: 'text',
  source: 'text',
  reason: 'text',
  changed_by: 'uuid',
  changed_at: 'timestamp',
})

export const stockHistoryCodec = jsonRowCodec<StockHistoryRow>({
  id: 'int8',
  product_id: 'uuid',
  warehouse_id: 'uuid',
  old_quantity: 'int4',
  new_quantity: 'int4',
  delta: 'int4',
  reason: 'text',
  note: 'text',
  changed_by: 'uuid',
  changed_at: 'timestamp',
})
