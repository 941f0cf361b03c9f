import { enumValues, PRODUCT_STATUSES } from '@pm/service-kit'
import { PRICE_SOURCES, PRICE_TYPES, STOCK_REASONS } from '../validation'

/** The schema's enums over their stored values: resolvers and SQL see the stored values. */
export const enums = {
  ProductStatus: enumValues(PRODUCT_STATUSES),
  PriceType: enumValues(PRICE_TYPES),
  PriceSource: enumValues(PRICE_SOURCES),
  StockReason: enumValues(STOCK_REASONS),
}
