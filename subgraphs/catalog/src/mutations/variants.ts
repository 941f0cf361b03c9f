import {
  checkInt,
  checkJsonObject,
  checkString,
  inTransaction,
  normalizeEan,
  notFound,
  recordAudit,
  requireSomeField,
  updateAudited,
  userError,
} from '@pm/service-kit'
import { toProductVariant } from '../db/mappers'
import { deleteVariant, insertVariant, lockVariantProduct, variantWithSku } from '../db/variants'
import type { CatalogTrx } from '../db/writes'
import type {
  CreateProductVariantInput,
  MutationResolvers,
  UpdateProductVariantInput,
} from '../generated/graphql'
import { checkAmount, checkWeight, notNull } from '../validation'

function variantColumns(input: CreateProductVariantInput | UpdateProductVariantInput) {
  const columns = {
    sku:
      input.sku === undefined
        ? undefined
        : checkString('input.sku', notNull('input.sku', input.sku)!, { max: 100 }),
    ean:
      input.ean === undefined ? undefined : input.ean === null ? null : normalizeEan(input.ean, 'input.ean'),
    title: input.title === undefined ? undefined : checkString('input.title', input.title, { max: 500 }),
    attributes:
      input.attributes === undefined
        ? undefined
        : JSON.stringify(checkJsonObject('input.attributes', notNull('input.attributes', input.attributes))),
    price: input.price === undefined ? undefined : checkAmount('input.price', input.price),
    weight: input.weight === undefined ? undefined : checkWeight('input.weight', input.weight),
    position:
      input.position === undefined
        ? undefined
        : checkInt('input.position', notNull('input.position', input.position)!, { min: 0 })!,
    is_active: notNull('input.isActive', input.isActive),
  }
  return Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined)) as Partial<
    typeof columns
  >
}

async function checkSkuFree(trx: CatalogTrx, sku: string | undefined, exceptId: string | null) {
  if (sku === undefined) return
  const other = await variantWithSku(trx, sku, exceptId)
  if (other) {
    throw userError('CONFLICT', `input.sku: variant ${other.id} already has SKU "${sku}"`, {
      field: 'input.sku',
    })
  }
}

export const variantMutations = {
  /** A variant of a product; position defaults to after the product's last variant. */
  createProductVariant: (_, { input }, ctx) => {
    const columns = variantColumns(input)
    return inTransaction(ctx, async (trx) => {
      const product = await lockVariantProduct(trx, input.productId)
      if (!product) throw notFound('input.productId: no product has this id', { field: 'input.productId' })
      await checkSkuFree(trx, columns.sku, null)
      const row = await insertVariant(trx, {
        ...columns,
        product_id: product.id,
        sku: columns.sku!,
        position: columns.position ?? product.next_position,
      })
      const variant = toProductVariant(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'product_variant',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: variant },
      })
      return variant
    })
  },

  updateProductVariant: (_, { id, input }, ctx) => {
    requireSomeField('input', input as Record<string, unknown>)
    const columns = variantColumns(input)
    return inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'product_variants',
        id,
        notFound: () => notFound('id: no variant has this id', { field: 'id' }),
        values: () => columns,
        numeric: new Set(['price', 'weight']),
        check: (changes) => checkSkuFree(trx, changes.sku as string | undefined, id),
        view: toProductVariant,
        audit: { entityType: 'product_variant', userId: ctx.caller.userId },
      })
      return toProductVariant(row)
    })
  },

  deleteProductVariant: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const row = await deleteVariant(trx, id)
      if (!row) throw notFound('id: no variant has this id', { field: 'id' })
      await recordAudit(trx, {
        action: 'delete',
        entityType: 'product_variant',
        entityId: id,
        userId: ctx.caller.userId,
        changes: { before: toProductVariant(row) },
      })
      return row.id
    }),
} satisfies MutationResolvers
