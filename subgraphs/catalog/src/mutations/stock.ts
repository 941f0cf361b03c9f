import {
  badUserInput,
  checkEnum,
  checkInt,
  diffValues,
  inTransaction,
  notFound,
  recordAudit,
} from '@pm/service-kit'
import { declareProductsChanged } from '../changes'
import type { Context } from '../context'
import { type ProductStockRow, toProductStock } from '../db/mappers'
import { lockProduct } from '../db/products'
import {
  insertStockHistoryEntry,
  insertStockLevel,
  lockStockLevel,
  type StockLevelValues,
  updateStockLevel,
} from '../db/stock'
import { type CatalogTrx, lockKeys, stockLock } from '../db/writes'
import type { AdjustStockInput, MutationResolvers, SetStockInput } from '../generated/graphql'
import { checkText, MAX_NOTE, notNull, STOCK_REASONS } from '../validation'

const INT_MAX = 2_147_483_647

function provenance(input: AdjustStockInput | SetStockInput) {
  return {
    reason: checkEnum('input.reason', input.reason ?? 'adjustment', STOCK_REASONS),
    note: checkText('input.note', input.note, MAX_NOTE),
  }
}

/**
 * The stock row of (product, warehouse), locked. product_stocks has no unique key on the pair, so an
 * advisory lock on it keeps two writers from both creating a row, and the product's row lock (which bulk
 * imports take too) keeps them from racing an import; with legacy duplicates, the oldest id wins. No warehouse
 * table exists: any warehouse id is accepted; null is the product's stock without a warehouse.
 */
async function lockStockRow(trx: CatalogTrx, productId: string, warehouseId: string | null) {
  const product = await lockProduct(trx, productId)
  if (!product) throw notFound('input.productId: no product has this id', { field: 'input.productId' })
  await lockKeys(trx, [stockLock(product.id, warehouseId)])
  return lockStockLevel(trx, product.id, warehouseId)
}

async function writeStock(
  trx: CatalogTrx,
  ctx: Context,
  target: { productId: string; warehouseId: string | null },
  before: ProductStockRow | undefined,
  values: StockLevelValues,
  why: ReturnType<typeof provenance>,
  action: string,
) {
  const row = before
    ? await updateStockLevel(trx, before.id, values)
    : await insertStockLevel(trx, {
        product_id: target.productId,
        warehouse_id: target.warehouseId,
        ...values,
      })
  if (!before || row.quantity !== before.quantity) {
    await insertStockHistoryEntry(trx, {
      product_id: row.product_id!,
      warehouse_id: row.warehouse_id,
      old_quantity: before ? before.quantity : null,
      new_quantity: row.quantity,
      reason: why.reason,
      note: why.note,
      changed_by: ctx.caller.userId,
    })
  }
  await recordAudit(trx, {
    action,
    entityType: 'product_stock',
    entityId: row.id,
    userId: ctx.caller.userId,
    changes: {
      ...(before
        ? diffValues(toProductStock(before), toProductStock(row), { ignore: ['lastUpdate'] })
        : { before: null, after: toProductStock(row) }),
      reason: why.reason,
      note: why.note,
    },
  })
  return toProductStock(row)
}

export const stockMutations = {
  /** Adds delta (negative to remove) to the quantity; the row is created on a first positive delta. */
  adjustStock: (_, { input }, ctx) => {
    const delta = checkInt('input.delta', input.delta)!
    if (delta === 0) throw badUserInput('input.delta must not be 0', { field: 'input.delta' })
    const why = provenance(input)
    const warehouseId = input.warehouseId ?? null
    return inTransaction(ctx, async (trx) => {
      const before = await lockStockRow(trx, input.productId, warehouseId)
      await declareProductsChanged(ctx, trx, [input.productId])
      const quantity = before?.quantity ?? 0
      const reserved = before?.reserved_quantity ?? 0
      const next = quantity + delta
      if (next < 0) {
        throw badUserInput(
          `input.delta ${delta} would take the quantity from ${quantity} to ${next}; stock cannot go below zero`,
          { field: 'input.delta' },
        )
      }
      if (next > INT_MAX) {
        throw badUserInput(`input.delta would take the quantity above ${INT_MAX}`, { field: 'input.delta' })
      }
      if (next < reserved) {
        throw badUserInput(
          `input.delta ${delta} would leave ${next} in stock while ${reserved} are reserved; release the reservation first`,
          { field: 'input.delta' },
        )
      }
      return writeStock(
        trx,
        ctx,
        { productId: input.productId, warehouseId },
        before,
        { quantity: next },
        why,
        'adjust',
      )
    })
  },

  /** Sets the quantity (and optionally reserved and minimum); the row is created when missing. */
  setStock: (_, { input }, ctx) => {
    const quantity = checkInt('input.quantity', input.quantity, { min: 0 })!
    const reserved =
      input.reservedQuantity === undefined
        ? undefined
        : checkInt('input.reservedQuantity', notNull('input.reservedQuantity', input.reservedQuantity), {
            min: 0,
          })!
    const minStock =
      input.minStock === undefined
        ? undefined
        : checkInt('input.minStock', notNull('input.minStock', input.minStock), { min: 0 })!
    const why = provenance(input)
    const warehouseId = input.warehouseId ?? null
    return inTransaction(ctx, async (trx) => {
      const before = await lockStockRow(trx, input.productId, warehouseId)
      await declareProductsChanged(ctx, trx, [input.productId])
      const finalReserved = reserved ?? before?.reserved_quantity ?? 0
      if (finalReserved > quantity) {
        const field = reserved !== undefined ? 'input.reservedQuantity' : 'input.quantity'
        throw badUserInput(
          `${field}: ${finalReserved} reserved cannot exceed a quantity of ${quantity}; reserved is never above quantity`,
          { field },
        )
      }
      const values = {
        quantity,
        ...(reserved !== undefined ? { reserved_quantity: reserved } : {}),
        ...(minStock !== undefined ? { min_stock: minStock } : {}),
      }
      const changes = before ? diffValues(before, values, { ignore: [] }).after : values
      if (before && Object.keys(changes).length === 0) return toProductStock(before)
      return writeStock(trx, ctx, { productId: input.productId, warehouseId }, before, changes, why, 'set')
    })
  },
} satisfies MutationResolvers
