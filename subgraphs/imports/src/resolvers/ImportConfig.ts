import { mapConnection, type PageArgs } from '@pm/service-kit'
import type { Context } from '../context'
import {
  type ImportConfig as ImportConfigModel,
  type ImportSchedule as ImportScheduleModel,
  toImportJob,
} from '../db/mappers'
import type { ImportConfigResolvers, ImportScheduleResolvers } from '../generated/graphql'

export const ImportConfig = {
  __resolveReference: (ref: { id: string }, ctx: Context) => ctx.loaders.configById.load(ref.id),
  supplier: (config: ImportConfigModel) => ({ code: config.supplierCode }),
  schedules: (config: ImportConfigModel, _: unknown, ctx: Context) =>
    ctx.loaders.schedulesByConfigId.load(config.id),
  jobs: async (
    config: ImportConfigModel,
    { status, first, after }: PageArgs & { status?: string | null },
    ctx: Context,
  ) =>
    mapConnection(
      await ctx.loaders.jobsByConfigId.for({ status: status ?? null, first, after }).load(config.id),
      toImportJob,
    ),
} satisfies ImportConfigResolvers

export const ImportSchedule = {
  config: (schedule: ImportScheduleModel, _: unknown, ctx: Context) =>
    schedule.configId ? ctx.loaders.configById.load(schedule.configId) : null,
} satisfies ImportScheduleResolvers
