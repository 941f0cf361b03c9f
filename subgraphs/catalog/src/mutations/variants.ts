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
import { sql } from 'kysely'
import type { Context } from '../context'
import { toProductVariant } from '../db/mappers'
import type { CatalogTrx } from '../db/writes'
import { checkAmount, checkWeight, notNull } from '../validation'

interface VariantInput {
  sku?: string | null
  ean?: string | null
  title?: string | null
  attributes?: Record<string, unknown> | null
  price?: string | null
  weight?: string | null
  position?: number | null
  isActive?: boolean | null
}

function variantColumns(input: VariantInput) {
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
  let query = trx.selectFrom('product_variants').select('id').where('sku', '=', sku)
  if (exceptId) query = query.where('id', '<>', exceptId)
  const other = await query.executeTakeFirst()
  if (other) {
    throw userError('CONFLICT', `input.sku: variant ${other.id} already has SKU "${sku}"`, {
      field: 'input.sku',
    })
  }
}

export const variantMutations = {
  /** A variant of a product; position defaults to after the product's last variant. */
  createProductVariant: (
    _: unknown,
    { input }: { input: VariantInput & { productId: string; sku: string } },
    ctx: Context,
  ) => {
    const columns = variantColumns(input)
    return inTransaction(ctx, async (trx) => {
      const product = await trx
        .selectFrom('products')
        .select([
          'id',
          sql<number>`(SELECT COALESCE(MAX(position) + 1, 0) FROM product_variants v WHERE v.product_id = products.id)`.as(
            'next_position',
          ),
        ])
        .where('id', '=', input.productId)
        .forKeyShare()
        .executeTakeFirst()
      if (!product) throw notFound('input.productId: no product has this id', { field: 'input.productId' })
      await checkSkuFree(trx, columns.sku, null)
      const row = await trx
        .insertInto('product_variants')
        .values({
          ...columns,
          product_id: product.id,
          sku: columns.sku!,
          position: columns.position ?? product.next_position,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
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

  updateProductVariant: (_: unknown, { id, input }: { id: string; input: VariantInput }, ctx: Context) => {
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

  deleteProductVariant: (_: unknown, { id }: { id: string }, ctx: Context) =>
    inTransaction(ctx, async (trx) => {
      const row = await trx
        .deleteFrom('product_variants')
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst()
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
}
