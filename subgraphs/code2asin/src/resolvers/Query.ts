import { mapConnection, type PageArgs, paginate } from '@pm/service-kit'
import type { Context } from '../context'
import { toCode2AsinJob, toCode2AsinResult } from '../db/mappers'
import { jobsQuery, resultsByAsinQuery } from '../db/queries'
import type { QueryResolvers } from '../generated/graphql'
import { JOB_ORDER, RESULT_ORDER } from '../loaders'

export const Query = {
  code2asinJob: (_: unknown, { id }: { id: string }, ctx: Context) => ctx.loaders.jobById.load(id),
  code2asinJobs: async (
    _: unknown,
    args: PageArgs & { status?: string | null; supplierCode?: string | null },
    ctx: Context,
  ) => mapConnection(await paginate(jobsQuery(ctx.db, args), JOB_ORDER, args), toCode2AsinJob),
  code2asinResultsByAsin: async (_: unknown, args: PageArgs & { asin: string }, ctx: Context) =>
    mapConnection(
      await paginate(resultsByAsinQuery(ctx.db, args.asin.trim()), RESULT_ORDER, args),
      toCode2AsinResult,
    ),
} satisfies QueryResolvers
