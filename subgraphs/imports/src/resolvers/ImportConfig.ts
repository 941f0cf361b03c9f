import { mapConnection } from '@pm/service-kit'
import { toImportJob } from '../db/mappers'
import type { ImportConfigResolvers, ImportScheduleResolvers } from '../generated/graphql'

export const ImportConfig = {
  __resolveReference: (ref, ctx) => ctx.loaders.configById.load(ref.id),
  supplier: (config) => ({ code: config.supplierCode }),
  schedules: (config, _, ctx) => ctx.loaders.schedulesByConfigId.load(config.id),
  jobs: async (config, { status, first, after }, ctx) =>
    mapConnection(
      await ctx.loaders.jobsByConfigId.for({ status: status ?? null, first, after }).load(config.id),
      toImportJob,
    ),
} satisfies ImportConfigResolvers

export const ImportSchedule = {
  config: (schedule, _, ctx) => (schedule.configId ? ctx.loaders.configById.load(schedule.configId) : null),
} satisfies ImportScheduleResolvers
