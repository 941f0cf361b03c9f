import type { MutationResolvers } from '../generated/graphql'
import { code2AsinJobMutations } from '../mutations/jobs'
import { code2AsinResultMutations } from '../mutations/results'

/** One file per resource's mutations (src/mutations), one Mutation type. */
export const Mutation = { ...code2AsinJobMutations, ...code2AsinResultMutations } satisfies MutationResolvers
