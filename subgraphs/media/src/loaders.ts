import { groupedLoader, uniqueLoader } from '@pm/service-kit'
import { type MediaFile, toMediaFile, toMediaThumbnail } from './db/mappers'
import {
  type MediaDb,
  mediaFilesByHashes,
  mediaFilesByIds,
  mediaFilesByProductIds,
  thumbnailsByMediaFileIds,
} from './db/queries'

/** Per-request loaders: each batch is one SQL statement. */
export function createLoaders(db: MediaDb) {
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
    thumbnailsByMediaFileId: groupedLoader(
      async (ids) => (await thumbnailsByMediaFileIds(db, ids)).map(toMediaThumbnail),
      (t) => t.mediaFileId ?? '',
    ),
  }
}

export type MediaLoaders = ReturnType<typeof createLoaders>
