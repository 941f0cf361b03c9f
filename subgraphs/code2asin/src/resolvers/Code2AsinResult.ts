import type { Context } from '../context'
import type { Code2AsinResult as Code2AsinResultModel } from '../db/mappers'

export const Code2AsinResult = {
  job: (result: Code2AsinResultModel, _: unknown, ctx: Context) => ctx.loaders.jobById.load(result.jobId),
  product: (result: Code2AsinResultModel) => ({ id: result.productId }),
}
