import { mapConnection, type Order, orderFrom, paginate } from '@pm/service-kit'
import { toImportConfig, toImportJob, toImportSchedule, toMappingTemplate } from '../db/mappers'
import { configsQuery, jobsQuery, mappingTemplatesQuery, schedulesQuery } from '../db/queries'
import type { QueryResolvers } from '../generated/graphql'
import { jobEnd, jobsEndedOn } from '../run/analytics'

const JOB_ORDER_COLUMNS = { CREATED_AT: 'import_jobs.created_at' }

const CONFIG_ORDER: Order = {
  key: 'CREATED_AT:DESC',
  column: 'import_configs.created_at',
  id: 'import_configs.id',
  direction: 'desc',
}

const SCHEDULE_ORDER: Order = {
  key: 'NEXT_RUN:ASC',
  column: 'import_schedules.next_run',
  id: 'import_schedules.id',
  direction: 'asc',
}

const TEMPLATE_ORDER: Order = {
  key: 'CREATED_AT:DESC',
  column: 'mapping_templates.created_at',
  id: 'mapping_templates.id',
  direction: 'desc',
}

export const Query = {
  importJobEnds: async (_, { date }, ctx) => (await jobsEndedOn(ctx.db, date)).map(jobEnd),
  importJob: (_, { id }, ctx) => ctx.loaders.jobById.load(id),
  importConfig: (_, { id }, ctx) => ctx.loaders.configById.load(id),
  importJobs: async (_, args, ctx) => {
    const order = orderFrom(JOB_ORDER_COLUMNS, 'import_jobs.id', args.orderBy, {
      field: 'CREATED_AT',
      direction: 'DESC',
    })
    return mapConnection(await paginate(jobsQuery(ctx.db, args.filter ?? {}), order, args), toImportJob)
  },
  importConfigs: async (_, args, ctx) =>
    mapConnection(
      await paginate(configsQuery(ctx.db, args.filter ?? {}), CONFIG_ORDER, args),
      toImportConfig,
    ),
  importSchedules: async (_, args, ctx) =>
    mapConnection(
      await paginate(schedulesQuery(ctx.db, args.filter ?? {}), SCHEDULE_ORDER, args),
      toImportSchedule,
    ),
  mappingTemplates: async (_, args, ctx) =>
    mapConnection(
      await paginate(mappingTemplatesQuery(ctx.db, args.supplierCode), TEMPLATE_ORDER, args),
      toMappingTemplate,
    ),
} satisfies QueryResolvers
