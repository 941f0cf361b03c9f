import { randomUUID } from 'node:crypto'
import {
  badUserInput,
  checkCurrency,
  checkEnum,
  ErrorCode,
  inTransaction,
  recordAudit,
  rowInputError,
  sameValue,
} from '@pm/service-kit'
import type { Context } from '../context'
import {
  analyzeGrownTables,
  type CatalogTrx,
  type CurrentRetailPrice,
  currentRetailPrices,
  currentStockLevels,
  deferCompleteness,
  existingReferences,
  insertProducts,
  insertRetailPriceHistory,
  insertRetailPrices,
  insertStockHistory,
  insertStockLevels,
  lockProductKeys,
  lockProducts,
  type PriceHistoryDoc,
  type PriceInsertDoc,
  type PriceUpdateDoc,
  type ProductDoc,
  refreshCompleteness,
  resolveProductKeys,
  type StockHistoryDoc,
  type StockInsertDoc,
  type StockUpdateDoc,
  updatePrices,
  updateProducts,
  updateStockLevels,
} from '../db/writes'
import type { ProductUpsertInput } from '../generated/graphql'
import {
  checkAmount,
  checkedMargin,
  marginPercent,
  PRICE_SOURCES,
  type ProductColumns,
  productColumns,
  type RowError,
  rowError,
} from '../validation'

export const MAX_UPSERT_ROWS = 5_000
/** Rows per set-based statement: bounds statement size; the statement count grows only with the chunks. */
export const UPSERT_CHUNK_ROWS = 1_000
/**
 * Most statements one chunk runs: read prices, insert and update products, update and insert prices, history,
 * and the chunk's completeness refresh.
 */
export const UPSERT_STATEMENTS_PER_CHUNK = 7
/** More statements per chunk when rows set stock: lock products, read stock, update, insert, history. */
export const STOCK_STATEMENTS_PER_CHUNK = 5

/**
 * A row prepareRow validates: an upsert row, or an import row with its supplier, whose status is free text
 * (ProductImportRowInput.status is a String; productColumns checks it against the statuses).
 */
export type UpsertRowInput = Omit<ProductUpsertInput, 'status'> & { status?: string | null }

export type UpsertStatus = 'CREATED' | 'UPDATED' | 'UNCHANGED' | 'FAILED'

export interface UpsertRowResult {
  index: number
  status: UpsertStatus
  productId: string | null
  error: RowError | null
}

export interface UpsertResult {
  created: number
  updated: number
  unchanged: number
  failed: number
  rows: UpsertRowResult[]
}

export interface PreparedRow {
  index: number
  at: string
  columns: ProductColumns
  /** Identifies the row's product within the call: (supplier, sku) or EAN. */
  key: string
  keyField: string
  skuKey: { supplier_id: string; sku: string } | null
  ean: string | null
  price: { price: string; cost: string | null | undefined; currency: string | undefined } | null
  productId: string | null
  isNew: boolean
  /** The row's stock level (imports): quantity of the product in one warehouse (null: no warehouse). */
  stock: { quantity: number; warehouseId: string | null; minStock?: number } | null
}

/** Validates one row in JS (no SQL): its columns, its price and the key it is matched by. */
export function prepareRow(row: UpsertRowInput, index: number): PreparedRow {
  const refused = rowInputError(row)
  if (refused) throw refused
  const at = `rows[${index}]`
  const columns = productColumns(row, at)
  let price: PreparedRow['price'] = null
  if (row.price === null) {
    throw badUserInput(`${at}.price cannot be null: omit it to leave the price as it is`, {
      field: `${at}.price`,
    })
  }
  if (row.price !== undefined) {
    const amount = checkAmount(`${at}.price`, row.price)!
    const cost = row.cost === undefined ? undefined : checkAmount(`${at}.cost`, row.cost)
    const currency = row.currency == null ? undefined : checkCurrency(`${at}.currency`, row.currency)!
    if (cost !== undefined) checkedMargin(`${at}.cost`, amount, cost)
    price = { price: amount, cost, currency }
  } else if (row.cost !== undefined || row.currency !== undefined) {
    throw badUserInput(`${at}.price is required when cost or currency is given`, { field: `${at}.price` })
  }
  const supplierId = columns.supplier_id
  const sku = columns.sku
  if (supplierId && sku) {
    return {
      index,
      at,
      columns,
      key: `sku\u0000${supplierId}\u0000${sku}`,
      keyField: `${at}.sku`,
      skuKey: { supplier_id: supplierId, sku },
      ean: null,
      price,
      productId: null,
      isNew: false,
      stock: null,
    }
  }
  if (columns.ean) {
    return {
      index,
      at,
      columns,
      key: `ean\u0000${columns.ean}`,
      keyField: `${at}.ean`,
      skuKey: null,
      ean: columns.ean,
      price,
      productId: null,
      isNew: false,
      stock: null,
    }
  }
  const field = supplierId ? `${at}.sku` : `${at}.ean`
  throw badUserInput(`${at} needs supplierId and sku, or an ean, to find its product`, { field })
}

/** A row as the jsonb document the set-based statements read (technical_specs as an object). */
function productDoc(row: PreparedRow, defaults: boolean): ProductDoc {
  const { technical_specs, ...rest } = row.columns
  return {
    id: row.productId!,
    ...rest,
    ...(technical_specs !== undefined
      ? { technical_specs: technical_specs === null ? null : JSON.parse(technical_specs) }
      : {}),
    // A new product gets the column defaults explicitly: the INSERT lists every column.
    ...(defaults ? { status: rest.status ?? 'active', is_active: rest.is_active ?? true } : {}),
  }
}

interface PricePlan {
  updates: PriceUpdateDoc[]
  inserts: PriceInsertDoc[]
  history: PriceHistoryDoc[]
  changed: Set<string>
}

/**
 * What a row's price does to the product's one-unit retail price: nothing when equal, an update of the
 * current price, or a new price row; a different amount also writes price_history. Undefined when the
 * margin cannot be stored (the row fails).
 */
function planPrice(row: PreparedRow, current: CurrentRetailPrice | undefined, plan: PricePlan) {
  const { price, cost: givenCost, currency: givenCurrency } = row.price!
  const productId = row.productId!
  const cost = givenCost !== undefined ? givenCost : (current?.cost ?? null)
  const currency = givenCurrency ?? current?.currency ?? 'EUR'
  const margin = marginPercent(price, cost)
  if (margin === undefined) return false
  if (current?.price_id) {
    const samePrice = sameValue(current.price, price, true)
    if (samePrice && sameValue(current.cost, cost, true) && current.currency === currency) return true
    plan.updates.push({ id: current.price_id, price, cost, margin, currency })
    if (!samePrice)
      plan.history.push({ product_id: productId, old_price: current.price, new_price: price, currency })
  } else {
    plan.inserts.push({ product_id: productId, price, cost, margin, currency })
    plan.history.push({
      product_id: productId,
      old_price: current?.last_price ?? null,
      new_price: price,
      currency,
    })
  }
  plan.changed.add(productId)
  return true
}

/** How one bulk call writes: what price_history and stock_history record, and who did it. */
export interface BulkWriteOptions {
  /** price_history.source */
  source: string
  /** price_history / stock_history changed_by and the audit entry's user. */
  userId: string | null
  /** stock_history.note for the stock levels the rows set. */
  stockNote?: string | null
  /** Told the existing products the rows found by their keys, before any of them is written. */
  onMatched?(trx: CatalogTrx, productIds: string[]): Promise<void>
  /**
   * Runs after the key locks and before the references are checked: may fill in the rows' columns (brand
   * and category found by name) and fail rows; returns the rows still going.
   */
  afterLock?(
    trx: CatalogTrx,
    rows: PreparedRow[],
    fail: (index: number, error: RowError) => void,
  ): Promise<PreparedRow[]>
}

/** The per-row results of a call, all FAILED until a row is written, and the way to fail one. */
export function bulkResults(count: number) {
  const rows: UpsertRowResult[] = Array.from({ length: count }, (_, index) => ({
    index,
    status: 'FAILED',
    productId: null,
    error: null,
  }))
  const fail = (index: number, error: RowError) => {
    rows[index]!.status = 'FAILED'
    rows[index]!.error = error
  }
  return { rows, fail }
}

export function summarize(rows: UpsertRowResult[]): UpsertResult {
  const count = (status: UpsertStatus) => rows.filter((r) => r.status === status).length
  return {
    created: count('CREATED'),
    updated: count('UPDATED'),
    unchanged: count('UNCHANGED'),
    failed: count('FAILED'),
    rows,
  }
}

/**
 * After a committed bulk write that created products: refreshes the statistics of the tables it grew when
 * they are stale (analyzeGrownTables), on the background connection (not one of the operation's statements).
 */
export async function afterBulkGrowth(ctx: Context, results: readonly UpsertRowResult[]) {
  if (!results.some((r) => r.status === 'CREATED')) return
  try {
    const analyzed = await analyzeGrownTables(ctx.background)
    if (analyzed.length > 0) ctx.logger.info('statistics refreshed after a bulk write', { tables: analyzed })
  } catch (error) {
    ctx.logger.warn('statistics not refreshed after a bulk write', { error: String(error) })
  }
}

/**
 * The write of a bulk call, inside its transaction, rows validated: key locks, references, key resolution,
 * then per chunk of UPSERT_CHUNK_ROWS rows at most UPSERT_STATEMENTS_PER_CHUNK statements (plus
 * STOCK_STATEMENTS_PER_CHUNK when rows carry stock). Fills `results`; returns the ids created and updated.
 */
export async function writeBulk(
  trx: CatalogTrx,
  rows: PreparedRow[],
  results: UpsertRowResult[],
  fail: (index: number, error: RowError) => void,
  options: BulkWriteOptions,
): Promise<{ created: string[]; updated: string[] }> {
  let prepared = rows
  const created: string[] = []
  const updated: string[] = []
  if (prepared.length === 0) return { created, updated }
  const unique = (values: (string | null | undefined)[]) =>
    [...new Set(values.filter((v) => !!v))] as string[]
  // Two calls with the same keys wait for each other here, so the second one sees the first one's rows.
  await lockProductKeys(trx, unique(prepared.map((r) => r.columns.supplier_id)), {
    exclusive: prepared.some((r) => !r.skuKey),
  })
  if (options.afterLock) prepared = await options.afterLock(trx, prepared, fail)
  const found = await existingReferences(trx, {
    supplierIds: unique(prepared.map((r) => r.columns.supplier_id)),
    brandIds: unique(prepared.map((r) => r.columns.brand_id)),
    categoryIds: unique(prepared.map((r) => r.columns.category_id)),
  })
  prepared = prepared.filter((r) => {
    const missing = (
      [
        ['supplierId', 'supplier', r.columns.supplier_id],
        ['brandId', 'brand', r.columns.brand_id],
        ['categoryId', 'category', r.columns.category_id],
      ] as const
    ).find(([, kind, id]) => id && !found[kind].has(id))
    if (!missing) return true
    const field = `${r.at}.${missing[0]}`
    fail(r.index, { code: ErrorCode.NOT_FOUND, field, message: `${field}: no ${missing[1]} has this id` })
    return false
  })

  // Duplicate keys within the call: the last row wins, the earlier ones are reported.
  const lastOfKey = new Map(prepared.map((r) => [r.key, r]))
  prepared = prepared.filter((r) => {
    const winner = lastOfKey.get(r.key)!
    if (winner === r) return true
    fail(r.index, {
      code: ErrorCode.BAD_USER_INPUT,
      field: r.keyField,
      message: `${r.at} has the same key as ${winner.at}, which is applied instead (the last row of a key wins)`,
    })
    return false
  })

  const matched = await resolveProductKeys(
    trx,
    prepared.flatMap((r) => (r.skuKey ? [{ i: r.index, ...r.skuKey }] : [])),
    prepared.flatMap((r) => (r.ean !== null && !r.skuKey ? [{ i: r.index, ean: r.ean }] : [])),
  )
  if (options.onMatched) await options.onMatched(trx, [...new Set(matched.values())])
  // Two different keys (an SKU and an EAN) may find the same product: the last row wins there too.
  const lastOfProduct = new Map<string, PreparedRow>()
  for (const r of prepared) {
    const id = matched.get(r.index)
    if (id) lastOfProduct.set(id, r)
  }
  prepared = prepared.filter((r) => {
    const id = matched.get(r.index)
    if (id) {
      const winner = lastOfProduct.get(id)!
      if (winner !== r) {
        fail(r.index, {
          code: ErrorCode.BAD_USER_INPUT,
          field: r.keyField,
          message: `${r.at} finds the same product (${id}) as ${winner.at}, which is applied instead`,
        })
        return false
      }
      r.productId = id
      return true
    }
    if (r.columns.title === undefined) {
      fail(r.index, {
        code: ErrorCode.BAD_USER_INPUT,
        field: `${r.at}.title`,
        message: `${r.at}.title is required to create a product (no product has this row's key)`,
      })
      return false
    }
    r.productId = randomUUID()
    r.isNew = true
    return true
  })

  // A chunk writes products, then prices, then stock: completeness is refreshed once per chunk, for the
  // products it created or changed, rather than by the triggers of each of those statements.
  await deferCompleteness(trx, true)
  for (let start = 0; start < prepared.length; start += UPSERT_CHUNK_ROWS) {
    const chunk = prepared.slice(start, start + UPSERT_CHUNK_ROWS)
    const withStock = chunk.some((r) => r.stock)
    // Stock rows are written under their product's row lock (setStock takes it too): locked before reading.
    if (withStock)
      await lockProducts(
        trx,
        chunk.filter((r) => !r.isNew).map((r) => r.productId!),
      )
    const current = await currentRetailPrices(
      trx,
      chunk.filter((r) => r.price && !r.isNew).map((r) => r.productId!),
    )
    const plan: PricePlan = { updates: [], inserts: [], history: [], changed: new Set() }
    const kept = chunk.filter((r) => {
      if (!r.price || planPrice(r, current.get(r.productId!), plan)) return true
      fail(r.index, {
        code: ErrorCode.BAD_USER_INPUT,
        field: `${r.at}.price`,
        message: `${r.at}.price ${r.price.price} against the stored cost gives a margin below -999.99 %`,
      })
      return false
    })
    await insertProducts(
      trx,
      kept.filter((r) => r.isNew).map((r) => productDoc(r, true)),
    )
    const changed = await updateProducts(
      trx,
      kept.filter((r) => !r.isNew).map((r) => productDoc(r, false)),
    )
    await updatePrices(trx, plan.updates)
    await insertRetailPrices(trx, plan.inserts)
    await insertRetailPriceHistory(trx, plan.history, options.source, options.userId)
    const touched: string[] = []
    const stockChanged = withStock
      ? await writeStockLevels(trx, kept, { note: options.stockNote ?? null, userId: options.userId })
      : new Set<string>()
    for (const r of kept) {
      const id = r.productId!
      const status: UpsertStatus = r.isNew
        ? 'CREATED'
        : changed.has(id) || plan.changed.has(id) || stockChanged.has(id)
          ? 'UPDATED'
          : 'UNCHANGED'
      results[r.index] = { index: r.index, status, productId: id, error: null }
      if (status === 'CREATED') created.push(id)
      else if (status === 'UPDATED') updated.push(id)
      if (status !== 'UNCHANGED') touched.push(id)
    }
    await refreshCompleteness(trx, touched)
  }
  await deferCompleteness(trx, false, { flushStats: created.length > 0 })
  return { created, updated }
}

/**
 * Sets each row's stock level in its warehouse (the product's oldest stock row there, created when missing);
 * a different quantity writes stock_history as setStock does (reason import). At most
 * STOCK_STATEMENTS_PER_CHUNK statements; returns the products whose stock changed.
 */
async function writeStockLevels(
  trx: CatalogTrx,
  rows: PreparedRow[],
  who: { note: string | null; userId: string | null },
) {
  const targets = rows.filter((r) => r.stock)
  const current = await currentStockLevels(
    trx,
    targets
      .filter((r) => !r.isNew)
      .map((r) => ({ i: r.index, product_id: r.productId!, warehouse_id: r.stock!.warehouseId })),
  )
  const updates: StockUpdateDoc[] = []
  const inserts: StockInsertDoc[] = []
  const history: StockHistoryDoc[] = []
  const changed = new Set<string>()
  for (const r of targets) {
    const { quantity, warehouseId, minStock } = r.stock!
    const before = current.get(r.index)
    const sameQuantity = before?.quantity === quantity
    if (sameQuantity && (minStock === undefined || before!.min_stock === minStock)) continue
    if (before) updates.push({ id: before.id, quantity, min_stock: minStock ?? null })
    else
      inserts.push({
        product_id: r.productId!,
        warehouse_id: warehouseId,
        quantity,
        min_stock: minStock ?? null,
      })
    // History records quantities: a threshold changed alone writes none.
    if (!sameQuantity) {
      history.push({
        product_id: r.productId!,
        warehouse_id: warehouseId,
        old_quantity: before ? before.quantity : null,
        new_quantity: quantity,
      })
    }
    changed.add(r.productId!)
  }
  await updateStockLevels(trx, updates)
  await insertStockLevels(trx, inserts)
  await insertStockHistory(trx, history, { reason: 'import', ...who })
  return changed
}

/**
 * Bulk upsert (see Mutation.upsertProducts in schema.graphql): every row validated in JS first; then, in one
 * transaction under advisory locks, a constant number of statements for the call (locks, references, key
 * resolution, audit) plus at most UPSERT_STATEMENTS_PER_CHUNK per chunk of UPSERT_CHUNK_ROWS rows.
 */
export async function upsertProducts(
  rows: ProductUpsertInput[],
  sourceArg: string | null | undefined,
  ctx: Context,
): Promise<UpsertResult> {
  if (rows.length > MAX_UPSERT_ROWS) {
    throw badUserInput(`rows has ${rows.length} entries; at most ${MAX_UPSERT_ROWS} per call`, {
      field: 'rows',
    })
  }
  const source = checkEnum('source', sourceArg ?? 'api', PRICE_SOURCES)
  const { rows: results, fail } = bulkResults(rows.length)
  const prepared: PreparedRow[] = []
  rows.forEach((row, index) => {
    try {
      prepared.push(prepareRow(row, index))
    } catch (error) {
      fail(index, rowError(error))
    }
  })

  if (prepared.length > 0) {
    await inTransaction(ctx, async (trx) => {
      const { created, updated } = await writeBulk(trx, prepared, results, fail, {
        source,
        userId: ctx.caller.userId,
      })
      // One entry per call, listing the ids it created and updated.
      if (created.length + updated.length > 0) {
        await recordAudit(trx, {
          action: 'upsert',
          entityType: 'product',
          entityId: null,
          userId: ctx.caller.userId,
          changes: {
            created,
            updated,
            unchanged: results.filter((r) => r.status === 'UNCHANGED').length,
            failed: results.filter((r) => r.status === 'FAILED').length,
            priceSource: source,
          },
        })
      }
    })
    await afterBulkGrowth(ctx, results)
  }
  return summarize(results)
}
