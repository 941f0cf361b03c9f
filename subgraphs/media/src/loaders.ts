import { groupedLoader, uniqueLoader } from '@pm/service-kit'
import { thumbnailCodec } from './db/codecs'
import { type MediaFile, type MediaFileRow, toMediaFile, toMediaThumbnail } from './db/mappers'
import {
  type MediaDb,
  mediaFilesByHashes,
  mediaFilesByIds,
  mediaFilesByProductIds,
  mediaFilesWithThumbnailsByProductIds,
  primaryMediaFilesByProductIds,
  primaryMediaFilesWithThumbnailsByProductIds,
  thumbnailsByMediaFileIds,
} from './db/queries'

/** Per-request loaders: each batch is one SQL statement. */
export function createLoaders(db: MediaDb) {
  const thumbnailsByMediaFileId = groupedLoader(
    async (ids) => (await thumbnailsByMediaFileIds(db, ids)).map(toMediaThumbnail),
    (t) => t.mediaFileId ?? '',
  )
  /** A file read with its thumbnails (`__thumbnails`): they are primed into thumbnailsByMediaFileId. */
  const withThumbnails = ({ __thumbnails, ...file }: MediaFileRow & { __thumbnails: unknown }) => {
    thumbnailsByMediaFileId.prime(file.id, thumbnailCodec.reviveAll(__thumbnails).map(toMediaThumbnail))
    return toMediaFile(file)
  }
  return {
    mediaFileById: uniqueLoader(
      async (ids) => (await mediaFilesByIds(db, ids)).map(toMediaFile),
      (f) => f.id,
    ),
    mediaFileByHash: uniqueLoader(
      async (hashes) => (await mediaFilesByHashes(db, hashes)).map(toMediaFile),
      (f) => f.fileHash ?? '',
    ),
    mediaByProductId: groupedLoader(
      async (ids) => (await mediaFilesByProductIds(db, ids)).map(toMediaFile),
      (f: MediaFile) => f.productId ?? '',
    ),
    /** The same lists, their thumbnails fetched in the same statement and primed into thumbnailsByMediaFileId. */
    mediaWithThumbnailsByProductId: groupedLoader(
      async (ids) => (await mediaFilesWithThumbnailsByProductIds(db, ids)).map(withThumbnails),
      (f: MediaFile) => f.productId ?? '',
    ),
    /** Each product's primary image alone (Product.primaryImage when the operation does not ask for media). */
    primaryImageByProductId: uniqueLoader(
      async (ids) => (await primaryMediaFilesByProductIds(db, ids)).map(toMediaFile),
      (f: MediaFile) => f.productId ?? '',
    ),
    primaryImageWithThumbnailsByProductId: uniqueLoader(
      async (ids) => (await primaryMediaFilesWithThumbnailsByProductIds(db, ids)).map(withThumbnails),
      (f: MediaFile) => f.productId ?? '',
    ),
    thumbnailsByMediaFileId,
  }
}

export type MediaLoaders = ReturnType<typeof createLoaders>
