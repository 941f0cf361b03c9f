import type { DB } from '@pm/db/types/core'
import {
  badUserInput,
  checkString,
  diffValues,
  inTransaction,
  lockRow,
  MASK,
  MODULE_CATEGORY,
  notFound,
  recordAudit,
} from '@pm/service-kit'
import type { Selectable } from 'kysely'
import { toAppSetting } from '../db/mappers'
import { deleteAppSetting, upsertAppSetting } from '../db/writes'
import type { MutationResolvers } from '../generated/graphql'
import { checkSettingCategory, checkSettingKey, checkSettingValue } from '../validation'
import { checkFlag } from './shared'

type SettingRow = Selectable<DB['app_settings']>

const MAX_DESCRIPTION = 1_000

/** What changed, with a secret's value masked on the side where it is secret. */
function settingChanges(before: SettingRow | undefined, after: SettingRow) {
  const view = (row: SettingRow) => ({
    value: row.is_secret ? MASK : row.value,
    category: row.category,
    description: row.description,
    isSecret: row.is_secret,
  })
  if (!before) return { after: view(after) }
  // Masked on both sides, a secret's new value would not show as a change: say that it changed.
  const secretValueChanged =
    (before.is_secret || after.is_secret) && JSON.stringify(before.value) !== JSON.stringify(after.value)
  return {
    ...diffValues(view(before), view(after)),
    ...(secretValueChanged ? { secretValueChanged } : {}),
  }
}

export const settingMutations = {
  /**
   * Creates or replaces the setting `key`: value and category always, description and isSecret when
   * given (kept otherwise). Setting the same again changes and audits nothing.
   */
  setAppSetting: (_, { input }, ctx) => {
    const key = checkSettingKey('input.key', input.key)
    const category = checkSettingCategory('input.category', input.category)
    const value = checkSettingValue(key, category, input.value)
    const description =
      input.description === undefined
        ? undefined
        : checkString('input.description', input.description, { max: MAX_DESCRIPTION })
    const isSecret = checkFlag('input.isSecret', input.isSecret)
    if (isSecret && category === MODULE_CATEGORY) {
      throw badUserInput('input.isSecret: module switches are public (they gate the API)', {
        field: 'input.isSecret',
      })
    }
    return inTransaction(ctx, async (trx) => {
      const before = await lockRow(trx, 'app_settings', key, { key: 'key' })
      const row = await upsertAppSetting(trx, {
        key,
        value: JSON.stringify(value),
        category,
        description,
        isSecret,
        updatedBy: ctx.caller.userId,
      })
      if (!row) {
        // Unchanged (the row existed, possibly inserted meanwhile by another call).
        const current =
          before ??
          (await trx.selectFrom('app_settings').selectAll().where('key', '=', key).executeTakeFirstOrThrow())
        return toAppSetting(current)
      }
      await recordAudit(trx, {
        action: before ? 'update' : 'create',
        entityType: 'app_setting',
        entityId: key,
        userId: ctx.caller.userId,
        changes: settingChanges(before, row),
      })
      return toAppSetting(row)
    })
  },

  /** Returns the setting as it was (a secret's value masked). */
  deleteAppSetting: (_, { key }, ctx) => {
    checkSettingKey('key', key)
    return inTransaction(ctx, async (trx) => {
      const row = await deleteAppSetting(trx, key)
      if (!row) throw notFound('key: no setting has this key', { field: 'key' })
      const setting = toAppSetting(row)
      await recordAudit(trx, {
        action: 'delete',
        entityType: 'app_setting',
        entityId: key,
        userId: ctx.caller.userId,
        changes: { before: { value: setting.value, category: setting.category, isSecret: setting.isSecret } },
      })
      return setting
    })
  },
} satisfies MutationResolvers
