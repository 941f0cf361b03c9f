import { mapConnection, paginate } from '@pm/service-kit'
import { toCode2AsinJob, toCode2AsinResult } from '../db/mappers'
import { jobsQuery, resultsByAsinQuery } from '../db/queries'
import type { QueryResolvers } from '../generated/graphql'
import { JOB_ORDER, RESULT_ORDER } from '../loaders'

export const Query = {
  code2asinJob: (_, { id }, ctx) => ctx.loaders.jobById.load(id),
  code2asinJobs: async (_, args, ctx) =>
    mapConnection(await paginate(jobsQuery(ctx.db, args), JOB_ORDER, args), toCode2AsinJob),
  code2asinResultsByAsin: async (_, args, ctx) =>
    mapConnection(
      await paginate(resultsByAsinQuery(ctx.db, args.asin.trim()), RESULT_ORDER, args),
      toCode2AsinResult,
    ),
} satisfies QueryResolvers
