import { badUserInput, inTransaction, notFound, recordAudit, updateAudited } from '@pm/service-kit'
import { sql } from 'kysely'
import { dateRange } from '../dates'
import { toMetricRun } from '../db/mappers'
import { insertMetricRun } from '../db/writes'
import { daysBetween } from '../engine/import-metrics'
import { enqueue, TASKS } from '../engine/queue'
import type { MutationResolvers } from '../generated/graphql'

export const runMutations = {
  /** A run over the range, queued with its row in one transaction. */
  recomputeImportMetrics: (_, args, ctx) => {
    const range = dateRange(args)
    const today = new Date().toISOString().slice(0, 10)
    if (range.to > today) throw badUserInput(`to (${range.to}) is after today (${today})`, { argument: 'to' })
    return inTransaction(ctx, async (trx) => {
      const run = await insertMetricRun(trx, {
        kind: 'import_metrics',
        date_from: range.from,
        date_to: range.to,
        total: daysBetween(range.from, range.to),
      })
      await enqueue(trx, TASKS.importMetrics, { runId: run.id }, `metric-run:${run.id}`)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'metric_run',
        entityId: run.id,
        userId: ctx.caller.userId,
        changes: { kind: run.kind, from: range.from, to: range.to },
      })
      return toMetricRun(run)
    })
  },

  /** Today's supplier and catalogue figures, queued now. */
  computeSupplierMetrics: (_, __, ctx) =>
    inTransaction(ctx, async (trx) => {
      const today = new Date().toISOString().slice(0, 10)
      const run = await insertMetricRun(trx, {
        kind: 'supplier_metrics',
        date_from: today,
        date_to: today,
        total: 1,
      })
      await enqueue(trx, TASKS.supplierMetrics, { runId: run.id }, `metric-run:${run.id}`)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'metric_run',
        entityId: run.id,
        userId: ctx.caller.userId,
        changes: { kind: run.kind, date: today },
      })
      return toMetricRun(run)
    }),

  /** Marks the run for cancelling: a pending one ends at once, a running one after its current step. */
  cancelMetricRun: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row: updated } = await updateAudited(trx, {
        table: 'metric_runs',
        id,
        notFound: () => notFound('no metric run has this id', { field: 'id' }),
        values: (run) =>
          run.status !== 'pending' && run.status !== 'running'
            ? {}
            : {
                cancel_requested_at: sql<Date>`coalesce(cancel_requested_at, now())`,
                ...(run.status === 'pending' ? { status: 'cancelled', completed_at: sql<Date>`now()` } : {}),
              },
        view: toMetricRun,
        audit: { entityType: 'metric_run', action: 'cancel', userId: ctx.caller.userId },
      })
      return toMetricRun(updated)
    }),
} satisfies MutationResolvers
