import { badUserInput, mapConnection, orderFrom, type PageArgs, paginate } from '@pm/service-kit'
import type { Context } from '../context'
import { toMediaFile } from '../db/mappers'
import { type MediaFileFilter, mediaFilesQuery } from '../db/queries'

const MEDIA_FILE_ORDER_COLUMNS = {
  CREATED_AT: 'media_files.created_at',
  DISPLAY_ORDER: 'media_files.display_order',
}
const SHA256_HEX = /^[0-9a-f]{64}$/

export const Query = {
  mediaFile: (_: unknown, { id }: { id: string }, ctx: Context) => ctx.loaders.mediaFileById.load(id),
  mediaFileByHash: (_: unknown, { fileHash }: { fileHash: string }, ctx: Context) => {
    // Hashes are stored as lowercase hex (what sha256sum and hexdigest() print).
    const hash = fileHash.trim().toLowerCase()
    if (!SHA256_HEX.test(hash)) {
      throw badUserInput('fileHash must be a SHA-256 digest: 64 hexadecimal characters', {
        argument: 'fileHash',
      })
    }
    return ctx.loaders.mediaFileByHash.load(hash)
  },
  mediaFiles: async (
    _: unknown,
    args: PageArgs & {
      filter?: MediaFileFilter | null
      orderBy?: { field: string; direction: 'ASC' | 'DESC' } | null
    },
    ctx: Context,
  ) => {
    const order = orderFrom(MEDIA_FILE_ORDER_COLUMNS, 'media_files.id', args.orderBy, {
      field: 'CREATED_AT',
      direction: 'DESC',
    })
    return mapConnection(await paginate(mediaFilesQuery(ctx.db, args.filter ?? {}), order, args), toMediaFile)
  },
}
