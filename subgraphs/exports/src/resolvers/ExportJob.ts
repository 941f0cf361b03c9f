import { mapConnection, type PageArgs } from '@pm/service-kit'
import type { Context } from '../context'
import {
  type ExportJobItem as ExportJobItemModel,
  type ExportJob as ExportJobModel,
  toExportJobItem,
} from '../db/mappers'

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
}

export const ExportJobItem = {
  job: (item: ExportJobItemModel, _: unknown, ctx: Context) =>
    item.jobId ? ctx.loaders.jobById.load(item.jobId) : null,
  // catalog resolves the product; an orphan id comes back null from there, not from here.
  product: (item: ExportJobItemModel) => ({ id: item.productId }),
}
