import { createStorage, loadStorageConfig, type Storage } from '@pm/storage'
import type { AiUsageLogResolvers, AuditLogResolvers, ReportResolvers } from '../generated/graphql'

/** A reference to a core user, or null when the column is empty. */
const userRef = (id: string | null) => (id === null ? null : { id })

export const Report = {
  __resolveReference: (ref, ctx) => ctx.loaders.reportById.load(ref.id),
  createdBy: (report) => userRef(report.createdById),
  downloadUrl: (report, _, ctx) => {
    if (report.status !== 'completed' || !report.objectKey?.startsWith('reports/')) return null
    const extension = report.objectKey.slice(report.objectKey.lastIndexOf('.'))
    const base =
      report.name
        .replace(/[^\p{L}\p{N} ._-]+/gu, '_')
        .trim()
        .slice(0, 100) || 'report'
    return storageOf(ctx.env).url(report.objectKey, {
      expiresInSeconds: 3600,
      filename: `${base}${extension}`,
    })
  },
} satisfies ReportResolvers

/** One storage client per environment (the process's, or a test stack's). */
const storages = new WeakMap<object, Storage>()
function storageOf(env: NodeJS.ProcessEnv): Storage {
  let storage = storages.get(env)
  if (!storage) {
    storage = createStorage(loadStorageConfig(env))
    storages.set(env, storage)
  }
  return storage
}

export const AuditLog = {
  user: (log) => userRef(log.userId),
} satisfies AuditLogResolvers

export const AiUsageLog = {
  user: (log) => userRef(log.userId),
} satisfies AiUsageLogResolvers
