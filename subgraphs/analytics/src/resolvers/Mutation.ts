import type { MutationResolvers } from '../generated/graphql'
import { auditMutations } from '../mutations/audit'
import { internalMutations } from '../mutations/internal'
import { metricMutations } from '../mutations/metrics'
import { reportMutations } from '../mutations/reports'
import { runMutations } from '../mutations/runs'

/** One file per resource's mutations (src/mutations), one Mutation type. */
export const Mutation = {
  ...metricMutations,
  ...reportMutations,
  ...auditMutations,
  ...internalMutations,
  ...runMutations,
} satisfies MutationResolvers
