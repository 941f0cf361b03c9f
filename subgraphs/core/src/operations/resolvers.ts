import { DOMAINS, type Domain } from '@pm/db'
import {
  badUserInput,
  CROSS_DATABASE_REFERENCES,
  mapConnection,
  notFound,
  type Order,
  paginate,
} from '@pm/service-kit'
import { sql } from 'kysely'
import type { Context } from '../context'
import { cancelOperationRun } from '../db/writes'
import type { MutationResolvers, QueryResolvers } from '../generated/graphql'
import { type OperationRunRow, queueRun, toOperationRun } from './runs'

const domainOf = (value: string | null | undefined): Domain | null => {
  if (!value) return null
  const d = value.toLowerCase() as Domain
  if (!DOMAINS.includes(d)) throw badUserInput(`domain: unknown database ${value}`, { field: 'domain' })
  return d
}

const upper = (value: string) => value.toUpperCase()

/** Flagged references, newest first (idx_flagged_references_flagged). */
const FLAGGED_ORDER: Order = {
  key: 'FLAGGED_AT',
  column: 'flagged_references.flagged_at',
  direction: 'desc',
  id: 'flagged_references.id',
}

async function runById(ctx: Context, id: string) {
  return (await ctx.db.selectFrom('operation_runs').selectAll().where('id', '=', id).executeTakeFirst()) as
    | OperationRunRow
    | undefined
}

export const operationQueries = {
  databaseHealth: async (_, args, ctx) => {
    const only = domainOf(args.domain)
    const domains = only ? [only] : DOMAINS
    const { rows } = await sql<{ domain: string; report: Record<string, unknown> }>`
      SELECT DISTINCT ON (d.domain) d.domain, r.result -> 'domains' -> d.domain AS report
        FROM unnest(${[...domains]}::text[]) AS d(domain)
        JOIN operation_runs r ON r.kind = 'report' AND r.result -> 'domains' ? d.domain
       ORDER BY d.domain, r.created_at DESC
    `.execute(ctx.db)
    return rows
      .sort((a, b) => DOMAINS.indexOf(a.domain as Domain) - DOMAINS.indexOf(b.domain as Domain))
      .map((r) => ({ ...r.report, domain: upper(r.domain) }))
  },
  integrityReport: async (_, __, ctx) => {
    const row = (await ctx.db
      .selectFrom('operation_runs')
      .selectAll()
      .where('kind', '=', 'integrity_check')
      .where('status', '=', 'completed')
      .orderBy('finished_at', 'desc')
      .limit(1)
      .executeTakeFirst()) as OperationRunRow | undefined
    if (!row) return null
    const result = row.result as {
      startedAt?: string
      finishedAt?: string
      checked?: number
      orphans?: number
      references?: { policy: string }[]
    }
    return {
      runId: row.id,
      startedAt: result.startedAt ?? row.started_at,
      finishedAt: result.finishedAt ?? row.finished_at,
      checked: result.checked ?? 0,
      orphans: result.orphans ?? 0,
      // Runs recorded before flags existed count none.
      references: (result.references ?? []).map((r) => ({
        flagged: 0,
        cleared: 0,
        ...r,
        policy: upper(r.policy),
      })),
    }
  },
  flaggedReferences: async (_, args, ctx) => {
    const reference = args.reference?.trim() || null
    if (
      reference &&
      !CROSS_DATABASE_REFERENCES.some((r) => r.name === reference && r.policy === 'keep_and_flag')
    )
      throw badUserInput(
        `reference: not a KEEP_AND_FLAG reference (those are ${CROSS_DATABASE_REFERENCES.filter(
          (r) => r.policy === 'keep_and_flag',
        )
          .map((r) => r.name)
          .join(', ')})`,
        { field: 'reference' },
      )
    let query = ctx.db.selectFrom('flagged_references').selectAll()
    if (reference) query = query.where('reference', '=', reference)
    return mapConnection(await paginate(query, FLAGGED_ORDER, args), (row) => ({
      id: row.id,
      reference: row.reference,
      key: row.row_key,
      value: row.missing_value,
      flaggedAt: row.flagged_at,
      lastSeenAt: row.last_seen_at,
    }))
  },
  operationRun: async (_, { id }, ctx) => {
    const row = await runById(ctx, id)
    return row ? toOperationRun(row) : null
  },
} satisfies QueryResolvers

export const operationMutations = {
  runDatabaseMaintenance: async (_, args, ctx) => {
    const domain = domainOf(args.domain)
    const table = args.table?.trim() || null
    if (table && !domain) throw badUserInput('table: give the domain of the table too', { field: 'table' })
    if (table && !/^[a-z_][a-z0-9_]*$/.test(table))
      throw badUserInput('table: not a table name (lower-case letters, digits, underscores)', {
        field: 'table',
      })
    const row = await queueRun(ctx.db, {
      kind: args.action.toLowerCase() as 'vacuum' | 'analyze' | 'reindex',
      domain,
      table,
      source: 'api',
      requestedBy: ctx.caller.userId ?? null,
    })
    return toOperationRun(row)
  },
  refreshDatabaseHealth: async (_, args, ctx) =>
    toOperationRun(
      await queueRun(ctx.db, {
        kind: 'report',
        domain: domainOf(args.domain),
        source: 'api',
        requestedBy: ctx.caller.userId ?? null,
      }),
    ),
  runIntegrityCheck: async (_, __, ctx) =>
    toOperationRun(
      await queueRun(ctx.db, {
        kind: 'integrity_check',
        source: 'api',
        requestedBy: ctx.caller.userId ?? null,
      }),
    ),
  cancelOperationRun: async (_, { id }, ctx) => {
    const row = await cancelOperationRun(ctx.db, id)
    if (row) return toOperationRun(row)
    const existing = await runById(ctx, id)
    if (!existing) throw notFound('id: no operation run has this id', { field: 'id' })
    return toOperationRun(existing)
  },
} satisfies MutationResolvers
