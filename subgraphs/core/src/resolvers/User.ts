import { mapConnection } from '@pm/service-kit'
import { displayName, toNotification } from '../db/mappers'
import type { RoleResolvers, UserResolvers } from '../generated/graphql'

export const User = {
  __resolveReference: (ref, ctx) => ctx.loaders.userById.load(ref.id),
  displayName: (user) => displayName(user),
  notifications: async (user, { unreadOnly, first, after }, ctx) =>
    mapConnection(
      await ctx.loaders.notificationsByUserId.for({ unreadOnly, first, after }).load(user.id),
      toNotification,
    ),
} satisfies UserResolvers

export const Role = {
  // A deleted role carries the permissions it had; others are loaded.
  permissions: async (role, _, ctx) =>
    role.permissions ??
    (await ctx.loaders.permissionsByRoleId.load(String(role.id))).map(({ role_id: _roleId, ...p }) => p),
} satisfies RoleResolvers
