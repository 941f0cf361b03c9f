import { mapConnection, type PageArgs } from '@pm/service-kit'
import type { Context } from '../context'
import { displayName, type Role as RoleModel, toNotification, type User as UserModel } from '../db/mappers'
import type { RoleResolvers, UserResolvers } from '../generated/graphql'

export const User = {
  __resolveReference: (ref: { id: string }, ctx: Context) => ctx.loaders.userById.load(ref.id),
  displayName: (user: UserModel) => displayName(user),
  notifications: async (
    user: UserModel,
    { unreadOnly, first, after }: PageArgs & { unreadOnly: boolean },
    ctx: Context,
  ) =>
    mapConnection(
      await ctx.loaders.notificationsByUserId.for({ unreadOnly, first, after }).load(user.id),
      toNotification,
    ),
} satisfies UserResolvers

export const Role = {
  // A deleted role carries the permissions it had; others are loaded.
  permissions: async (role: RoleModel, _: unknown, ctx: Context) =>
    role.permissions ??
    (await ctx.loaders.permissionsByRoleId.load(String(role.id))).map(({ role_id: _roleId, ...p }) => p),
} satisfies RoleResolvers
