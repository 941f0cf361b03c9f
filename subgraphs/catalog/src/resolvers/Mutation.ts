import { completenessMutations } from '../completeness'
import type { Context } from '../context'
import type {
  MutationResolvers,
  ProductUpsertResultResolvers,
  ProductUpsertRowResultResolvers,
} from '../generated/graphql'
import { setProductAsins } from '../mutations/asins'
import { brandMutations } from '../mutations/brands'
import { categoryMutations } from '../mutations/categories'
import { importProducts } from '../mutations/import'
import { priceMutations } from '../mutations/prices'
import { productMutations } from '../mutations/products'
import { stockMutations } from '../mutations/stock'
import { supplierMutations } from '../mutations/suppliers'
import {
  type UpsertResult,
  type UpsertRowResult,
  type UpsertStatus,
  upsertProducts,
} from '../mutations/upsert'
import { variantMutations } from '../mutations/variants'

export const Mutation = {
  ...productMutations,
  upsertProducts: (_, { rows, source }, ctx) => upsertProducts(rows, source, ctx),
  importProducts: (_, args, ctx) => importProducts(args.supplierId, args.rows, args.options ?? {}, ctx),
  setProductAsins: (_, { rows }, ctx) => setProductAsins(rows, ctx),
  ...supplierMutations,
  ...brandMutations,
  ...categoryMutations,
  ...priceMutations,
  ...stockMutations,
  ...variantMutations,
  ...completenessMutations,
} satisfies MutationResolvers

export const ProductUpsertResult = {
  results: (result: UpsertResult, { status }: { status?: UpsertStatus | null }) =>
    status ? result.rows.filter((r) => r.status === status) : result.rows,
  imageRows: (result: UpsertResult & { imageRowIndexes?: number[] }) =>
    (result.imageRowIndexes ?? []).map((i) => result.rows[i]!),
} satisfies ProductUpsertResultResolvers

export const ProductUpsertRowResult = {
  product: (row: UpsertRowResult, _: unknown, ctx: Context) =>
    row.productId ? ctx.loaders.productById.load(row.productId) : null,
} satisfies ProductUpsertRowResultResolvers
