import type { Code2AsinResultResolvers } from '../generated/graphql'

export const Code2AsinResult = {
  // code2asin_results.job_id references its job (ON DELETE CASCADE): a result's job exists.
  job: async (result, _, ctx) => (await ctx.loaders.jobById.load(result.jobId))!,
  product: (result) => ({ id: result.productId }),
} satisfies Code2AsinResultResolvers
