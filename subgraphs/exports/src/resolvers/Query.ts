import { mapConnection, type PageArgs, paginate } from '@pm/service-kit'
import type { Context } from '../context'
import { toExportJob, toExportPlatform } from '../db/mappers'
import { type ExportJobFilter, jobsQuery, platforms } from '../db/queries'
import type { QueryResolvers } from '../generated/graphql'
import { JOB_ORDER } from '../loaders'

export const Query = {
  exportPlatform: (_: unknown, { id }: { id: string }, ctx: Context) => ctx.loaders.platformById.load(id),
  exportPlatforms: async (_: unknown, { isActive }: { isActive?: boolean | null }, ctx: Context) =>
    (await platforms(ctx.db, isActive)).map(toExportPlatform),
  exportJob: (_: unknown, { id }: { id: string }, ctx: Context) => ctx.loaders.jobById.load(id),
  exportJobs: async (_: unknown, args: PageArgs & { filter?: ExportJobFilter | null }, ctx: Context) =>
    mapConnection(await paginate(jobsQuery(ctx.db, args.filter ?? {}), JOB_ORDER, args), toExportJob),
} satisfies QueryResolvers
