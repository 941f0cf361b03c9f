import { mapConnection, orderFrom, type PageArgs, paginate } from '@pm/service-kit'
import type { Context } from '../context'
import { toAppSetting, toNotification, toPermission, toRole, toUser } from '../db/mappers'
import {
  appSettingByKey,
  appSettingsList,
  permissionsList,
  roleById,
  rolesWithPermissions,
  type UserFilter,
  usersQuery,
} from '../db/queries'
import type { QueryResolvers } from '../generated/graphql'
import { authQueries } from './auth'

const USER_ORDER_COLUMNS = { CREATED_AT: 'users.created_at', EMAIL: 'users.email' }

export const Query = {
  ...authQueries,
  user: (_: unknown, { id }: { id: string }, ctx: Context) => ctx.loaders.userById.load(id),
  // Emails are stored lower-cased (see normalizeEmail).
  userByEmail: (_: unknown, { email }: { email: string }, ctx: Context) =>
    ctx.loaders.userByEmail.load(email.trim().toLowerCase()),
  users: async (
    _: unknown,
    args: PageArgs & {
      filter?: UserFilter | null
      orderBy?: { field: string; direction: 'ASC' | 'DESC' } | null
    },
    ctx: Context,
  ) => {
    const order = orderFrom(USER_ORDER_COLUMNS, 'users.id', args.orderBy, {
      field: 'CREATED_AT',
      direction: 'DESC',
    })
    return mapConnection(await paginate(usersQuery(ctx.db, args.filter ?? {}), order, args), toUser)
  },
  notifications: async (
    _: unknown,
    { userId, unreadOnly, first, after }: PageArgs & { userId: string; unreadOnly: boolean },
    ctx: Context,
  ) => {
    const page = await ctx.loaders.notificationsByUserId.for({ unreadOnly, first, after }).load(userId)
    return mapConnection(page, toNotification)
  },
  roles: async (_: unknown, __: unknown, ctx: Context) => (await rolesWithPermissions(ctx.db)).map(toRole),
  role: async (_: unknown, { id }: { id: number }, ctx: Context) => {
    const row = await roleById(ctx.db, id)
    return row ? toRole(row) : null
  },
  permissions: async (_: unknown, { resource }: { resource?: string | null }, ctx: Context) =>
    (await permissionsList(ctx.db, resource)).map(toPermission),
  appSetting: async (_: unknown, { key }: { key: string }, ctx: Context) => {
    const row = await appSettingByKey(ctx.db, key)
    return row ? toAppSetting(row) : null
  },
  /** Internal (internal:call): the raw value, for services only; a user never reaches this field. */
  internalAppSetting: async (_: unknown, { key }: { key: string }, ctx: Context) => {
    const row = await appSettingByKey(ctx.db, key)
    return row
      ? {
          key: row.key,
          value: row.value,
          category: row.category,
          isSecret: row.is_secret,
          updatedAt: row.updated_at,
        }
      : null
  },
  appSettings: async (_: unknown, { category }: { category?: string | null }, ctx: Context) =>
    (await appSettingsList(ctx.db, category)).map(toAppSetting),
} satisfies QueryResolvers
