import type { DB } from '@pm/db/types/analytics'
import { inTransaction, recordAudit } from '@pm/service-kit'
import type { Transaction } from 'kysely'
import type { Context } from '../context'
import { toImportMetric, toProductMetric, toSupplierMetric } from '../db/mappers'
import { chunks, upsertImportMetrics, upsertProductMetrics, upsertSupplierMetrics } from '../db/writes'
import type { MutationResolvers } from '../generated/graphql'
import { checkImportMetric, checkProductMetric, checkRows, checkSupplierMetric } from '../validation'

interface MetricsCall<I, V extends { date: string }, R extends { inserted: boolean }, M> {
  entityType: string
  check: (row: I, at: string) => V
  /** The row's entity id (null for import metrics: one row per day). */
  entityOf: (value: V) => string | null
  keyField: string
  upsert: (trx: Transaction<DB>, values: V[]) => Promise<R[]>
  map: (row: R) => M & { date: string }
}

/**
 * Validates every row (bad ones reported with their index), upserts the good ones in one transaction
 * (one statement per chunk) and writes one summarising audit entry. Sending the same rows again leaves
 * the same state: each (entity, date) row holds the figures of the latest call.
 */
async function recordMetrics<I, V extends { date: string }, R extends { inserted: boolean }, M>(
  ctx: Context,
  rows: readonly I[],
  call: MetricsCall<I, V, R, M>,
) {
  const { good, errors } = checkRows(rows, call.check, (v) => `${call.entityOf(v)}|${v.date}`, call.keyField)
  if (good.length === 0) return { metrics: [], inserted: 0, updated: 0, errors }
  const values = good.map((g) => g.value)
  const written = await inTransaction(ctx, async (trx) => {
    const out: R[] = []
    for (const chunk of chunks(values)) out.push(...(await call.upsert(trx, chunk)))
    const inserted = out.filter((r) => r.inserted).length
    const dates = values.map((v) => v.date).sort()
    const entityIds = [...new Set(values.map(call.entityOf).filter((id) => id !== null))]
    await recordAudit(trx, {
      action: 'upsert',
      entityType: call.entityType,
      entityId: null,
      userId: ctx.caller.userId,
      changes: {
        rows: out.length,
        inserted,
        updated: out.length - inserted,
        from: dates[0],
        to: dates.at(-1),
        ...(entityIds.length ? { entityIds } : {}),
      },
    })
    return out
  })
  const inserted = written.filter((r) => r.inserted).length
  const metrics = written.map(call.map)
  return { metrics, inserted, updated: written.length - inserted, errors }
}

export const metricMutations = {
  recordProductMetrics: (_, { rows }, ctx) =>
    recordMetrics(ctx, rows, {
      entityType: 'product_metrics',
      check: checkProductMetric,
      entityOf: (v) => v.product_id,
      keyField: 'date',
      upsert: upsertProductMetrics,
      map: toProductMetric,
    }),
  recordSupplierMetrics: (_, { rows }, ctx) =>
    recordMetrics(ctx, rows, {
      entityType: 'supplier_metrics',
      check: checkSupplierMetric,
      entityOf: (v) => v.supplier_id,
      keyField: 'date',
      upsert: upsertSupplierMetrics,
      map: toSupplierMetric,
    }),
  recordImportMetrics: (_, { rows }, ctx) =>
    recordMetrics(ctx, rows, {
      entityType: 'import_metrics',
      check: checkImportMetric,
      entityOf: () => null,
      keyField: 'date',
      upsert: upsertImportMetrics,
      map: toImportMetric,
    }),
} satisfies MutationResolvers
