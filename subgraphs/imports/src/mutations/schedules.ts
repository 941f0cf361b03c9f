import {
  badUserInput,
  checkString,
  inTransaction,
  notFound,
  recordAudit,
  requireSomeField,
  updateAudited,
} from '@pm/service-kit'
import { type CronSchedule, nextRun } from '../cron'
import { toImportSchedule } from '../db/mappers'
import { configForShare, insertSchedule } from '../db/writes'
import type { MutationResolvers } from '../generated/graphql'
import { checkCron } from '../validation'
import { notNull } from './common'

function cron(value: string): CronSchedule {
  return checkCron('input.cronExpression', checkString('input.cronExpression', value, { max: 100 }))
}

/** The next run from now (UTC) for an active schedule; an inactive one has none. */
const nextRunFor = (schedule: CronSchedule, active: boolean) =>
  active ? nextRun(schedule, new Date()) : null

function activeConfig(config: { is_active: boolean | null } | undefined, field: string) {
  if (!config) throw notFound(`${field}: no import configuration has this id`, { field })
  if (config.is_active === false) {
    throw badUserInput(`${field}: the configuration is inactive; reactivate it before scheduling it`, {
      field,
    })
  }
}

const scheduleNotFound = () => notFound('id: no import schedule has this id', { field: 'id' })

export const scheduleMutations = {
  createImportSchedule: (_, { input }, ctx) => {
    const schedule = cron(input.cronExpression)
    const active = notNull('input.isActive', input.isActive) ?? true
    return inTransaction(ctx, async (trx) => {
      const config = await configForShare(trx, input.configId)
      if (!config)
        throw notFound('input.configId: no import configuration has this id', { field: 'input.configId' })
      if (active) activeConfig(config, 'input.configId')
      const row = await insertSchedule(trx, {
        config_id: input.configId,
        cron_expression: schedule.expression,
        is_active: active,
        next_run: nextRunFor(schedule, active),
      })
      const created = toImportSchedule(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'import_schedule',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: created },
      })
      return created
    })
  },

  updateImportSchedule: (_, { id, input }, ctx) => {
    requireSomeField('input', input as Record<string, unknown>)
    const expression = notNull('input.cronExpression', input.cronExpression)
    const parsed = expression !== undefined ? cron(expression) : undefined
    const isActive = notNull('input.isActive', input.isActive)
    return inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'import_schedules',
        id,
        notFound: scheduleNotFound,
        values: async (before) => {
          const active = isActive ?? before.is_active !== false
          if (active && before.is_active === false && before.config_id) {
            activeConfig(await configForShare(trx, before.config_id), 'id')
          }
          const schedule = parsed ?? cron(before.cron_expression)
          return {
            cron_expression: schedule.expression,
            is_active: active,
            next_run: nextRunFor(schedule, active),
          }
        },
        view: toImportSchedule,
        audit: { entityType: 'import_schedule', userId: ctx.caller.userId },
      })
      const after = toImportSchedule(row)
      return after
    })
  },

  deactivateImportSchedule: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'import_schedules',
        id,
        notFound: scheduleNotFound,
        values: (before) => (before.is_active === false ? {} : { is_active: false, next_run: null }),
        view: toImportSchedule,
        audit: { entityType: 'import_schedule', action: 'deactivate', userId: ctx.caller.userId },
      })
      return toImportSchedule(row)
    }),
} satisfies MutationResolvers
