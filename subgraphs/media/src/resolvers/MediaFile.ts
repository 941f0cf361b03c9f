import type { Context } from '../context'
import type { MediaFile as MediaFileModel } from '../db/mappers'

export const MediaFile = {
  __resolveReference: (ref: { id: string }, ctx: Context) => ctx.loaders.mediaFileById.load(ref.id),
  product: (file: MediaFileModel) => (file.productId === null ? null : { id: file.productId }),
  thumbnails: (file: MediaFileModel, _: unknown, ctx: Context) =>
    ctx.loaders.thumbnailsByMediaFileId.load(file.id),
  thumbnail: async (file: MediaFileModel, { size }: { size: string }, ctx: Context) =>
    (await ctx.loaders.thumbnailsByMediaFileId.load(file.id)).find((t) => t.sizeName === size) ?? null,
}
