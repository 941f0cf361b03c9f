import type { MutationResolvers } from '../generated/graphql'
import { mediaFileMutations } from '../mutations/media-files'

/** One file per resource's mutations (src/mutations), one Mutation type. */
export const Mutation = { ...mediaFileMutations } satisfies MutationResolvers
