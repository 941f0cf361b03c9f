import { mapConnection } from '@pm/service-kit'
import { toExportJob } from '../db/mappers'
import type { ExportPlatformResolvers } from '../generated/graphql'

export const ExportPlatform = {
  __resolveReference: (ref, ctx) => ctx.loaders.platformById.load(ref.id),
  jobs: async (platform, { status, first, after }, ctx) =>
    mapConnection(
      await ctx.loaders.jobsByPlatformId.for({ status: status ?? null, first, after }).load(platform.id),
      toExportJob,
    ),
} satisfies ExportPlatformResolvers
