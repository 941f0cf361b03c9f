import {
  badUserInput,
  checkCurrency,
  checkEnum,
  checkInt,
  diffValues,
  inTransaction,
  notFound,
  recordAudit,
  sameValue,
  updateAudited,
} from '@pm/service-kit'
import { declareProductsChanged } from '../changes'
import type { Context } from '../context'
import { type ProductPriceRow, toProductPrice } from '../db/mappers'
import {
  insertPrice,
  insertPriceHistoryEntry,
  lastRecordedPrice,
  lockCurrentPrice,
  priceProductId,
  updatePrice,
} from '../db/prices'
import { lockProduct } from '../db/products'
import { supplierExists } from '../db/suppliers'
import type { CatalogTrx } from '../db/writes'
import type { MutationResolvers, SetProductPriceInput, UpdateProductPriceInput } from '../generated/graphql'
import {
  checkAmount,
  checkedMargin,
  checkText,
  MAX_NOTE,
  notNull,
  PRICE_SOURCES,
  PRICE_TYPES,
} from '../validation'

const NUMERIC = new Set(['price', 'cost', 'margin'])

const priceNotFound = () => notFound('id: no price has this id', { field: 'id' })

/** What the history row says about who and why: reason free text, source from the migration's list. */
function provenance(input: SetProductPriceInput | UpdateProductPriceInput) {
  return {
    reason: checkText('input.reason', input.reason, MAX_NOTE),
    source: checkEnum('input.source', input.source ?? 'manual', PRICE_SOURCES),
  }
}

function checkValidity(from: Date | null, until: Date | null | undefined) {
  if (until && from && until.getTime() <= from.getTime()) {
    throw badUserInput(`input.validUntil must be after validFrom (${from.toISOString()})`, {
      field: 'input.validUntil',
    })
  }
}

/** Locks the product row, as the bulk upsert does before touching a product's prices. */
async function lockPricedProduct(trx: CatalogTrx, productId: string, field: string) {
  const product = await lockProduct(trx, productId)
  if (!product) throw notFound(`${field}: no product has this id`, { field })
  return product
}

async function recordPriceChange(
  trx: CatalogTrx,
  ctx: Context,
  row: ProductPriceRow,
  oldPrice: string | null,
  why: ReturnType<typeof provenance>,
) {
  await insertPriceHistoryEntry(trx, {
    product_id: row.product_id,
    supplier_id: row.supplier_id,
    price_type: row.price_type,
    old_price: oldPrice,
    new_price: row.price,
    currency: row.currency ?? 'EUR',
    source: why.source,
    reason: why.reason,
    changed_by: ctx.caller.userId,
  })
}

export const priceMutations = {
  /**
   * Sets the current price of (product, priceType, minQuantity): the active row is updated in place, or a
   * row is created when there is none. A different amount writes price_history.
   */
  setProductPrice: (_, { input }, ctx) => {
    const price = checkAmount('input.price', input.price)!
    const cost = input.cost === undefined ? undefined : checkAmount('input.cost', input.cost)
    const currency = checkCurrency('input.currency', input.currency)
    const priceType = checkEnum('input.priceType', input.priceType ?? 'retail', PRICE_TYPES)
    const minQuantity = checkInt('input.minQuantity', input.minQuantity ?? 1, { min: 1 })!
    const validFrom = notNull('input.validFrom', input.validFrom)
    const why = provenance(input)
    return inTransaction(ctx, async (trx) => {
      const product = await lockPricedProduct(trx, input.productId, 'input.productId')
      await declareProductsChanged(ctx, trx, [product.id])
      const supplierId = input.supplierId ?? product.supplier_id ?? null
      if (input.supplierId) {
        const supplier = await supplierExists(trx, supplierId!)
        if (!supplier)
          throw notFound('input.supplierId: no supplier has this id', { field: 'input.supplierId' })
      }
      const current = await lockCurrentPrice(trx, product.id, priceType, minQuantity)
      const finalCost = cost !== undefined ? cost : (current?.cost ?? null)
      const margin = checkedMargin('input.cost', price, finalCost)
      const validUntil = input.validUntil !== undefined ? input.validUntil : (current?.valid_until ?? null)
      checkValidity(validFrom ?? current?.valid_from ?? new Date(), validUntil)
      const values = {
        price,
        cost: finalCost,
        margin,
        currency: currency ?? current?.currency ?? 'EUR',
        // An existing price keeps its supplier unless one is given; a new one defaults to the product's.
        ...(input.supplierId || !current ? { supplier_id: supplierId } : {}),
        valid_until: validUntil,
        ...(validFrom ? { valid_from: validFrom } : {}),
      }

      if (current) {
        const changes = diffValues(current, values, { numeric: NUMERIC, ignore: [] }).after
        if (Object.keys(changes).length === 0) return toProductPrice(current)
        const row = await updatePrice(trx, current.id, changes)
        if ('price' in changes) await recordPriceChange(trx, ctx, row, current.price, why)
        await recordAudit(trx, {
          action: 'update',
          entityType: 'product_price',
          entityId: row.id,
          userId: ctx.caller.userId,
          changes: {
            ...diffValues(toProductPrice(current), toProductPrice(row)),
            reason: why.reason,
          },
        })
        return toProductPrice(row)
      }

      // The previous amount of this price type, if one was ever recorded (null on the first price).
      const last = await lastRecordedPrice(trx, product.id, priceType)
      const row = await insertPrice(trx, {
        ...values,
        product_id: product.id,
        price_type: priceType,
        min_quantity: minQuantity,
      })
      await recordPriceChange(trx, ctx, row, last?.new_price ?? null, why)
      const created = toProductPrice(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'product_price',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: created, reason: why.reason },
      })
      return created
    })
  },

  /** Partial update of one price row; margin follows price and cost; a different amount writes price_history. */
  updateProductPrice: (_, { id, input }, ctx) => {
    const { reason: _reason, source: _source, ...fields } = input
    if (!Object.values(fields).some((v) => v !== undefined)) {
      throw badUserInput('input must set at least one field besides reason and source', { field: 'input' })
    }
    const price =
      input.price === undefined
        ? undefined
        : (checkAmount('input.price', notNull('input.price', input.price)) as string)
    const cost = input.cost === undefined ? undefined : checkAmount('input.cost', input.cost)
    const currency =
      input.currency === undefined
        ? undefined
        : checkCurrency('input.currency', notNull('input.currency', input.currency))
    const minQuantity =
      input.minQuantity === undefined
        ? undefined
        : checkInt('input.minQuantity', notNull('input.minQuantity', input.minQuantity), { min: 1 })
    const validFrom = notNull('input.validFrom', input.validFrom)
    const isActive = notNull('input.isActive', input.isActive)
    const why = provenance(input)
    return inTransaction(ctx, async (trx) => {
      const found = await priceProductId(trx, id)
      if (!found) throw notFound('id: no price has this id', { field: 'id' })
      await lockPricedProduct(trx, found.product_id, 'id')
      await declareProductsChanged(ctx, trx, [found.product_id])
      const { row } = await updateAudited(trx, {
        table: 'product_prices',
        id,
        notFound: priceNotFound,
        values: (before) => {
          const finalPrice = price ?? before.price
          const finalCost = cost !== undefined ? cost : before.cost
          const validUntil = input.validUntil !== undefined ? input.validUntil : before.valid_until
          checkValidity(validFrom ?? before.valid_from, validUntil)
          return {
            price,
            cost,
            margin:
              price !== undefined || cost !== undefined
                ? checkedMargin(cost !== undefined ? 'input.cost' : 'input.price', finalPrice, finalCost)
                : undefined,
            currency: currency ?? undefined,
            min_quantity: minQuantity ?? undefined,
            valid_from: validFrom,
            valid_until: input.validUntil,
            is_active: isActive,
          }
        },
        numeric: NUMERIC,
        view: toProductPrice,
        // A different amount is a price change: price_history records it.
        afterUpdate: async (row, before) => {
          if (!sameValue(before.price, row.price, true)) {
            await recordPriceChange(trx, ctx, row, before.price, why)
          }
          return { reason: why.reason }
        },
        audit: { entityType: 'product_price', userId: ctx.caller.userId },
      })
      return toProductPrice(row)
    })
  },

  deactivateProductPrice: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'product_prices',
        id,
        notFound: priceNotFound,
        values: () => ({ is_active: false }),
        view: toProductPrice,
        audit: { entityType: 'product_price', action: 'deactivate', userId: ctx.caller.userId },
      })
      return toProductPrice(row)
    }),
} satisfies MutationResolvers
