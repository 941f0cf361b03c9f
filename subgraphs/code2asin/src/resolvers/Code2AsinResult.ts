import type { Context } from '../context'
import type { Code2AsinResult as Code2AsinResultModel } from '../db/mappers'
import type { Code2AsinResultResolvers } from '../generated/graphql'

export const Code2AsinResult = {
  // code2asin_results.job_id references its job (ON DELETE CASCADE): a result's job exists.
  job: async (result: Code2AsinResultModel, _: unknown, ctx: Context) =>
    (await ctx.loaders.jobById.load(result.jobId))!,
  product: (result: Code2AsinResultModel) => ({ id: result.productId }),
} satisfies Code2AsinResultResolvers
