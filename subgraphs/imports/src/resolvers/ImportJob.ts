import { badUserInput, mapConnection } from '@pm/service-kit'
import { toImportError, toImportLog } from '../db/mappers'
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
  __resolveReference: (ref, ctx) => ctx.loaders.jobById.load(ref.id),
  config: (job, _, ctx) => (job.configId ? ctx.loaders.configById.load(job.configId) : null),
  supplier: (job) => ({ code: job.supplierCode }),
  createdBy: (job) => (job.createdById ? { id: job.createdById } : null),
  logs: async (job, { level, first, after }, ctx) => {
    const page = await ctx.loaders.logsByJobId.for({ level: logLevel(level), first, after }).load(job.id)
    return mapConnection(page, toImportLog)
  },
  errors: async (job, { first, after }, ctx) =>
    mapConnection(await ctx.loaders.errorsByJobId.for({ first, after }).load(job.id), toImportError),
  files: (job, _, ctx) => ctx.loaders.filesByJobId.load(job.id),
  statistics: (job, _, ctx) => ctx.loaders.statisticsByJobId.load(job.id),
} satisfies ImportJobResolvers
