import type { DB } from '@pm/db/types/media'
import {
  badUserInput,
  inTransaction,
  notFound,
  recordAudit,
  requireSomeField,
  unknownProductIds,
  updateAudited,
} from '@pm/service-kit'
import type { Selectable } from 'kysely'
import { declareCatalogUnchanged, declareMedia, tellCatalogAndDeclare } from '../changes'
import type { Context } from '../context'
import { toMediaFile } from '../db/mappers'
import {
  contentInUse,
  deleteFile,
  fileById,
  fileForUpdate,
  insertFile,
  lockContent,
  lockProductMedia,
  type MediaTrx,
  makeOnlyPrimary,
  markPending,
  productFilesForUpdate,
  productFileWithContent,
  productIdOfFile,
  productMediaSummary,
  setDisplayOrders,
  setPrimary,
  thumbnailsOfFile,
} from '../db/writes'
import { contentColumns, dropUnreferencedContent, storageBucket, storeOriginal } from '../engine/content'
import { importImageUrls } from '../engine/ingest'
import { enqueueFetch, enqueueProcessing } from '../engine/queue'
import { imageSourceError, type ReceivedImage, receiveImage } from '../engine/source'
import { deleteStoredContent, MEDIA_PREFIX, mediaEnv } from '../engine/store'
import type { MutationResolvers } from '../generated/graphql'
import { checkAttachProductImage, checkMediaFileIdList, checkUpdateMediaFile } from '../validation'

type ThumbnailRow = Selectable<DB['media_thumbnails']>

const ENTITY = 'media_file'

const thumbnailSummary = (t: ThumbnailRow) => ({
  sizeName: t.size_name,
  format: t.format,
  width: t.width,
  height: t.height,
  objectKey: t.object_key,
})

/** A file as its audit entries show it: the API's fields, without the served key (a signed, passing value). */
const auditView = (row: Selectable<DB['media_files']>) => ({
  ...toMediaFile(row),
  servedObjectKey: undefined,
})

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

/** A file the worker can work on: stored content to process, or an image URL still to download. */
const reprocessable = (f: {
  file_hash: string | null
  object_key: string | null
  source_url: string | null
}) =>
  (f.file_hash !== null && f.object_key?.startsWith(MEDIA_PREFIX) === true) ||
  (f.file_hash === null && f.source_url !== null)

/**
 * Puts the statuses of these files back to pending and queues their work, in the caller's transaction:
 * processing of stored content, or the download of an image URL not fetched yet (a failed URL is tried again).
 */
async function requeue(trx: MediaTrx, ids: string[]) {
  if (ids.length === 0) return []
  const rows = await markPending(trx, ids)
  await enqueueProcessing(
    trx,
    rows.filter((r) => r.file_hash !== null).map((r) => r.id),
  )
  await enqueueFetch(
    trx,
    rows.filter((r) => r.file_hash === null).map((r) => r.id),
  )
  return rows
}

export const mediaFileMutations = {
  importProductImageUrls: (_, { products }, ctx) => importImageUrls(ctx, products),

  attachProductImage: async (_, { input }, ctx) => {
    const values = checkAttachProductImage(input)
    const { productId } = values
    const env = mediaEnv(ctx.env)
    let image: ReceivedImage
    try {
      image = await receiveImage(env, values.source, ctx.caller)
    } catch (error) {
      throw imageSourceError(error, values.sourceField) ?? error
    }
    const { sha256 } = image
    const same = await productFileWithContent(ctx.db, productId, sha256)
    // A retry (the same bytes for the same product) is answered without catalog or a transaction.
    if (same) {
      declareMedia(ctx, {})
      declareCatalogUnchanged(ctx)
      return { mediaFile: toMediaFile(same), deduplicated: true, reusedStoredFile: true }
    }
    if ((await unknownProductIds(ctx.peers, [productId])).length > 0) {
      throw notFound(`input.productId: the catalog has no product ${productId}`, { field: 'input.productId' })
    }
    let stored = false
    try {
      const attached = await inTransaction(ctx, async (trx) => {
        await lockProductMedia(trx, productId)
        await lockContent(trx, sha256)
        const again = await productFileWithContent(trx, productId, sha256)
        declareMedia(ctx, {})
        if (again)
          return {
            mediaFile: toMediaFile(again),
            deduplicated: true,
            reusedStoredFile: true,
            firstImage: false,
          }
        // Under the content lock no deletion of the last file with these bytes can run: what is there stays.
        const content = await storeOriginal(trx, env.storage, image)
        stored = content.stored
        const { reusedStoredFile } = content
        const siblings = await productMediaSummary(trx, productId)
        const displayOrder = values.displayOrder ?? (siblings.lastOrder === null ? 0 : siblings.lastOrder + 1)
        // The product's first image becomes its primary image unless the caller says otherwise.
        const isPrimary = values.isPrimary ?? siblings.hasPrimary !== true
        const row = await insertFile(trx, {
          product_id: productId,
          file_name: values.fileName ?? image.fileName,
          ...contentColumns(env.storage, storageBucket(ctx.env), image),
          source_url: values.source.kind === 'url' ? values.source.url : null,
          image_type: values.imageType ?? (Number(siblings.count) === 0 ? 'main' : 'gallery'),
          display_order: displayOrder,
          is_primary: isPrimary,
          alt_text: values.altText,
          processing_status: 'pending',
          is_valid: true,
        })
        const unsetPrimary = isPrimary
          ? (await makeOnlyPrimary(trx, productId, row.id)).filter((r) => r.id !== row.id).map((r) => r.id)
          : []
        await enqueueProcessing(trx, [row.id])
        declareMedia(ctx, { products: [productId], files: [row.id, ...unsetPrimary] })
        const mediaFile = toMediaFile(row)
        await recordAudit(trx, {
          action: 'create',
          entityType: ENTITY,
          entityId: row.id,
          userId: ctx.caller.userId,
          changes: {
            after: auditView(row),
            reusedStoredFile,
            ...(unsetPrimary.length ? { primaryUnsetOn: unsetPrimary } : {}),
          },
        })
        return { mediaFile, deduplicated: false, reusedStoredFile, firstImage: Number(siblings.count) === 0 }
      })
      // Catalog's completeness counts whether the product has an image: told once its first file is
      // committed (as importProductImageUrls does). A product that already had one was told then; the
      // product lock orders this against a deletion of its other files, whose own telling reads this one.
      if (attached.firstImage) await tellCatalogAndDeclare(ctx, [productId])
      else declareCatalogUnchanged(ctx)
      const { firstImage: _, ...answer } = attached
      return answer
    } catch (error) {
      if (stored) await dropUnreferencedContent(ctx.db, env.storage, sha256).catch(() => {})
      throw error
    }
  },

  reprocessMedia: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const before = await lockedFile(trx, id, 'id')
      if (!reprocessable(before)) {
        throw badUserInput('id: this file has no stored original to process; attach the image again', {
          field: 'id',
        })
      }
      const [row] = await requeue(trx, [id])
      declareMedia(ctx, { products: [before.product_id], files: [id] })
      declareCatalogUnchanged(ctx)
      await recordAudit(trx, {
        action: 'reprocess',
        entityType: ENTITY,
        entityId: id,
        userId: ctx.caller.userId,
        changes: {
          before: { processingStatus: before.processing_status },
          after: { processingStatus: 'pending' },
        },
      })
      return toMediaFile(row!)
    }),

  reprocessProductMedia: (_, { productId }, ctx) => {
    return inTransaction(ctx, async (trx) => {
      await lockProductMedia(trx, productId)
      const files = await productFilesForUpdate(trx, productId)
      const ids = files.filter(reprocessable).map((f) => f.id)
      await requeue(trx, ids)
      declareMedia(ctx, { products: [productId], files: ids })
      declareCatalogUnchanged(ctx)
      if (ids.length > 0) {
        await recordAudit(trx, {
          action: 'reprocess',
          entityType: 'product_media',
          entityId: productId,
          userId: ctx.caller.userId,
          changes: { mediaFileIds: ids },
        })
      }
      return (await productFilesForUpdate(trx, productId)).map(toMediaFile)
    })
  },

  updateMediaFile: (_, { id, input }, ctx) => {
    requireSomeField('input', input as Record<string, unknown>)
    const set = checkUpdateMediaFile(input)
    return inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'media_files',
        id,
        notFound: () => notFound('id: no media file has this id', { field: 'id' }),
        values: () => set,
        view: auditView,
        audit: { entityType: ENTITY, userId: ctx.caller.userId },
      })
      declareMedia(ctx, { products: [row.product_id], files: [id] })
      declareCatalogUnchanged(ctx)
      return toMediaFile(row)
    })
  },

  deleteMediaFile: async (_, { id }, ctx) => {
    const { product_id: productId } = await existingFile(ctx, id, 'id')
    const { storage } = mediaEnv(ctx.env)
    const deleted = await inTransaction(ctx, async (trx) => {
      if (productId !== null) await lockProductMedia(trx, productId)
      const before = await lockedFile(trx, id, 'id')
      const thumbnails = await thumbnailsOfFile(trx, id)
      await deleteFile(trx, id) // thumbnails go with it (ON DELETE CASCADE)
      // The stored bytes go with the last file holding them (stored content is only ever under media/).
      let deletedStoredContent = false
      if (before.file_hash && before.object_key?.startsWith(MEDIA_PREFIX)) {
        await lockContent(trx, before.file_hash)
        if (!(await contentInUse(trx, before.file_hash))) {
          await deleteStoredContent(storage, before.file_hash)
          deletedStoredContent = true
        }
      }
      let promoted: Selectable<DB['media_files']> | undefined
      if (productId !== null && before.is_primary === true) {
        const rest = await productFilesForUpdate(trx, productId)
        // The next file by display order takes the primary role, unless another one already holds it.
        if (rest.length > 0 && !rest.some((f) => f.is_primary === true)) {
          promoted = await setPrimary(trx, rest[0]!.id)
        }
      }
      await recordAudit(trx, {
        action: 'delete',
        entityType: ENTITY,
        entityId: id,
        userId: ctx.caller.userId,
        changes: {
          before: {
            ...auditView(before),
            thumbnails: thumbnails.map(thumbnailSummary),
          },
          deletedStoredContent,
          ...(promoted ? { primaryPassedTo: promoted.id } : {}),
        },
      })
      declareMedia(ctx, { products: [productId], files: [id, promoted?.id] })
      return {
        deletedMediaFileId: before.id,
        product: productId === null ? null : { id: productId },
        promotedPrimary: promoted ? toMediaFile(promoted) : null,
      }
    })
    if (productId !== null) await tellCatalogAndDeclare(ctx, [productId])
    else declareCatalogUnchanged(ctx)
    return deleted
  },

  setPrimaryMediaFile: async (_, { mediaFileId }, ctx) => {
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
      declareMedia(ctx, { products: [productId], files: [mediaFileId, ...changed.map((r) => r.id)] })
      declareCatalogUnchanged(ctx)
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

  reorderProductMedia: (_, { productId, mediaFileIds }, ctx) => {
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
      declareMedia(ctx, { products: [productId], files: ids })
      declareCatalogUnchanged(ctx)
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
} satisfies MutationResolvers
