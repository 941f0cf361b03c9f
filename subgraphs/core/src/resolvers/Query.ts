import { mapConnection, orderFrom, paginate } from '@pm/service-kit'
import { toAppSetting, toNotification, toPermission, toRole, toUser } from '../db/mappers'
import {
  appSettingByKey,
  appSettingsList,
  permissionsList,
  roleById,
  rolesWithPermissions,
  usersQuery,
} from '../db/queries'
import type { QueryResolvers } from '../generated/graphql'
import { authQueries } from './auth'

const USER_ORDER_COLUMNS = { CREATED_AT: 'users.created_at', EMAIL: 'users.email' }

export const Query = {
  ...authQueries,
  user: (_, { id }, ctx) => ctx.loaders.userById.load(id),
  // Emails are stored lower-cased (see normalizeEmail).
  userByEmail: (_, { email }, ctx) => ctx.loaders.userByEmail.load(email.trim().toLowerCase()),
  users: async (_, args, ctx) => {
    const order = orderFrom(USER_ORDER_COLUMNS, 'users.id', args.orderBy, {
      field: 'CREATED_AT',
      direction: 'DESC',
    })
    return mapConnection(await paginate(usersQuery(ctx.db, args.filter ?? {}), order, args), toUser)
  },
  notifications: async (_, { userId, unreadOnly, first, after }, ctx) => {
    const page = await ctx.loaders.notificationsByUserId.for({ unreadOnly, first, after }).load(userId)
    return mapConnection(page, toNotification)
  },
  roles: async (_, __, ctx) => (await rolesWithPermissions(ctx.db)).map(toRole),
  role: async (_, { id }, ctx) => {
    const row = await roleById(ctx.db, id)
    return row ? toRole(row) : null
  },
  permissions: async (_, { resource }, ctx) => (await permissionsList(ctx.db, resource)).map(toPermission),
  appSetting: async (_, { key }, ctx) => {
    const row = await appSettingByKey(ctx.db, key)
    return row ? toAppSetting(row) : null
  },
  /** Internal (internal:call): the raw value, for services only; a user never reaches this field. */
  internalAppSetting: async (_, { key }, ctx) => {
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
  appSettings: async (_, { category }, ctx) => (await appSettingsList(ctx.db, category)).map(toAppSetting),
} satisfies QueryResolvers
