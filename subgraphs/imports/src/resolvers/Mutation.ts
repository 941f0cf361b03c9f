import type { MutationResolvers } from '../generated/graphql'
import { configMutations } from '../mutations/configs'
import { importMutations } from '../mutations/imports'
import { jobMutations } from '../mutations/jobs'
import { scheduleMutations } from '../mutations/schedules'
import { templateMutations } from '../mutations/templates'

/** One file per group of mutations (src/mutations), one Mutation type. */
export const Mutation = {
  ...configMutations,
  ...templateMutations,
  ...scheduleMutations,
  ...jobMutations,
  ...importMutations,
} satisfies MutationResolvers
