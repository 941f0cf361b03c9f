import type { Context } from '../context'
import type {
  AiUsageLog as AiUsageLogModel,
  AuditLog as AuditLogModel,
  Report as ReportModel,
} from '../db/mappers'

/** A reference to a core user, or null when the column is empty. */
const userRef = (id: string | null) => (id === null ? null : { id })

export const Report = {
  __resolveReference: (ref: { id: string }, ctx: Context) => ctx.loaders.reportById.load(ref.id),
  createdBy: (report: ReportModel) => userRef(report.createdById),
}

export const AuditLog = {
  user: (log: AuditLogModel) => userRef(log.userId),
}

export const AiUsageLog = {
  user: (log: AiUsageLogModel) => userRef(log.userId),
}
