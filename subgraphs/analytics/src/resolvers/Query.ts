import { badUserInput, mapConnection, paginate } from '@pm/service-kit'
import { dateRange, instantRange } from '../dates'
import {
  toAiUsageLog,
  toAiUsageSummary,
  toAuditLog,
  toCatalogMetric,
  toImportMetric,
  toMetricRun,
  toReport,
} from '../db/mappers'
import {
  aiUsageLogsQuery,
  aiUsageSummary,
  auditLogsQuery,
  importMetricsBetween,
  reportsQuery,
} from '../db/queries'
import type { QueryResolvers } from '../generated/graphql'
import { AI_USAGE_LOG_ORDER, AUDIT_LOG_ORDER, REPORT_ORDER } from '../loaders'

export const Query = {
  report: (_, { id }, ctx) => ctx.loaders.reportById.load(id),
  reports: async (_, args, ctx) =>
    mapConnection(await paginate(reportsQuery(ctx.db, args.filter ?? {}), REPORT_ORDER, args), toReport),
  auditLogs: async (_, args, ctx) => {
    const filter = args.filter ?? {}
    // Without the type, an entity id would scan every type's rows (and may name different entities).
    if (filter.entityId != null && filter.entityType == null) {
      throw badUserInput('filter.entityId needs filter.entityType: ids are only unique within a type', {
        argument: 'filter.entityType',
      })
    }
    return mapConnection(await paginate(auditLogsQuery(ctx.db, filter), AUDIT_LOG_ORDER, args), toAuditLog)
  },
  aiUsageLogs: async (_, args, ctx) => {
    const { from, to, ...filter } = args.filter ?? {}
    const query = aiUsageLogsQuery(ctx.db, { ...filter, ...instantRange({ from, to }) })
    return mapConnection(await paginate(query, AI_USAGE_LOG_ORDER, args), toAiUsageLog)
  },
  aiUsageSummary: async (_, args, ctx) =>
    (await aiUsageSummary(ctx.db, instantRange(args), args.groupBy ?? 'PROVIDER')).map(toAiUsageSummary),
  importMetrics: async (_, args, ctx) =>
    (await importMetricsBetween(ctx.db, dateRange(args))).map(toImportMetric),
  catalogMetrics: async (_, args, ctx) => {
    const range = dateRange(args)
    const rows = await ctx.db
      .selectFrom('catalog_metrics')
      .selectAll()
      .where('date', '>=', range.from)
      .where('date', '<=', range.to)
      .orderBy('date')
      .execute()
    return rows.map(toCatalogMetric)
  },
  metricRun: async (_, { id }, ctx) => {
    const row = await ctx.db.selectFrom('metric_runs').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? toMetricRun(row) : null
  },
} satisfies QueryResolvers
