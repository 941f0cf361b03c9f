import { mapConnection } from '@pm/service-kit'
import { toCode2AsinResult } from '../db/mappers'
import type { Code2AsinJobResolvers } from '../generated/graphql'

export const Code2AsinJob = {
  __resolveReference: (ref, ctx) => ctx.loaders.jobById.load(ref.id),
  results: async (job, { matchType, first, after }, ctx) =>
    mapConnection(
      await ctx.loaders.resultsByJobId.for({ matchType: matchType ?? null, first, after }).load(job.id),
      toCode2AsinResult,
    ),
} satisfies Code2AsinJobResolvers
