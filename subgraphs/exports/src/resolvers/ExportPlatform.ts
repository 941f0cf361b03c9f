import { mapConnection, type PageArgs } from '@pm/service-kit'
import type { Context } from '../context'
import { type ExportPlatform as ExportPlatformModel, toExportJob } from '../db/mappers'
import type { ExportPlatformResolvers } from '../generated/graphql'

export const ExportPlatform = {
  __resolveReference: (ref: { id: string }, ctx: Context) => ctx.loaders.platformById.load(ref.id),
  jobs: async (
    platform: ExportPlatformModel,
    { status, first, after }: PageArgs & { status?: string | null },
    ctx: Context,
  ) =>
    mapConnection(
      await ctx.loaders.jobsByPlatformId.for({ status: status ?? null, first, after }).load(platform.id),
      toExportJob,
    ),
} satisfies ExportPlatformResolvers
