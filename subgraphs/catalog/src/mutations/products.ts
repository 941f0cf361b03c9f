import {
  inTransaction,
  notFound,
  recordAudit,
  requireSomeField,
  updateAudited,
  userError,
} from '@pm/service-kit'
import { toProduct } from '../db/mappers'
import { deleteProduct, insertProduct, productSupplierId } from '../db/products'
import { type CatalogTrx, existingReferences, lockProductKeys, productWithSupplierSku } from '../db/writes'
import type { MutationResolvers } from '../generated/graphql'
import { type ProductColumns, productColumns, SELLING_STATUSES } from '../validation'

export const PRODUCT_NUMERIC_COLUMNS: ReadonlySet<string> = new Set(['weight', 'width', 'height', 'depth'])

/** supplierId, brandId and categoryId of one input must exist (categories have no FK: checked here). */
export async function checkProductReferences(trx: CatalogTrx, columns: ProductColumns, at: string) {
  const refs = {
    supplierIds: columns.supplier_id ? [columns.supplier_id] : [],
    brandIds: columns.brand_id ? [columns.brand_id] : [],
    categoryIds: columns.category_id ? [columns.category_id] : [],
  }
  const found = await existingReferences(trx, refs)
  if (columns.supplier_id && !found.supplier.has(columns.supplier_id)) {
    throw notFound(`${at}.supplierId: no supplier has this id`, { field: `${at}.supplierId` })
  }
  if (columns.brand_id && !found.brand.has(columns.brand_id)) {
    throw notFound(`${at}.brandId: no brand has this id`, { field: `${at}.brandId` })
  }
  if (columns.category_id && !found.category.has(columns.category_id)) {
    throw notFound(`${at}.categoryId: no category has this id`, { field: `${at}.categoryId` })
  }
}

/**
 * (supplier, SKU) identifies a product for bulk upserts, so it stays unique per supplier: checked under
 * the supplier's lock (taken by the caller before any row lock), which upsertProducts takes too.
 */
async function checkSupplierSku(
  trx: CatalogTrx,
  supplierId: string | null | undefined,
  sku: string | null | undefined,
  exceptId: string | null,
) {
  if (!supplierId || !sku) return
  const other = await productWithSupplierSku(trx, supplierId, sku, exceptId)
  if (other) {
    throw userError('CONFLICT', `input.sku: product ${other.id} of this supplier already has SKU "${sku}"`, {
      field: 'input.sku',
    })
  }
}

const productNotFound = () => notFound('id: no product has this id', { field: 'id' })

export const productMutations = {
  createProduct: (_, { input }, ctx) => {
    const columns = productColumns(input, 'input')
    return inTransaction(ctx, async (trx) => {
      await checkProductReferences(trx, columns, 'input')
      if (columns.supplier_id && columns.sku) await lockProductKeys(trx, [columns.supplier_id])
      await checkSupplierSku(trx, columns.supplier_id, columns.sku, null)
      const row = await insertProduct(trx, { ...columns, title: columns.title! })
      const product = toProduct(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'product',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: product },
      })
      return product
    })
  },

  updateProduct: (_, { id, input }, ctx) => {
    requireSomeField('input', input as Record<string, unknown>)
    const columns = productColumns(input, 'input')
    return inTransaction(ctx, async (trx) => {
      if (columns.supplier_id !== undefined || columns.sku !== undefined) {
        // The supplier lock before the row lock, in the order upsertProducts takes them (no deadlock).
        const current = await productSupplierId(trx, id)
        const supplierId = columns.supplier_id !== undefined ? columns.supplier_id : current?.supplier_id
        if (supplierId) await lockProductKeys(trx, [supplierId])
      }
      const { row } = await updateAudited(trx, {
        table: 'products',
        id,
        notFound: productNotFound,
        values: () => columns,
        numeric: PRODUCT_NUMERIC_COLUMNS,
        check: async (changes, before) => {
          await checkProductReferences(trx, changes as ProductColumns, 'input')
          if ('supplier_id' in changes || 'sku' in changes) {
            await checkSupplierSku(
              trx,
              (changes.supplier_id as string | null | undefined) ?? before.supplier_id,
              (changes.sku as string | null | undefined) ?? before.sku,
              id,
            )
          }
        },
        view: toProduct,
        audit: { entityType: 'product', userId: ctx.caller.userId },
      })
      return toProduct(row)
    })
  },

  /** Takes a product off sale: isActive false, and a selling status (active, out_of_stock) becomes inactive. */
  deactivateProduct: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'products',
        id,
        notFound: productNotFound,
        values: (before) => ({
          is_active: false,
          status: before.status && SELLING_STATUSES.has(before.status) ? 'inactive' : before.status,
        }),
        view: toProduct,
        audit: { entityType: 'product', action: 'deactivate', userId: ctx.caller.userId },
      })
      return toProduct(row)
    }),

  /**
   * Deletes a product with what the foreign keys cascade to (prices, stocks, variants, price and stock
   * history, EAN resolutions). Its audit entry carries the deletion to the other databases' rows that refer to
   * it (the outbox relay calls their applyDeletions, which applies each reference's policy).
   */
  deleteProduct: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const row = await deleteProduct(trx, id)
      if (!row) throw notFound('id: no product has this id', { field: 'id' })
      await recordAudit(trx, {
        action: 'delete',
        entityType: 'product',
        entityId: id,
        userId: ctx.caller.userId,
        changes: { before: toProduct(row) },
      })
      return row.id
    }),
} satisfies MutationResolvers
