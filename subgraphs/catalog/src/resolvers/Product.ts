import { mapConnection, oncePerField, selectionOf, thenNow } from '@pm/service-kit'
import { toPriceHistoryEntry, toStockHistoryEntry } from '../db/mappers'
import type {
  EanResolutionResolvers,
  ProductPriceResolvers,
  ProductResolvers,
  ProductVariantResolvers,
} from '../generated/graphql'
import { productPrefetchPlan } from '../prefetch'
import { loadProduct } from './products'

// Once per _entities field: every representation of the fetch shares one plan, hence one batch.
const entityPlan = oncePerField((info) => productPrefetchPlan(selectionOf(info, 'Product')))

export const Product = {
  __resolveReference: (ref, ctx, info) => loadProduct(ctx, 'id', ref.id, info ? entityPlan(info) : null),
  // loadNow: the children the product's own statement fetched come back without a promise (see SettledLoader).
  supplier: (p, _, ctx) => (p.supplierId ? ctx.loaders.supplierById.loadNow(p.supplierId) : null),
  brand: (p, _, ctx) => (p.brandId ? ctx.loaders.brandById.loadNow(p.brandId) : null),
  // category_id has no foreign key: an id of a deleted category resolves to null through the loader.
  category: (p, _, ctx) => (p.categoryId ? ctx.loaders.categoryById.loadNow(p.categoryId) : null),
  prices: (p, { activeOnly }, ctx) => ctx.loaders.pricesByProductId.for({ activeOnly }).loadNow(p.id),
  stocks: (p, _, ctx) => ctx.loaders.stocksByProductId.loadNow(p.id),
  // Derived from the same batch as stocks: asking for both costs one statement.
  totalAvailableQuantity: (p, _, ctx) =>
    thenNow(ctx.loaders.stocksByProductId.loadNow(p.id), (stocks) =>
      stocks.reduce((sum, s) => sum + (s.availableQuantity ?? 0), 0),
    ),
  variants: (p, { activeOnly }, ctx) => ctx.loaders.variantsByProductId.for({ activeOnly }).loadNow(p.id),
  priceHistory: async (p, { first, after }, ctx) =>
    mapConnection(
      await ctx.loaders.priceHistoryByProductId.for({ first, after }).load(p.id),
      toPriceHistoryEntry,
    ),
  stockHistory: async (p, { first, after }, ctx) =>
    mapConnection(
      await ctx.loaders.stockHistoryByProductId.for({ first, after }).load(p.id),
      toStockHistoryEntry,
    ),
  eanResolutions: (p, _, ctx) => ctx.loaders.eanResolutionsByProductId.loadNow(p.id),
  completeness: (p, _, ctx) => ctx.loaders.completenessByProductId.load(p.id),
} satisfies ProductResolvers

export const ProductPrice = {
  supplier: (price, _, ctx) => (price.supplierId ? ctx.loaders.supplierById.load(price.supplierId) : null),
} satisfies ProductPriceResolvers

export const ProductVariant = {
  product: (v, _, ctx) => ctx.loaders.productById.load(v.productId),
} satisfies ProductVariantResolvers

export const EanResolution = {
  product: (r, _, ctx) => (r.productId ? ctx.loaders.productById.load(r.productId) : null),
} satisfies EanResolutionResolvers
