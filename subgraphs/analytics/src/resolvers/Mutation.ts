import type { Context } from '../context'
import { insertAuditEntries } from '../db/audit'
import type { MutationResolvers } from '../generated/graphql'
import { auditMutations } from './mutations/audit'
import { internalMutations } from './mutations/internal'
import { metricMutations } from './mutations/metrics'
import { reportMutations } from './mutations/reports'
import { runMutations } from './mutations/runs'

interface AuditEntryInput {
  eventId: string
  userId?: string | null
  action: string
  entityType: string
  entityId?: string | null
  changes?: Record<string, unknown> | null
  occurredAt: Date
}

export const Mutation = {
  ...metricMutations,
  ...reportMutations,
  ...auditMutations,
  ...internalMutations,
  ...runMutations,
  recordAuditEntries: (_: unknown, { entries }: { entries: AuditEntryInput[] }, ctx: Context) =>
    insertAuditEntries(
      ctx.db,
      entries.map((e) => ({
        id: e.eventId,
        userId: e.userId ?? null,
        action: e.action,
        entityType: e.entityType,
        entityId: e.entityId ?? null,
        changes: e.changes ?? {},
        createdAt: e.occurredAt,
      })),
    ),
} satisfies MutationResolvers
