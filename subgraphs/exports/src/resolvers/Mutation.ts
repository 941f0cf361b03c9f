import type { MutationResolvers } from '../generated/graphql'
import { exportMutations } from '../mutations/exports'
import { exportJobMutations } from '../mutations/jobs'
import { platformMutations } from '../mutations/platforms'

/** One file per group of mutations (src/mutations), one Mutation type. */
export const Mutation = {
  ...platformMutations,
  ...exportJobMutations,
  ...exportMutations,
} satisfies MutationResolvers
