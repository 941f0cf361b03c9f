import { mapConnection, type PageArgs } from '@pm/service-kit'
import type { Context } from '../context'
import type { Code2AsinJob as Code2AsinJobModel } from '../db/mappers'
import { toCode2AsinResult } from '../db/mappers'
import type { Code2AsinJobResolvers } from '../generated/graphql'

export const Code2AsinJob = {
  __resolveReference: (ref: { id: string }, ctx: Context) => ctx.loaders.jobById.load(ref.id),
  results: async (
    job: Code2AsinJobModel,
    { matchType, first, after }: PageArgs & { matchType?: string | null },
    ctx: Context,
  ) =>
    mapConnection(
      await ctx.loaders.resultsByJobId.for({ matchType: matchType ?? null, first, after }).load(job.id),
      toCode2AsinResult,
    ),
} satisfies Code2AsinJobResolvers
