import type { DB } from '@pm/db/types/media'
import { badUserInput, inTransaction, notFound, recordAudit, requireSomeField } from '@pm/service-kit'
import type { Selectable } from 'kysely'
import { catalogHasProduct, tellCatalogImages } from '../catalog'
import type { Context } from '../context'
import { toMediaFile, toMediaThumbnail } from '../db/mappers'
import {
  deleteFile,
  deleteThumbnails,
  fileById,
  fileForUpdate,
  insertFileUnlessHashExists,
  insertThumbnails,
  lockProductMedia,
  type MediaTrx,
  makeOnlyPrimary,
  productFilesForUpdate,
  productIdOfFile,
  setDisplayOrders,
  thumbnailsOfFile,
} from '../db/writes'
import {
  checkMediaFileIdList,
  checkRegisterMediaFile,
  checkThumbnail,
  checkThumbnailSet,
  checkUpdateMediaFile,
  type MediaThumbnailInput,
  type RegisterMediaFileInput,
  type ThumbnailValues,
  type UpdateMediaFileInput,
} from '../validation'

type ThumbnailRow = Selectable<DB['media_thumbnails']>

const ENTITY = 'media_file'

const sameThumbnail = (row: ThumbnailRow, t: ThumbnailValues) =>
  row.width === t.width &&
  row.height === t.height &&
  row.object_key === t.object_key &&
  row.storage_url === t.storage_url

const thumbnailSummary = (t: ThumbnailRow | ThumbnailValues) => ({
  sizeName: t.size_name,
  width: t.width,
  height: t.height,
  objectKey: t.object_key,
  storageUrl: t.storage_url,
})

/** GraphQL names of the columns updateMediaFile may change (audit entries speak the API's language). */
const UPDATABLE = {
  alt_text: 'altText',
  image_type: 'imageType',
  processing_status: 'processingStatus',
  is_valid: 'isValid',
} as const

/** A file's product, or NOT_FOUND naming the argument. */
async function existingFile(ctx: Context, id: string, field: string) {
  const file = await productIdOfFile(ctx.db, id)
  if (!file) throw notFound(`${field}: no media file has this id`, { field })
  return file
}

async function lockedFile(trx: MediaTrx, id: string, field: string) {
  const file = await fileForUpdate(trx, id)
  if (!file) throw notFound(`${field}: no media file has this id`, { field })
  return file
}

/**
 * Writes the thumbnails that differ from those stored: the stored ones of `replaced` size names (or all) go,
 * the new ones come; identical ones are kept with their id. Returns what changed, for the audit entry.
 */
async function replaceThumbnails(
  trx: MediaTrx,
  mediaFileId: string,
  wanted: ThumbnailValues[],
  scope: 'given sizes' | 'all sizes',
) {
  const stored = await thumbnailsOfFile(trx, mediaFileId)
  const unchanged = new Set(
    wanted
      .filter((t) => {
        const rows = stored.filter((s) => s.size_name === t.size_name)
        return rows.length === 1 && sameThumbnail(rows[0]!, t)
      })
      .map((t) => t.size_name),
  )
  const replacedSizes = [
    ...new Set(
      stored
        .map((s) => s.size_name)
        .filter((size) =>
          scope === 'all sizes'
            ? !unchanged.has(size)
            : wanted.some((t) => t.size_name === size && !unchanged.has(size)),
        ),
    ),
  ]
  const removed = await deleteThumbnails(trx, mediaFileId, replacedSizes)
  const inserted = await insertThumbnails(
    trx,
    mediaFileId,
    wanted.filter((t) => !unchanged.has(t.size_name)),
  )
  return { removed, inserted, stored }
}

export const Mutation = {
  registerMediaFile: async (_: unknown, { input }: { input: RegisterMediaFileInput }, ctx: Context) => {
    const values = checkRegisterMediaFile(input)
    // A retry (or a second upload of the same content) needs neither catalog nor a transaction.
    const existing = await ctx.loaders.mediaFileByHash.load(values.file_hash)
    if (existing) return { mediaFile: existing, deduplicated: true }
    const productId = values.product_id
    if (productId !== null && !(await catalogHasProduct(ctx, productId))) {
      throw notFound(`input.productId: the catalog has no product ${productId}`, { field: 'input.productId' })
    }
    const result = await inTransaction(ctx, async (trx) => {
      let displayOrder = values.display_order
      let isPrimary = values.is_primary ?? false
      if (productId !== null) {
        await lockProductMedia(trx, productId)
        const siblings = await trx
          .selectFrom('media_files')
          .select((eb) => [
            eb.fn.max('display_order').as('lastOrder'),
            eb.fn<boolean | null>('bool_or', ['is_primary']).as('hasPrimary'),
          ])
          .where('product_id', '=', productId)
          .executeTakeFirstOrThrow()
        displayOrder ??= siblings.lastOrder === null ? 0 : siblings.lastOrder + 1
        // The product's first file becomes its primary image unless the caller says otherwise.
        isPrimary = values.is_primary ?? siblings.hasPrimary !== true
      }
      const row = await insertFileUnlessHashExists(trx, {
        ...values,
        display_order: displayOrder ?? 0,
        is_primary: isPrimary,
      })
      if (!row) {
        // A concurrent registration of the same content committed first: its file is the answer.
        const winner = await trx
          .selectFrom('media_files')
          .selectAll()
          .where('file_hash', '=', values.file_hash)
          .executeTakeFirstOrThrow()
        return { mediaFile: toMediaFile(winner), deduplicated: true }
      }
      const unsetPrimary =
        productId !== null && isPrimary
          ? (await makeOnlyPrimary(trx, productId, row.id)).filter((r) => r.id !== row.id).map((r) => r.id)
          : []
      const mediaFile = toMediaFile(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: ENTITY,
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: mediaFile, ...(unsetPrimary.length ? { primaryUnsetOn: unsetPrimary } : {}) },
      })
      return { mediaFile, deduplicated: false }
    })
    if (productId !== null && !result.deduplicated) await tellCatalogImages(ctx, productId)
    return result
  },

  updateMediaFile: (_: unknown, { id, input }: { id: string; input: UpdateMediaFileInput }, ctx: Context) => {
    requireSomeField('input', input as Record<string, unknown>)
    const set = checkUpdateMediaFile(input)
    return inTransaction(ctx, async (trx) => {
      const before = await lockedFile(trx, id, 'id')
      const columns = (Object.keys(set) as (keyof typeof set)[]).filter((c) => set[c] !== before[c])
      if (columns.length === 0) return toMediaFile(before)
      const row = await trx
        .updateTable('media_files')
        .set(Object.fromEntries(columns.map((c) => [c, set[c]])))
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
      await recordAudit(trx, {
        action: 'update',
        entityType: ENTITY,
        entityId: id,
        userId: ctx.caller.userId,
        changes: {
          before: Object.fromEntries(columns.map((c) => [UPDATABLE[c], before[c]])),
          after: Object.fromEntries(columns.map((c) => [UPDATABLE[c], row[c]])),
        },
      })
      return toMediaFile(row)
    })
  },

  deleteMediaFile: async (_: unknown, { id }: { id: string }, ctx: Context) => {
    const { product_id: productId } = await existingFile(ctx, id, 'id')
    const result = await inTransaction(ctx, async (trx) => {
      if (productId !== null) await lockProductMedia(trx, productId)
      const before = await lockedFile(trx, id, 'id')
      const thumbnails = await thumbnailsOfFile(trx, id)
      await deleteFile(trx, id) // thumbnails go with it (ON DELETE CASCADE)
      let promoted: Selectable<DB['media_files']> | undefined
      if (productId !== null && before.is_primary === true) {
        const rest = await productFilesForUpdate(trx, productId)
        // The next file by display order takes the primary role, unless another one already holds it.
        if (rest.length > 0 && !rest.some((f) => f.is_primary === true)) {
          promoted = await trx
            .updateTable('media_files')
            .set({ is_primary: true })
            .where('id', '=', rest[0]!.id)
            .returningAll()
            .executeTakeFirstOrThrow()
        }
      }
      await recordAudit(trx, {
        action: 'delete',
        entityType: ENTITY,
        entityId: id,
        userId: ctx.caller.userId,
        changes: {
          before: { ...toMediaFile(before), thumbnails: thumbnails.map(thumbnailSummary) },
          ...(promoted ? { primaryPassedTo: promoted.id } : {}),
        },
      })
      return {
        deletedMediaFileId: before.id,
        product: productId === null ? null : { id: productId },
        promotedPrimary: promoted ? toMediaFile(promoted) : null,
      }
    })
    if (productId !== null) await tellCatalogImages(ctx, productId)
    return result
  },

  setPrimaryMediaFile: async (_: unknown, { mediaFileId }: { mediaFileId: string }, ctx: Context) => {
    const { product_id: productId } = await existingFile(ctx, mediaFileId, 'mediaFileId')
    if (productId === null) {
      throw badUserInput('mediaFileId: this file belongs to no product, so it cannot be a primary image', {
        field: 'mediaFileId',
      })
    }
    return inTransaction(ctx, async (trx) => {
      await lockProductMedia(trx, productId)
      const files = await productFilesForUpdate(trx, productId)
      if (!files.some((f) => f.id === mediaFileId)) {
        throw notFound('mediaFileId: no media file has this id', { field: 'mediaFileId' })
      }
      const changed = await makeOnlyPrimary(trx, productId, mediaFileId)
      if (changed.length > 0) {
        await recordAudit(trx, {
          action: 'set_primary',
          entityType: ENTITY,
          entityId: mediaFileId,
          userId: ctx.caller.userId,
          changes: {
            productId,
            before: { primaryIds: files.filter((f) => f.is_primary === true).map((f) => f.id) },
            after: { primaryIds: [mediaFileId] },
          },
        })
      }
      return toMediaFile((await fileById(trx, mediaFileId))!)
    })
  },

  reorderProductMedia: (
    _: unknown,
    { productId: rawProductId, mediaFileIds }: { productId: string; mediaFileIds: string[] },
    ctx: Context,
  ) => {
    const productId = rawProductId.toLowerCase()
    const ids = checkMediaFileIdList('mediaFileIds', mediaFileIds)
    return inTransaction(ctx, async (trx) => {
      await lockProductMedia(trx, productId)
      const files = await productFilesForUpdate(trx, productId)
      const own = new Set(files.map((f) => f.id))
      ids.forEach((id, i) => {
        if (!own.has(id)) {
          throw badUserInput(`mediaFileIds[${i}]: ${id} is not a media file of product ${productId}`, {
            field: `mediaFileIds[${i}]`,
          })
        }
      })
      const missing = files.filter((f) => !ids.includes(f.id)).map((f) => f.id)
      if (missing.length > 0) {
        throw badUserInput(
          `mediaFileIds must list every media file of the product; missing: ${missing.join(', ')}`,
          { field: 'mediaFileIds' },
        )
      }
      const changed = await setDisplayOrders(trx, productId, ids)
      if (changed.rows.length === 0) return files.map(toMediaFile)
      await recordAudit(trx, {
        action: 'reorder',
        entityType: 'product_media',
        entityId: productId,
        userId: ctx.caller.userId,
        changes: { before: files.map((f) => f.id), after: ids },
      })
      return (await productFilesForUpdate(trx, productId)).map(toMediaFile)
    })
  },

  addMediaThumbnail: (
    _: unknown,
    { mediaFileId, input }: { mediaFileId: string; input: MediaThumbnailInput },
    ctx: Context,
  ) => {
    const thumbnail = checkThumbnail('input', input)
    return inTransaction(ctx, async (trx) => {
      // The file row's lock serialises the thumbnail writers of one file: one thumbnail per size name.
      await lockedFile(trx, mediaFileId, 'mediaFileId')
      const { removed, inserted, stored } = await replaceThumbnails(
        trx,
        mediaFileId,
        [thumbnail],
        'given sizes',
      )
      if (inserted.length === 0) {
        return toMediaThumbnail(stored.find((s) => s.size_name === thumbnail.size_name)!)
      }
      await recordAudit(trx, {
        action: 'update',
        entityType: ENTITY,
        entityId: mediaFileId,
        userId: ctx.caller.userId,
        changes: {
          thumbnails: true,
          before: removed.map(thumbnailSummary),
          after: inserted.map(thumbnailSummary),
        },
      })
      return toMediaThumbnail(inserted[0]!)
    })
  },

  setMediaThumbnails: (
    _: unknown,
    { mediaFileId, sizes }: { mediaFileId: string; sizes: MediaThumbnailInput[] },
    ctx: Context,
  ) => {
    const wanted = checkThumbnailSet('sizes', sizes)
    return inTransaction(ctx, async (trx) => {
      const file = await lockedFile(trx, mediaFileId, 'mediaFileId')
      const { removed, inserted } = await replaceThumbnails(trx, mediaFileId, wanted, 'all sizes')
      if (removed.length > 0 || inserted.length > 0) {
        await recordAudit(trx, {
          action: 'update',
          entityType: ENTITY,
          entityId: mediaFileId,
          userId: ctx.caller.userId,
          changes: {
            thumbnails: true,
            before: removed.map(thumbnailSummary),
            after: inserted.map(thumbnailSummary),
          },
        })
      }
      return toMediaFile(file)
    })
  },
}
