import type { DB } from '@pm/db/types/media'
import type { Selectable } from 'kysely'

export type MediaFileRow = Selectable<DB['media_files']>
type MediaThumbnailRow = Selectable<DB['media_thumbnails']>

export type MediaFile = ReturnType<typeof toMediaFile>
export type MediaThumbnail = ReturnType<typeof toMediaThumbnail>

export function toMediaFile(row: MediaFileRow) {
  return {
    id: row.id,
    productId: row.product_id,
    fileName: row.file_name,
    fileHash: row.file_hash,
    mimeType: row.mime_type,
    // BIGINT arrives as a string; file sizes stay far below 2^53.
    fileSizeBytes: row.file_size_bytes === null ? null : Number(row.file_size_bytes),
    storageType: row.storage_type,
    bucketName: row.bucket_name,
    objectKey: row.object_key,
    storageUrl: row.storage_url,
    width: row.width,
    height: row.height,
    format: row.format,
    imageType: row.image_type,
    displayOrder: row.display_order,
    isPrimary: row.is_primary,
    altText: row.alt_text,
    processingStatus: row.processing_status,
    isValid: row.is_valid,
    createdAt: row.created_at,
    processingError: row.processing_error,
    processedAt: row.processed_at,
    sourceUrl: row.source_url,
    /** Storage key of the served full-size image (not a GraphQL field: url is minted from it). */
    servedObjectKey: row.served_object_key,
  }
}

export function toMediaThumbnail(row: MediaThumbnailRow) {
  return {
    id: row.id,
    mediaFileId: row.media_file_id,
    sizeName: row.size_name,
    width: row.width,
    height: row.height,
    objectKey: row.object_key,
    storageUrl: row.storage_url,
    createdAt: row.created_at,
    format: row.format,
    fileSizeBytes: row.file_size_bytes === null ? null : Number(row.file_size_bytes),
  }
}
