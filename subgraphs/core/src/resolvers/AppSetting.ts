import type { Context } from '../context'
import type { AppSetting as AppSettingModel } from '../db/mappers'
import type { AppSettingResolvers } from '../generated/graphql'

export const AppSetting = {
  updatedBy: (setting: AppSettingModel, _: unknown, ctx: Context) =>
    setting.updatedById === null ? null : ctx.loaders.userById.load(setting.updatedById),
} satisfies AppSettingResolvers
