import type { MutationResolvers } from '../generated/graphql'
import { apiKeyMutations } from '../mutations/api-keys'
import { authMutations } from '../mutations/auth'
import { notificationMutations } from '../mutations/notifications'
import { roleMutations } from '../mutations/roles'
import { settingMutations } from '../mutations/settings'
import { userMutations } from '../mutations/users'

/** One file per resource's mutations (src/mutations), one Mutation type. */
export const Mutation = {
  ...authMutations,
  ...apiKeyMutations,
  ...userMutations,
  ...roleMutations,
  ...settingMutations,
  ...notificationMutations,
} satisfies MutationResolvers
