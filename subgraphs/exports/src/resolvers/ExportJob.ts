import { badUserInput, mapConnection, type PageArgs } from '@pm/service-kit'
import { MAX_URL_EXPIRY_SECONDS } from '@pm/storage'
import type { Context } from '../context'
import {
  type ExportJobItem as ExportJobItemModel,
  type ExportJob as ExportJobModel,
  toExportJobItem,
} from '../db/mappers'
import type { ExportJobItemResolvers, ExportJobResolvers } from '../generated/graphql'
import { storageOf } from '../storage'

export const ExportJob = {
  __resolveReference: (ref: { id: string }, ctx: Context) => ctx.loaders.jobById.load(ref.id),
  platform: (job: ExportJobModel, _: unknown, ctx: Context) =>
    job.platformId ? ctx.loaders.platformById.load(job.platformId) : null,
  items: async (
    job: ExportJobModel,
    { status, first, after }: PageArgs & { status?: string | null },
    ctx: Context,
  ) =>
    mapConnection(
      await ctx.loaders.itemsByJobId.for({ status: status ?? null, first, after }).load(job.id),
      toExportJobItem,
    ),
  downloadUrl: async (
    job: ExportJobModel,
    { expiresInSeconds }: { expiresInSeconds?: number | null },
    ctx: Context,
  ) => {
    const seconds = expiresInSeconds ?? 3600
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_URL_EXPIRY_SECONDS) {
      throw badUserInput(`expiresInSeconds must be between 1 and ${MAX_URL_EXPIRY_SECONDS}`, {
        argument: 'expiresInSeconds',
      })
    }
    if (!job.fileKey || job.status === 'cancelled') return null
    const extension = job.fileKey.split('.').pop()
    return storageOf(ctx).url(job.fileKey, {
      expiresInSeconds: seconds,
      filename: `export-${job.id.slice(0, 8)}.${extension}`,
    })
  },
} satisfies ExportJobResolvers

export const ExportJobItem = {
  job: (item: ExportJobItemModel, _: unknown, ctx: Context) =>
    item.jobId ? ctx.loaders.jobById.load(item.jobId) : null,
  // catalog resolves the product; an orphan id comes back null from there, not from here.
  product: (item: ExportJobItemModel) => ({ id: item.productId }),
} satisfies ExportJobItemResolvers
