import { createHash } from 'node:crypto'
import {
  badUserInput,
  checkInt,
  checkString,
  ErrorCode,
  inTransaction,
  notFound,
  recordAudit,
  rowInputError,
  slugify,
  userError,
} from '@pm/service-kit'
import { BulkProductChanges } from '../changes'
import type { Context } from '../context'
import {
  type BatchKey,
  batchReceipt,
  type CatalogTrx,
  existingReferences,
  insertBrandsByName,
  insertCategoriesByName,
  lockKeys,
  referencesByName,
  saveBatchReceipt,
  takenSlugsOf,
} from '../db/writes'
import type { ProductImportOptions, ProductImportRowInput } from '../generated/graphql'
import { checkText, checkUrl, MAX_NOTE, type RowError, rowError } from '../validation'
import {
  afterBulkGrowth,
  bulkResults,
  MAX_UPSERT_ROWS,
  type PreparedRow,
  prepareRow,
  summarize,
  type UpsertResult,
  type UpsertRowResult,
  type UpsertStatus,
  writeBulk,
} from './upsert'

/** A committed batch's verdicts, stored with it (import_batch_receipts.result). */
interface Receipt {
  statuses: string
  errors: Record<string, RowError>
  /** Product id of each accepted row that carried image URLs (by row index): media still needs them on a replay. */
  images?: Record<string, string>
}

/** What importProducts answers: the bulk result, and which rows carried image URLs (see imageRows). */
export interface ImportResult extends UpsertResult {
  imageRowIndexes: number[]
}
const LETTER = { CREATED: 'C', UPDATED: 'U', UNCHANGED: 'N', FAILED: 'F' } as const
const STATUS_OF: Record<string, UpsertStatus> = { C: 'CREATED', U: 'UPDATED', N: 'UNCHANGED', F: 'FAILED' }

const INT_MAX = 2_147_483_647
const MAX_IMAGE_URLS = 50
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** Serialises the creation of brands and categories by name, so two imports never create the same one twice. */
const NAMES_LOCK = 'catalog:references:by-name'
const MAX_SLUG = 255

/** UUID v5 namespace of warehouse codes (no warehouse table exists: a code always names the same id). */
const WAREHOUSE_NAMESPACE = Buffer.from('6f1c3c2e9a4b4f0e8d2a5b7c9e1f3a5d', 'hex')
const WAREHOUSE_CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/

/** Warehouse codes already turned into ids: a file names a few warehouses on thousands of rows. */
const warehouseIds = new Map<string, string>()
const WAREHOUSE_IDS_KEPT = 10_000

/** A warehouse id (UUID) as given, or the UUID v5 of a warehouse code (upper-cased): "PARIS-01" is always the same id. */
export function warehouseIdOf(value: string, field: string): string {
  const known = warehouseIds.get(value)
  if (known) return known
  // A warehouse column of a file is text, not the UUID scalar: its ids are put in the form PostgreSQL prints.
  if (UUID.test(value)) return value.toLowerCase()
  if (!WAREHOUSE_CODE.test(value)) {
    throw badUserInput(
      `${field} must be a warehouse id (UUID) or code (letters, digits, "_", "." and "-"), not "${value.slice(0, 60)}"`,
      { field },
    )
  }
  const hash = createHash('sha1').update(WAREHOUSE_NAMESPACE).update(value.toUpperCase()).digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  if (warehouseIds.size >= WAREHOUSE_IDS_KEPT) warehouseIds.clear()
  warehouseIds.set(value, id)
  return id
}

/** Rolls a dry run's transaction back once its results are known. */
class DryRunRollback extends Error {}

interface Names {
  brand: string | null
  category: string | null
}

/** The row's product fields as an upsert row of `supplierId`, plus what only imports carry. */
function prepareImportRow(supplierId: string, row: ProductImportRowInput, index: number) {
  // The input rules' verdict is kept on this object (prepareRow below gets a copy with the supplier).
  const refused = rowInputError(row)
  if (refused) throw refused
  const at = `rows[${index}]`
  const { brand, category, stockQuantity, warehouse, minStock, imageUrls, ...fields } = row
  const prepared = prepareRow({ ...fields, supplierId }, index)
  const name = (field: string, value: string | null | undefined) =>
    value == null || value.trim() === '' ? null : checkString(`${at}.${field}`, value.trim(), { max: 255 })
  const names: Names = { brand: name('brand', brand), category: name('category', category) }
  if (stockQuantity != null) {
    const quantity = checkInt(`${at}.stockQuantity`, stockQuantity, { min: 0, max: INT_MAX })!
    let warehouseId: string | null = null
    if (warehouse != null && warehouse.trim() !== '')
      warehouseId = warehouseIdOf(warehouse.trim(), `${at}.warehouse`)
    prepared.stock = { quantity, warehouseId }
    if (minStock != null)
      prepared.stock.minStock = checkInt(`${at}.minStock`, minStock, { min: 0, max: INT_MAX })!
  } else if (warehouse != null || minStock != null) {
    const field = warehouse != null ? 'warehouse' : 'minStock'
    throw badUserInput(`${at}.${field} goes with stockQuantity: give the quantity in that warehouse`, {
      field: `${at}.${field}`,
    })
  }
  if (imageUrls) {
    if (imageUrls.length > MAX_IMAGE_URLS) {
      throw badUserInput(`${at}.imageUrls has ${imageUrls.length} URLs; at most ${MAX_IMAGE_URLS}`, {
        field: `${at}.imageUrls`,
      })
    }
    for (const [k, url] of imageUrls.entries()) checkUrl(`${at}.imageUrls[${k}]`, url)
  }
  return { prepared, names }
}

/** A free slug per new category name ("-2", "-3", … when taken), from one read of the taken slugs. */
async function slugsFor(trx: CatalogTrx, names: string[]) {
  const bases = names.map((n) => (slugify(n) || 'category').slice(0, MAX_SLUG - 6).replace(/-+$/, ''))
  const taken = await takenSlugsOf(trx, [...new Set(bases)])
  return names.map((name, i) => {
    const base = bases[i]!
    let slug = base
    for (let n = 2; taken.has(slug); n++) slug = `${base}-${n}`
    taken.add(slug)
    return { name, slug }
  })
}

/**
 * Brand and category ids of the rows from their names: found (see referencesByName) or, when the options
 * allow, created; a row naming one that is missing fails (NOT_FOUND on rows[i].brand / rows[i].category).
 * At most five statements whatever the number of rows.
 */
async function resolveNames(
  trx: CatalogTrx,
  rows: PreparedRow[],
  names: Map<number, Names>,
  options: ProductImportOptions,
  fail: (index: number, error: RowError) => void,
  createdRefs: { brands: string[]; categories: string[] },
) {
  const distinct = (kind: keyof Names) => {
    const byKey = new Map<string, string>()
    for (const r of rows) {
      const value = names.get(r.index)?.[kind]
      if (value && !byKey.has(value.toLowerCase())) byKey.set(value.toLowerCase(), value)
    }
    return byKey
  }
  const brands = distinct('brand')
  const categories = distinct('category')
  if (brands.size + categories.size === 0) return rows
  const found = await referencesByName(trx, [...brands.values()], [...categories.values()])
  const missing = (kind: 'brand' | 'category', all: Map<string, string>) =>
    [...all].filter(([key]) => !found[kind].has(key)).map(([, name]) => name)
  const createBrands = options.createBrands ? missing('brand', brands) : []
  const createCategories = options.createCategories ? missing('category', categories) : []
  if (createBrands.length + createCategories.length > 0) {
    await lockKeys(trx, [NAMES_LOCK])
    // Read again under the lock: another import may have created some meanwhile.
    const recheck = await referencesByName(trx, createBrands, createCategories)
    const newBrands = await insertBrandsByName(
      trx,
      createBrands.filter((n) => !recheck.brand.has(n.toLowerCase())),
    )
    const newCategories = await insertCategoriesByName(
      trx,
      await slugsFor(
        trx,
        createCategories.filter((n) => !recheck.category.has(n.toLowerCase())),
      ),
    )
    createdRefs.brands.push(...newBrands.values())
    createdRefs.categories.push(...newCategories.values())
    for (const [k, v] of [...recheck.brand, ...newBrands]) found.brand.set(k, v)
    for (const [k, v] of [...recheck.category, ...newCategories]) found.category.set(k, v)
  }
  return rows.filter((r) => {
    const { brand, category } = names.get(r.index)!
    for (const [kind, value, flag] of [
      ['brand', brand, 'createBrands'],
      ['category', category, 'createCategories'],
    ] as const) {
      if (!value) continue
      const id = found[kind].get(value.toLowerCase())
      if (!id) {
        const field = `${r.at}.${kind}`
        fail(r.index, {
          code: ErrorCode.NOT_FOUND,
          field,
          message: `${field}: no ${kind} is named "${value}" (the import creates missing ones only with ${flag})`,
        })
        return false
      }
      r.columns[kind === 'brand' ? 'brand_id' : 'category_id'] = id
    }
    return true
  })
}

/** Held by a batch's transaction from its start: a replay of the same batch, and the batch after it, wait on it. */
const batchLock = (key: BatchKey) => `catalog:import-batch:${key.job_id}:${key.first_row}`

/**
 * Pauses before looking again for a batch that is neither committed nor being written: sent at about the same time
 * as the batch after it (a worker resending it), it may still be on its way (about 300 ms in all).
 */
const LATE_BATCH_PAUSES_MS = [10, 20, 40, 80, 150]

/**
 * Waits for the transaction writing the batch `key` to end (a shared hold of its lock, in a short transaction of
 * its own), then, in a statement of its own (a snapshot taken after the wait), finds its receipt. When that batch
 * is neither committed nor being written, looks again a few times (LATE_BATCH_PAUSES_MS), then refuses with
 * CONFLICT: batches of a job sent ahead of their turn are still written in file order.
 */
async function committedBefore(ctx: Context, key: BatchKey) {
  for (const pause of [0, ...LATE_BATCH_PAUSES_MS]) {
    if (pause > 0) await new Promise((r) => setTimeout(r, pause))
    const committed = await inTransaction(ctx, async (trx) => {
      await lockKeys(trx, [batchLock(key)], { shared: true })
      return (await batchReceipt(trx, key)) !== undefined
    })
    if (committed) return
  }
  throw userError(
    ErrorCode.CONFLICT,
    `options.after: batch ${key.first_row} of this job is not committed; send this batch again once it is`,
    { field: 'options.after' },
  )
}

/** A batch already committed: its stored verdicts (product ids kept only for the rows with image URLs). */
function replay(receipt: Receipt, results: UpsertRowResult[]) {
  if (receipt.statuses.length !== results.length) {
    throw badUserInput(
      `options.batch: this batch was committed with ${receipt.statuses.length} rows, not ${results.length}`,
      { field: 'options.batch' },
    )
  }
  for (const r of results) {
    r.status = STATUS_OF[receipt.statuses[r.index]!]!
    r.productId = receipt.images?.[r.index] ?? null
    r.error = receipt.errors[r.index] ?? null
  }
}

/**
 * Writes a batch of a supplier's import rows (see Mutation.importProducts): the bulk upsert's path with the
 * supplier fixed, brands and categories by name, stock levels, price_history source import and stock_history
 * reason import, both attributed to options.userId. A dry run gives the same verdicts and keeps nothing.
 */
export async function importProducts(
  supplierId: string,
  rows: ProductImportRowInput[],
  options: ProductImportOptions,
  ctx: Context,
): Promise<ImportResult> {
  if (rows.length > MAX_UPSERT_ROWS) {
    throw badUserInput(`rows has ${rows.length} entries; at most ${MAX_UPSERT_ROWS} per call`, {
      field: 'rows',
    })
  }
  const supplier = supplierId
  const userId = options.userId ?? null
  const note = options.jobId ? checkText('options.jobId', `import job ${options.jobId}`, MAX_NOTE) : 'import'
  const { rows: results, fail } = bulkResults(rows.length)
  const withImages = rows.flatMap((row, index) => (row.imageUrls?.length ? [index] : []))
  const prepared: PreparedRow[] = []
  const names = new Map<number, Names>()
  rows.forEach((row, index) => {
    try {
      const one = prepareImportRow(supplier, row, index)
      prepared.push(one.prepared)
      names.set(index, one.names)
    } catch (error) {
      fail(index, rowError(error))
    }
  })
  const createdRefs = { brands: [] as string[], categories: [] as string[] }
  const batch = checkInt('options.batch', options.batch, { min: 0 })
  if (batch !== null && !options.jobId) {
    throw badUserInput('options.batch goes with options.jobId', { field: 'options.batch' })
  }
  const receiptKey = batch !== null && !options.dryRun ? { job_id: options.jobId!, first_row: batch } : null
  const after = checkInt('options.after', options.after, { min: 0 })
  if (after !== null && (!receiptKey || after === batch)) {
    throw badUserInput(
      'options.after names another batch of the job, and goes with options.jobId and options.batch (not with dryRun)',
      {
        field: 'options.after',
      },
    )
  }
  const changes = new BulkProductChanges()
  let written = false
  // Before this batch's transaction starts, so that its rows and their history's times come after that batch's.
  if (receiptKey && after !== null)
    await committedBefore(ctx, { job_id: receiptKey.job_id, first_row: after })
  try {
    await inTransaction(ctx, async (trx) => {
      // First: the batch after this one waits on this lock (see committedBefore).
      if (receiptKey) await lockKeys(trx, [batchLock(receiptKey)])
      const found = await existingReferences(trx, { supplierIds: [supplier], brandIds: [], categoryIds: [] })
      if (!found.supplier.has(supplier)) {
        throw notFound('supplierId: no supplier has this id', { field: 'supplierId' })
      }
      if (receiptKey) {
        const stored = await batchReceipt(trx, receiptKey)
        if (stored) return replay(stored as unknown as Receipt, results)
      }
      const { created, updated } = await writeBulk(trx, prepared, results, fail, {
        source: 'import',
        userId,
        stockNote: note,
        afterLock: (t, going, failRow) => resolveNames(t, going, names, options, failRow, createdRefs),
        onMatched: (t, ids) => changes.owners(t, ids),
      })
      if (options.dryRun) throw new DryRunRollback()
      for (const r of prepared) {
        const status = results[r.index]!.status
        if (status === 'CREATED' || status === 'UPDATED') changes.written(r.columns, status === 'CREATED')
      }
      written = created.length + updated.length > 0
      if (receiptKey) {
        const receipt: Receipt = {
          statuses: results.map((r) => LETTER[r.status]).join(''),
          errors: Object.fromEntries(results.filter((r) => r.error).map((r) => [r.index, r.error!])),
        }
        const images = withImages.flatMap((i) => (results[i]!.productId ? [[i, results[i]!.productId]] : []))
        if (images.length > 0) receipt.images = Object.fromEntries(images)
        await saveBatchReceipt(trx, receiptKey, receipt)
      }
      if (created.length + updated.length + createdRefs.brands.length + createdRefs.categories.length > 0) {
        // Counts, not ids: an import writes thousands of rows per call; the job id leads to its details.
        await recordAudit(trx, {
          action: 'import',
          entityType: 'product',
          entityId: null,
          userId,
          changes: {
            importJobId: options.jobId ?? null,
            supplierId: supplier,
            created: created.length,
            updated: updated.length,
            unchanged: results.filter((r) => r.status === 'UNCHANGED').length,
            failed: results.filter((r) => r.status === 'FAILED').length,
            createdBrands: createdRefs.brands,
            createdCategories: createdRefs.categories,
          },
        })
      }
    })
  } catch (error) {
    if (!(error instanceof DryRunRollback)) throw error
  }
  changes.declare(ctx, written && !options.dryRun)
  if (!options.dryRun) await afterBulkGrowth(ctx, results)
  const imageRowIndexes = withImages.filter((i) => results[i]!.status !== 'FAILED')
  return { ...summarize(results), imageRowIndexes }
}
