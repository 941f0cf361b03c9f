import { mapConnection, paginate } from '@pm/service-kit'
import { toExportJob, toExportPlatform } from '../db/mappers'
import { jobsQuery, platforms } from '../db/queries'
import type { QueryResolvers } from '../generated/graphql'
import { JOB_ORDER } from '../loaders'

export const Query = {
  exportPlatform: (_, { id }, ctx) => ctx.loaders.platformById.load(id),
  exportPlatforms: async (_, { isActive }, ctx) => (await platforms(ctx.db, isActive)).map(toExportPlatform),
  exportJob: (_, { id }, ctx) => ctx.loaders.jobById.load(id),
  exportJobs: async (_, args, ctx) =>
    mapConnection(await paginate(jobsQuery(ctx.db, args.filter ?? {}), JOB_ORDER, args), toExportJob),
} satisfies QueryResolvers
