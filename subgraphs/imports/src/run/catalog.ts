import {
  CHANGED_ENTITIES_EXTENSION,
  ErrorCode,
  type Peers,
  postPeer,
  queryPeer,
  userError,
} from '@pm/service-kit'
import type { ImportRow } from '../engine'

const SUPPLIER_BY_CODE = 'query($code: String!) { supplierByCode(code: $code) { id } }'

const IMPORT_PRODUCTS = `mutation($supplierId: UUID!, $rows: [ProductImportRowInput!]!, $options: ProductImportOptions) {
  importProducts(supplierId: $supplierId, rows: $rows, options: $options) {
    created updated unchanged failed
    failures: results(status: FAILED) { index error { code field message } }
    imageRows { index productId }
  }
}`

const DRY_RUN = `mutation($supplierId: UUID!, $rows: [ProductImportRowInput!]!, $options: ProductImportOptions) {
  importProducts(supplierId: $supplierId, rows: $rows, options: $options) {
    results { index status error { code field message } }
  }
}`

export interface CatalogRowError {
  code: string
  field: string | null
  message: string
}

export interface BatchResult {
  created: number
  updated: number
  unchanged: number
  failed: number
  failures: { index: number; error: CatalogRowError }[]
  /** The accepted rows that carried image URLs, with their product (null only for receipts made before). */
  imageRows: { index: number; productId: string | null }[]
  /** What catalog said the batch changed, as entity tags for the gateways' caches; undefined: it did not say. */
  changed?: string[]
}

export interface BatchOptions {
  userId: string | null
  jobId: string
  /** The batch's first source row: its key in catalog's receipts. */
  batch: number
  /** The key of the batch sent before this one, which catalog commits first (waiting for it if it must). */
  after?: number
  createBrands: boolean
  createCategories: boolean
}

/** A whole batch refused by catalog for a reason retrying cannot fix (the job fails with it). */
export class CatalogRefusal extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message)
    this.name = 'CatalogRefusal'
  }
}

/**
 * Catalog did not take the batch because the batch it follows (options.after) is not committed: it had not reached
 * catalog yet, or it failed. Nothing was written; the batch goes again once the one before it has an answer.
 */
export class BatchOutOfTurn extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BatchOutOfTurn'
  }
}

/** How long one batch may take in catalog (thousands of rows on a loaded machine). */
const BATCH_TIMEOUT_MS = 120_000

/** The keys catalog's ProductImportRowInput takes: the ImportRow vocabulary less what catalog has no use for. */
const CATALOG_KEYS = [
  'sku',
  'ean',
  'upc',
  'gtin',
  'asin',
  'title',
  'description',
  'shortDescription',
  'manufacturerReference',
  'externalId',
  'status',
  'isActive',
  'weight',
  'width',
  'height',
  'depth',
  'technicalSpecs',
  'price',
  'cost',
  'currency',
  'brand',
  'category',
  'stockQuantity',
  'warehouse',
  'minStock',
  'imageUrls',
] as const

/** A mapped row as catalog's input (a retail price given as retailPrice stands for the price). */
export function catalogRow(row: ImportRow): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of CATALOG_KEYS) {
    const value = row[key]
    if (value !== undefined) out[key] = value
  }
  if (out.price === undefined && row.retailPrice !== undefined) out.price = row.retailPrice
  return out
}

function refusalOf(errors: { message: string; extensions?: Record<string, unknown> }[]) {
  const first = errors[0]!
  const code = String(first.extensions?.code ?? 'INTERNAL_SERVER_ERROR')
  if (code === ErrorCode.CONFLICT && first.extensions?.field === 'options.after') {
    return new BatchOutOfTurn(first.message)
  }
  if (code === ErrorCode.SERVICE_UNAVAILABLE || code === 'INTERNAL_SERVER_ERROR') {
    return userError(ErrorCode.SERVICE_UNAVAILABLE, `catalog could not take the batch: ${first.message}`)
  }
  return new CatalogRefusal(`catalog refused the batch: ${first.message}`, code)
}

/** The supplier's id in catalog; NOT_FOUND-like refusal when catalog has no supplier with this code. */
export async function supplierIdOf(peers: Peers, code: string): Promise<string> {
  const data = await queryPeer<{ supplierByCode: { id: string } | null }>(
    peers,
    'catalog',
    SUPPLIER_BY_CODE,
    {
      code,
    },
  )
  if (!data.supplierByCode) {
    throw new CatalogRefusal(`the catalog has no supplier with the code "${code}"`, ErrorCode.NOT_FOUND)
  }
  return data.supplierByCode.id
}

/** Writes one batch through catalog's importProducts (signed as the service); only failures come back. */
export async function sendBatch(
  peers: Peers,
  supplierId: string,
  rows: ImportRow[],
  o: BatchOptions,
): Promise<BatchResult> {
  const body = await postPeer<{ importProducts: BatchResult }>(
    peers,
    'catalog',
    IMPORT_PRODUCTS,
    { supplierId, rows: rows.map(catalogRow), options: o },
    BATCH_TIMEOUT_MS,
  )
  if (body.errors?.length || !body.data) throw refusalOf(body.errors ?? [{ message: 'no answer' }])
  const declared = (body.extensions?.[CHANGED_ENTITIES_EXTENSION] as Record<string, unknown> | undefined)
    ?.catalog
  const changed =
    Array.isArray(declared) && declared.every((t) => typeof t === 'string')
      ? (declared as string[])
      : undefined
  return { ...body.data.importProducts, ...(changed ? { changed } : {}) }
}

export type Verdict = 'CREATED' | 'UPDATED' | 'UNCHANGED' | 'FAILED'

/** What each row would do, nothing kept (catalog's dry run). */
export async function dryRun(
  peers: Peers,
  supplierId: string,
  rows: ImportRow[],
  o: { createBrands: boolean; createCategories: boolean },
) {
  const body = await postPeer<{
    importProducts: { results: { index: number; status: Verdict; error: CatalogRowError | null }[] }
  }>(
    peers,
    'catalog',
    DRY_RUN,
    { supplierId, rows: rows.map(catalogRow), options: { ...o, dryRun: true } },
    BATCH_TIMEOUT_MS,
  )
  if (body.errors?.length || !body.data) throw refusalOf(body.errors ?? [{ message: 'no answer' }])
  return body.data.importProducts.results
}
