import { badUserInput, mapConnection, type PageArgs, paginate } from '@pm/service-kit'
import type { Context } from '../context'
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
  type AuditLogFilter,
  aiUsageLogsQuery,
  aiUsageSummary,
  auditLogsQuery,
  importMetricsBetween,
  type ReportFilter,
  reportsQuery,
} from '../db/queries'
import type { QueryResolvers } from '../generated/graphql'
import { AI_USAGE_LOG_ORDER, AUDIT_LOG_ORDER, REPORT_ORDER } from '../loaders'

interface AiUsageLogFilterInput {
  userId?: string | null
  provider?: string | null
  model?: string | null
  from?: Date | null
  to?: Date | null
}

export const Query = {
  report: (_: unknown, { id }: { id: string }, ctx: Context) => ctx.loaders.reportById.load(id),
  reports: async (_: unknown, args: PageArgs & { filter?: ReportFilter | null }, ctx: Context) =>
    mapConnection(await paginate(reportsQuery(ctx.db, args.filter ?? {}), REPORT_ORDER, args), toReport),
  auditLogs: async (_: unknown, args: PageArgs & { filter?: AuditLogFilter | null }, ctx: Context) => {
    const filter = args.filter ?? {}
    // Without the type, an entity id would scan every type's rows (and may name different entities).
    if (filter.entityId != null && filter.entityType == null) {
      throw badUserInput('filter.entityId needs filter.entityType: ids are only unique within a type', {
        argument: 'filter.entityType',
      })
    }
    return mapConnection(await paginate(auditLogsQuery(ctx.db, filter), AUDIT_LOG_ORDER, args), toAuditLog)
  },
  aiUsageLogs: async (
    _: unknown,
    args: PageArgs & { filter?: AiUsageLogFilterInput | null },
    ctx: Context,
  ) => {
    const { from, to, ...filter } = args.filter ?? {}
    const query = aiUsageLogsQuery(ctx.db, { ...filter, ...instantRange({ from, to }) })
    return mapConnection(await paginate(query, AI_USAGE_LOG_ORDER, args), toAiUsageLog)
  },
  aiUsageSummary: async (
    _: unknown,
    args: { from?: Date | null; to?: Date | null; groupBy?: 'PROVIDER' | 'MODEL' | null },
    ctx: Context,
  ) => (await aiUsageSummary(ctx.db, instantRange(args), args.groupBy ?? 'PROVIDER')).map(toAiUsageSummary),
  importMetrics: async (_: unknown, args: { from: string; to: string }, ctx: Context) =>
    (await importMetricsBetween(ctx.db, dateRange(args))).map(toImportMetric),
  catalogMetrics: async (_: unknown, args: { from?: string | null; to?: string | null }, ctx: Context) => {
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
  metricRun: async (_: unknown, { id }: { id: string }, ctx: Context) => {
    const row = await ctx.db.selectFrom('metric_runs').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? toMetricRun(row) : null
  },
} satisfies QueryResolvers
