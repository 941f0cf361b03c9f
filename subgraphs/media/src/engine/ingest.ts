import { randomUUID } from 'node:crypto'
import type { DB } from '@pm/db/types/media'
import {
  badUserInput,
  inTransaction,
  MAX_URL_LENGTH,
  recordAudit,
  type TextRule,
  textInputError,
} from '@pm/service-kit'
import { type Kysely, sql } from 'kysely'
import { tellCatalogImages } from '../catalog'
import type { Context } from '../context'
import { lockProductsMedia } from '../db/writes'
import type { ProductImageUrlsInput } from '../generated/graphql'
import { enqueueFetch } from './queue'
import { urlFileName } from './source'

/** The URLs refused for one reason: how many, and one of them. */
export interface ImageUrlRefusals {
  reason: string
  count: number
  example: string
}

/** Products per call, URLs per product (as catalog's import rows) and URLs per call. */
export const MAX_PRODUCTS = 5_000
export const MAX_URLS_PER_PRODUCT = 50
export const MAX_URLS = 20_000
/** Products whose new URLs are recorded per transaction: each holds one advisory lock of the shared table. */
const PRODUCTS_PER_TRANSACTION = 250

interface Pair {
  productId: string
  url: string
}

/** ProductImageUrlsInput.urls' @text: at most MAX_URL_LENGTH characters, no control or formatting character. */
const IMAGE_URL_RULE: TextRule = { maxLength: MAX_URL_LENGTH, allowControls: false }

/** Top-level names reserved never to resolve (RFC 2606, RFC 6761): a download could never start. */
const NEVER_RESOLVES = /\.(example|invalid|test)\.?$/i

/**
 * Why a URL can never give an image, or null when it is an absolute http(s) URL of acceptable length whose
 * host may exist. The reasons are few and fixed, so refusals are counted by reason.
 */
function urlProblem(url: string): string | null {
  // Counted in bytes: the URL keys an index.
  if (Buffer.byteLength(url) > MAX_URL_LENGTH) return `the image URL is longer than ${MAX_URL_LENGTH} bytes`
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'the image URL is not an absolute URL'
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return 'the image URL is not an http(s) URL'
  if (NEVER_RESOLVES.test(parsed.hostname)) {
    return 'the image URL names a host under .example, .invalid or .test, reserved never to exist'
  }
  return null
}

/**
 * Why a URL as given breaks the input rules of urls (@text), or null. `products` is @rows, so a URL they refuse
 * is refused alone here, not with its product's other URLs or the whole call.
 */
function textProblem(raw: string): string | null {
  const error = textInputError('url', raw, IMAGE_URL_RULE)
  if (!error) return null
  if (error.extensions.maxLength !== undefined) return `the image URL is longer than ${MAX_URL_LENGTH} bytes`
  return raw.includes('\u0000')
    ? 'the image URL holds a NUL character'
    : 'the image URL holds a control or bidirectional formatting character'
}

/** The (product, URL) pairs in input order, each once; refusals for what cannot be a URL to fetch. */
export function checkImageUrls(products: readonly ProductImageUrlsInput[]) {
  if (products.length > MAX_PRODUCTS) {
    throw badUserInput(`products has ${products.length} entries; at most ${MAX_PRODUCTS} per call`, {
      field: 'products',
    })
  }
  const pairs: Pair[] = []
  const refused = new Map<string, ImageUrlRefusals>()
  const seen = new Set<string>()
  let repeated = 0
  products.forEach((entry, i) => {
    if (entry.urls.length > MAX_URLS_PER_PRODUCT) {
      throw badUserInput(
        `products[${i}].urls has ${entry.urls.length} URLs; at most ${MAX_URLS_PER_PRODUCT} per product`,
        { field: `products[${i}].urls` },
      )
    }
    const productId = entry.productId
    for (const raw of entry.urls) {
      const url = raw.trim()
      const problem = textProblem(raw) ?? urlProblem(url)
      if (problem) {
        const group = refused.get(problem)
        if (group) group.count++
        else refused.set(problem, { reason: problem, count: 1, example: raw.slice(0, 200) })
        continue
      }
      const key = `${productId} ${url}`
      if (seen.has(key)) {
        repeated++
        continue
      }
      seen.add(key)
      pairs.push({ productId, url })
    }
  })
  if (pairs.length > MAX_URLS) {
    throw badUserInput(`products hold ${pairs.length} URLs; at most ${MAX_URLS} per call`, {
      field: 'products',
    })
  }
  return { pairs, refused: [...refused.values()], repeated }
}

const pairKey = (p: Pair) => `${p.productId} ${p.url}`

/** Which of these pairs media already knows (one statement, on the primary key). */
async function knownPairs(db: Kysely<DB>, pairs: readonly Pair[]): Promise<Set<string>> {
  if (pairs.length === 0) return new Set()
  const { rows } = await sql<Pair>`
    SELECT s.product_id AS "productId", s.url
      FROM unnest(${pairs.map((p) => p.productId)}::uuid[], ${pairs.map((p) => p.url)}::text[]) AS i(product_id, url)
      JOIN media_source_urls AS s ON s.product_id = i.product_id AND s.url = i.url`.execute(db)
  return new Set(rows.map(pairKey))
}

/**
 * Records one group of new (product, URL) pairs under their products' locks: a media file pending download per
 * URL (after the product's last file; the first one primary when the product has none, as attachProductImage
 * decides), the URL remembered, the downloads queued. Answers the ids made and the products that had no file.
 */
async function recordGroup(ctx: Context, group: readonly Pair[]) {
  return inTransaction(ctx, async (trx) => {
    const productIds = [...new Set(group.map((p) => p.productId))]
    await lockProductsMedia(trx, productIds)
    // Another call may have recorded some of them since the first look.
    const known = await knownPairs(trx, group)
    const fresh = group.filter((p) => !known.has(pairKey(p)))
    if (fresh.length === 0) return { ids: [] as string[], firstImages: [] as string[] }
    const siblings = await trx
      .selectFrom('media_files')
      .select((eb) => [
        'product_id',
        eb.fn.max('display_order').as('lastOrder'),
        eb.fn<boolean | null>('bool_or', ['is_primary']).as('hasPrimary'),
      ])
      .where('product_id', '=', (eb) => eb.fn.any(eb.val(productIds)))
      .groupBy('product_id')
      .execute()
    const state = new Map(
      siblings.map((s) => [
        s.product_id!,
        { next: (s.lastOrder ?? -1) + 1, hasPrimary: s.hasPrimary === true },
      ]),
    )
    const firstImages = productIds.filter((id) => !state.has(id))
    const rows = fresh.map((pair) => {
      let product = state.get(pair.productId)
      const first = product === undefined
      if (!product) {
        product = { next: 0, hasPrimary: false }
        state.set(pair.productId, product)
      }
      const row = {
        id: randomUUID(),
        ...pair,
        fileName: urlFileName(pair.url),
        imageType: first ? 'main' : 'gallery',
        displayOrder: product.next++,
        isPrimary: !product.hasPrimary,
      }
      product.hasPrimary = true
      return row
    })
    const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((r) => r[key])
    await sql`
      INSERT INTO media_files (id, product_id, file_name, source_url, image_type, display_order, is_primary,
                               processing_status, is_valid)
      SELECT id, product_id, file_name, source_url, image_type, display_order, is_primary, 'pending', true
        FROM unnest(${column('id')}::uuid[], ${column('productId')}::uuid[], ${column('fileName')}::text[],
                    ${column('url')}::text[], ${column('imageType')}::text[], ${column('displayOrder')}::int[],
                    ${column('isPrimary')}::boolean[])
             AS r(id, product_id, file_name, source_url, image_type, display_order, is_primary)`.execute(trx)
    await sql`
      INSERT INTO media_source_urls (product_id, url, media_file_id)
      SELECT * FROM unnest(${column('productId')}::uuid[], ${column('url')}::text[], ${column('id')}::uuid[])`.execute(
      trx,
    )
    const ids = column('id')
    await enqueueFetch(trx, ids)
    // Counts, not ids (an import records thousands): the files carry their source URL.
    await recordAudit(trx, {
      action: 'import_urls',
      entityType: 'product_media',
      entityId: null,
      userId: ctx.caller.userId,
      changes: { mediaFilesQueued: ids.length, products: productIds.length },
    })
    return { ids, firstImages }
  })
}

/**
 * Hands image URLs to media (Mutation.importProductImageUrls): the URLs each product already had from an
 * earlier call are left alone (one statement finds them, so a re-import of the same file costs that only);
 * each new one becomes a media file pending download, its fetch queued on media's worker. Nothing is
 * downloaded here.
 */
export async function importImageUrls(ctx: Context, products: readonly ProductImageUrlsInput[]) {
  const { pairs, refused, repeated } = checkImageUrls(products)
  const known = await knownPairs(ctx.db, pairs)
  const fresh = pairs.filter((p) => !known.has(pairKey(p)))
  // Grouped by product, products in id order, a bounded number of products per transaction.
  const byProduct = new Map<string, Pair[]>()
  for (const pair of fresh) {
    const list = byProduct.get(pair.productId)
    if (list) list.push(pair)
    else byProduct.set(pair.productId, [pair])
  }
  const ordered = [...byProduct.keys()].sort()
  let queued = 0
  const firstImages: string[] = []
  for (let i = 0; i < ordered.length; i += PRODUCTS_PER_TRANSACTION) {
    const group = ordered.slice(i, i + PRODUCTS_PER_TRANSACTION).flatMap((id) => byProduct.get(id)!)
    const recorded = await recordGroup(ctx, group)
    queued += recorded.ids.length
    firstImages.push(...recorded.firstImages)
  }
  // Catalog's completeness counts a product's files: those that got their first one are told, in one call.
  await tellCatalogImages(ctx, firstImages)
  return { queued, known: pairs.length - queued + repeated, refused }
}
