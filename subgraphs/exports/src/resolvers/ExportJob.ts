import { badUserInput, mapConnection } from '@pm/service-kit'
import { MAX_URL_EXPIRY_SECONDS } from '@pm/storage'
import { toExportJobItem } from '../db/mappers'
import type { ExportJobItemResolvers, ExportJobResolvers } from '../generated/graphql'
import { storageOf } from '../storage'

export const ExportJob = {
  __resolveReference: (ref, ctx) => ctx.loaders.jobById.load(ref.id),
  platform: (job, _, ctx) => (job.platformId ? ctx.loaders.platformById.load(job.platformId) : null),
  items: async (job, { status, first, after }, ctx) =>
    mapConnection(
      await ctx.loaders.itemsByJobId.for({ status: status ?? null, first, after }).load(job.id),
      toExportJobItem,
    ),
  downloadUrl: async (job, { expiresInSeconds }, ctx) => {
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
  job: (item, _, ctx) => (item.jobId ? ctx.loaders.jobById.load(item.jobId) : null),
  // catalog resolves the product; an orphan id comes back null from there, not from here.
  product: (item) => ({ id: item.productId }),
} satisfies ExportJobItemResolvers
