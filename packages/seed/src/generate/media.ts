import type { DB } from '@pm/db/types/media'
import type { Insertable } from 'kysely'
import { type Random, sha256Hex } from '../random'
import { anchorId, type Ctx, type ProductInfo } from './context'

export type MediaRows = { [T in Exclude<keyof DB, 'audit_outbox'>]: Insertable<DB[T]>[] }

const BUCKET = 'pm-media'
const STORAGE_URL = 'http://localhost:9000'
const THUMBNAILS = [
  ['small', 150],
  ['medium', 400],
  ['large', 800],
] as const

export interface MediaFileInput {
  id: string
  productId: string
  baseName: string
  title: string
  /** Position in the product's gallery (0 = main image). */
  order: number
  isPrimary: boolean
  createdAt: Date
  fileHash: string
  thumbnailId: (size: number) => string
}

/** One product image in MinIO and its three thumbnails (small, medium, large). */
export function mediaFileRows(
  ctx: Ctx,
  rng: Random,
  input: MediaFileInput,
): { file: Insertable<DB['media_files']>; thumbnails: Insertable<DB['media_thumbnails']>[] } {
  const { id, productId, baseName, title, order, isPrimary, createdAt } = input
  const [mime, ext, format] = rng.weighted([
    [['image/jpeg', 'jpg', 'jpeg'], 70],
    [['image/webp', 'webp', 'webp'], 20],
    [['image/png', 'png', 'png'], 10],
  ] as const)
  const width = rng.pick([1000, 1200, 1500, 2000, 2400])
  const height = rng.chance(0.7) ? width : Math.round((width * 3) / 4)
  const status = rng.weighted([
    ['completed', 92],
    ['processing', 3],
    ['pending', 3],
    ['failed', 2],
  ] as const)
  const objectKey = `products/${productId}/${id}.${ext}`
  const file: Insertable<DB['media_files']> = {
    id,
    product_id: productId,
    file_name: `${baseName}-${order + 1}.${ext}`,
    file_hash: input.fileHash,
    mime_type: mime,
    file_size_bytes: rng.int(60_000, 2_500_000),
    storage_type: 'minio',
    bucket_name: BUCKET,
    object_key: objectKey,
    storage_url: `${STORAGE_URL}/${BUCKET}/${objectKey}`,
    width,
    height,
    format,
    image_type: order === 0 ? 'main' : rng.pick(['gallery', 'packshot', 'lifestyle', 'detail']),
    display_order: order,
    is_primary: isPrimary,
    alt_text: `${title} – vue ${order + 1}`,
    processing_status: status,
    is_valid: status !== 'failed',
    created_at: createdAt,
  }
  const thumbnails = THUMBNAILS.map(([size, edge], n) => {
    const key = `thumbnails/${id}/${size}.webp`
    return {
      id: input.thumbnailId(n),
      media_file_id: id,
      size_name: size,
      width: edge,
      height: Math.round((edge * height) / width),
      object_key: key,
      storage_url: `${STORAGE_URL}/${BUCKET}/${key}`,
      created_at: ctx.after(createdAt, rng.int(1, 120) * 1000),
    }
  })
  return { file, thumbnails }
}

/**
 * 1–4 media files for about 90% of products (one primary for most, none for some), three thumbnails
 * each, and about 2% of files attached to product ids the catalog does not have (orphans).
 */
export function generateMedia(ctx: Ctx, products: ProductInfo[], orphanIds: string[]): MediaRows {
  const rng = ctx.rng('media')
  const ids = ctx.rng('media.media_files.id')
  const thumbIds = ctx.rng('media.media_thumbnails.id')
  const files: Insertable<DB['media_files']>[] = []
  const thumbnails: Insertable<DB['media_thumbnails']>[] = []

  const addFile = (
    productId: string,
    baseName: string,
    title: string,
    order: number,
    isPrimary: boolean,
    createdAt: Date,
  ) => {
    // The very first file anchors the media database (same id for every seed).
    const id = files.length === 0 ? anchorId('media') : ids.uuid()
    const rows = mediaFileRows(ctx, rng, {
      id,
      productId,
      baseName,
      title,
      order,
      isPrimary,
      createdAt,
      // Content hash stand-in: unique per file, as SHA-256 deduplication requires.
      fileHash: sha256Hex(`pm-seed media ${id}`),
      thumbnailId: () => thumbIds.uuid(),
    })
    files.push(rows.file)
    thumbnails.push(...rows.thumbnails)
  }

  for (const product of products) {
    // The first product always has media, so the anchor row exists for any product count.
    if (product.index > 0 && !rng.chance(0.9)) continue
    const count = rng.weighted([
      [1, 30],
      [2, 30],
      [3, 25],
      [4, 15],
    ] as const)
    // Most products have exactly one primary image (usually the first); some have none.
    const primary = rng.chance(0.9) ? (rng.chance(0.85) ? 0 : rng.int(0, count - 1)) : -1
    const createdAt = ctx.after(product.createdAt, rng.int(0, 3 * 24) * 3_600_000)
    for (let order = 0; order < count; order++) {
      addFile(product.id, product.sku.toLowerCase(), product.title, order, order === primary, createdAt)
    }
  }

  // Orphans: files of products deleted from the catalog since (about 2% of all files).
  const orphanCount = Math.max(1, Math.round((files.length * 0.02) / 0.98))
  for (let n = 0; n < orphanCount; n++) {
    const productId = orphanIds[n % orphanIds.length]!
    addFile(
      productId,
      `supprime-${productId.slice(0, 8)}`,
      'Produit supprimé',
      Math.floor(n / orphanIds.length),
      n < orphanIds.length,
      ctx.daysAgo(rng.int(200, 500) + rng.float()),
    )
  }
  // The demo files were attached, not imported from supplier files' image URLs: no URL is remembered.
  return { media_files: files, media_thumbnails: thumbnails, media_source_urls: [] }
}
