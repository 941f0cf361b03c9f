import { badUserInput, mapConnection, type PageArgs } from '@pm/service-kit'
import type { Context } from '../context'
import { type ImportJob as ImportJobModel, toImportError, toImportLog } from '../db/mappers'
import { LOG_LEVELS } from '../db/queries'
import type { ImportJobResolvers } from '../generated/graphql'

/** The CHECK values of import_logs.log_level; any case is accepted, the column holds lowercase. */
function logLevel(level: string | null | undefined): string | null {
  if (level == null) return null
  const normalized = level.trim().toLowerCase()
  if (!(LOG_LEVELS as readonly string[]).includes(normalized)) {
    throw badUserInput(`level must be one of ${LOG_LEVELS.join(', ')} (got "${level}")`, {
      argument: 'level',
    })
  }
  return normalized
}

export const ImportJob = {
  __resolveReference: (ref: { id: string }, ctx: Context) => ctx.loaders.jobById.load(ref.id),
  config: (job: ImportJobModel, _: unknown, ctx: Context) =>
    job.configId ? ctx.loaders.configById.load(job.configId) : null,
  supplier: (job: ImportJobModel) => ({ code: job.supplierCode }),
  createdBy: (job: ImportJobModel) => (job.createdById ? { id: job.createdById } : null),
  logs: async (
    job: ImportJobModel,
    { level, first, after }: PageArgs & { level?: string | null },
    ctx: Context,
  ) => {
    const page = await ctx.loaders.logsByJobId.for({ level: logLevel(level), first, after }).load(job.id)
    return mapConnection(page, toImportLog)
  },
  errors: async (job: ImportJobModel, { first, after }: PageArgs, ctx: Context) =>
    mapConnection(await ctx.loaders.errorsByJobId.for({ first, after }).load(job.id), toImportError),
  files: (job: ImportJobModel, _: unknown, ctx: Context) => ctx.loaders.filesByJobId.load(job.id),
  statistics: (job: ImportJobModel, _: unknown, ctx: Context) => ctx.loaders.statisticsByJobId.load(job.id),
} satisfies ImportJobResolvers
