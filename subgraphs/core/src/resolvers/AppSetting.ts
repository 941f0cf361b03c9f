import type { AppSettingResolvers } from '../generated/graphql'

export const AppSetting = {
  updatedBy: (setting, _, ctx) =>
    setting.updatedById === null ? null : ctx.loaders.userById.load(setting.updatedById),
} satisfies AppSettingResolvers
