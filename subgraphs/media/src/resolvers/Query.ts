import { badUserInput, checkInt, mapConnection, orderFrom, paginate } from '@pm/service-kit'
import { toMediaFile } from '../db/mappers'
import { mediaFilesQuery } from '../db/queries'
import type { QueryResolvers } from '../generated/graphql'

const MEDIA_FILE_ORDER_COLUMNS = {
  CREATED_AT: 'media_files.created_at',
  DISPLAY_ORDER: 'media_files.display_order',
}
const SHA256_HEX = /^[0-9a-f]{64}$/

export const Query = {
  /** One index scan of idx_media_files_product_id per page. */
  productIdsWithMedia: async (_, args, ctx) => {
    const first = checkInt('first', args.first ?? 10_000, { min: 1, max: 20_000 })!
    let query = ctx.db
      .selectFrom('media_files')
      .select('product_id')
      .distinct()
      .where('product_id', 'is not', null)
      .orderBy('product_id')
      .limit(first)
    if (args.after) query = query.where('product_id', '>', args.after)
    return (await query.execute()).map((r) => r.product_id!)
  },
  mediaFile: (_, { id }, ctx) => ctx.loaders.mediaFileById.load(id),
  mediaFileByHash: (_, { fileHash }, ctx) => {
    // Hashes are stored as lowercase hex (what sha256sum and hexdigest() print).
    const hash = fileHash.trim().toLowerCase()
    if (!SHA256_HEX.test(hash)) {
      throw badUserInput('fileHash must be a SHA-256 digest: 64 hexadecimal characters', {
        argument: 'fileHash',
      })
    }
    return ctx.loaders.mediaFileByHash.load(hash)
  },
  mediaFiles: async (_, args, ctx) => {
    const order = orderFrom(MEDIA_FILE_ORDER_COLUMNS, 'media_files.id', args.orderBy, {
      field: 'CREATED_AT',
      direction: 'DESC',
    })
    return mapConnection(await paginate(mediaFilesQuery(ctx.db, args.filter ?? {}), order, args), toMediaFile)
  },
} satisfies QueryResolvers
