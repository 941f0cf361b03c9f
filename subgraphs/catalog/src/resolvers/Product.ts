import { mapConnection, oncePerField, type PageArgs, selectionOf } from '@pm/service-kit'
import type { GraphQLResolveInfo } from 'graphql'
import type { Context } from '../context'
import { type Product as ProductModel, toPriceHistoryEntry, toStockHistoryEntry } from '../db/mappers'
import { productPrefetchPlan } from '../prefetch'
import { loadProduct } from './products'

// Once per _entities field: every representation of the fetch shares one plan, hence one batch.
const entityPlan = oncePerField((info) => productPrefetchPlan(selectionOf(info, 'Product')))

export const Product = {
  __resolveReference: (ref: { id: string }, ctx: Context, info: GraphQLResolveInfo) =>
    loadProduct(ctx, 'id', ref.id, info ? entityPlan(info) : null),
  supplier: (p: ProductModel, _: unknown, ctx: Context) =>
    p.supplierId ? ctx.loaders.supplierById.load(p.supplierId) : null,
  brand: (p: ProductModel, _: unknown, ctx: Context) =>
    p.brandId ? ctx.loaders.brandById.load(p.brandId) : null,
  // category_id has no foreign key: an id of a deleted category resolves to null through the loader.
  category: (p: ProductModel, _: unknown, ctx: Context) =>
    p.categoryId ? ctx.loaders.categoryById.load(p.categoryId) : null,
  prices: (p: ProductModel, { activeOnly }: { activeOnly: boolean }, ctx: Context) =>
    ctx.loaders.pricesByProductId.for({ activeOnly }).load(p.id),
  stocks: (p: ProductModel, _: unknown, ctx: Context) => ctx.loaders.stocksByProductId.load(p.id),
  // Derived from the same batch as stocks: asking for both costs one statement.
  totalAvailableQuantity: async (p: ProductModel, _: unknown, ctx: Context) =>
    (await ctx.loaders.stocksByProductId.load(p.id)).reduce((sum, s) => sum + (s.availableQuantity ?? 0), 0),
  variants: (p: ProductModel, { activeOnly }: { activeOnly: boolean }, ctx: Context) =>
    ctx.loaders.variantsByProductId.for({ activeOnly }).load(p.id),
  priceHistory: async (p: ProductModel, { first, after }: PageArgs, ctx: Context) =>
    mapConnection(
      await ctx.loaders.priceHistoryByProductId.for({ first, after }).load(p.id),
      toPriceHistoryEntry,
    ),
  stockHistory: async (p: ProductModel, { first, after }: PageArgs, ctx: Context) =>
    mapConnection(
      await ctx.loaders.stockHistoryByProductId.for({ first, after }).load(p.id),
      toStockHistoryEntry,
    ),
  eanResolutions: (p: ProductModel, _: unknown, ctx: Context) =>
    ctx.loaders.eanResolutionsByProductId.load(p.id),
  completeness: (p: ProductModel, _: unknown, ctx: Context) => ctx.loaders.completenessByProductId.load(p.id),
}

export const ProductPrice = {
  supplier: (price: { supplierId: string | null }, _: unknown, ctx: Context) =>
    price.supplierId ? ctx.loaders.supplierById.load(price.supplierId) : null,
}

export const ProductVariant = {
  product: (v: { productId: string }, _: unknown, ctx: Context) => ctx.loaders.productById.load(v.productId),
}

export const EanResolution = {
  product: (r: { productId: string | null }, _: unknown, ctx: Context) =>
    r.productId ? ctx.loaders.productById.load(r.productId) : null,
}
