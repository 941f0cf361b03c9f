import type { Logger } from '@pm/service-kit'
import { Logger as GraphileLogger } from 'graphile-worker'

/** graphile-worker's messages through our JSON logger (its "warning" is our "warn"). */
export function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const fields: Record<string, unknown> = {}
    const s = scope as { workerId?: string; taskIdentifier?: string; jobId?: string }
    if (s.workerId) fields.workerId = s.workerId
    if (s.taskIdentifier) fields.task = s.taskIdentifier
    if (s.jobId) fields.jobId = s.jobId
    const error = (meta as { error?: unknown } | undefined)?.error
    if (error) fields.error = error
    const method =
      level === 'error' ? 'error' : level === 'warning' ? 'warn' : level === 'info' ? 'info' : 'debug'
    logger[method](message, fields)
  })
}
