import { thenNow } from '@pm/service-kit'
import type { Context } from '../context'
import { mediaEnv } from '../engine/store'
import type { MediaFileResolvers, MediaThumbnailResolvers } from '../generated/graphql'

/** A download URL for a stored object, valid MEDIA_URL_TTL_SECONDS (local: signed /files/ URL; S3: presigned). */
function downloadUrl(ctx: Context, key: string) {
  const { storage, settings } = mediaEnv(ctx.env)
  return storage.url(key, { expiresInSeconds: settings.urlTtlSeconds })
}

export const MediaFile = {
  __resolveReference: (ref, ctx) => ctx.loaders.mediaFileById.load(ref.id),
  product: (file) => (file.productId === null ? null : { id: file.productId }),
  // loadNow: thumbnails read in their file's statement come back without a promise (see SettledLoader).
  thumbnails: (file, _, ctx) => ctx.loaders.thumbnailsByMediaFileId.loadNow(file.id),
  thumbnail: (file, { size, format }, ctx) =>
    thenNow(ctx.loaders.thumbnailsByMediaFileId.loadNow(file.id), (thumbnails) => {
      const wanted = format === 'WEBP' ? 'webp' : file.format
      const sized = thumbnails.filter((t) => t.sizeName === size)
      // Thumbnails recorded without a format (made elsewhere) answer for the original format.
      return (
        sized.find((t) => t.format === wanted) ??
        (format === 'WEBP' ? null : (sized.find((t) => t.format === null) ?? null))
      )
    }),
  url: (file, _, ctx) =>
    file.processingStatus === 'completed' && file.servedObjectKey
      ? downloadUrl(ctx, file.servedObjectKey)
      : null,
} satisfies MediaFileResolvers

export const MediaThumbnail = {
  url: (thumbnail, _, ctx) => (thumbnail.format === null ? null : downloadUrl(ctx, thumbnail.objectKey)),
} satisfies MediaThumbnailResolvers
