import type { DB } from '@pm/db/types/imports'
import {
  checkEnum,
  checkString,
  inTransaction,
  notFound,
  recordAudit,
  requireSomeField,
  restoreMaskedSecrets,
  updateAudited,
} from '@pm/service-kit'
import type { Updateable } from 'kysely'
import { requireSupplier } from '../catalog'
import { toImportConfig } from '../db/mappers'
import { configNameTaken, deactivateSchedulesOfConfig, insertConfig, lockScope } from '../db/writes'
import type {
  CreateImportConfigInput,
  MutationResolvers,
  UpdateImportConfigInput,
} from '../generated/graphql'

import {
  checkConnectionConfig,
  checkDelimiter,
  checkEncoding,
  checkFieldMapping,
  checkImportRules,
  checkScheduleConfig,
  checkTransformationRules,
  checkValidationRules,
  FILE_FORMATS,
} from '../validation'
import { conflict, json, notNull } from './common'

type ImportConfigInput = CreateImportConfigInput | UpdateImportConfigInput

type ConfigColumns = Updateable<DB['import_configs']>

/** Validates the given fields (omitted ones are left out; null clears a nullable column). */
function configColumns(input: ImportConfigInput, storedConnection?: unknown): ConfigColumns {
  const set: ConfigColumns = {}
  const code = notNull('input.supplierCode', input.supplierCode)
  if (code !== undefined) set.supplier_code = checkString('input.supplierCode', code, { max: 50 })
  const type = notNull('input.importType', input.importType)
  if (type !== undefined) set.import_type = checkString('input.importType', type, { max: 50 })
  const name = notNull('input.configName', input.configName)
  if (name !== undefined) set.config_name = checkString('input.configName', name, { max: 255 })
  const active = notNull('input.isActive', input.isActive)
  if (active !== undefined) set.is_active = active
  const connection = notNull('input.connectionConfig', input.connectionConfig)
  if (connection !== undefined) {
    set.connection_config = json(
      checkConnectionConfig('input.connectionConfig', restoreMaskedSecrets(connection, storedConnection)),
    )!
  }
  if (input.scheduleConfig !== undefined) {
    set.schedule_config =
      input.scheduleConfig === null
        ? null
        : json(checkScheduleConfig('input.scheduleConfig', input.scheduleConfig))
  }
  if (input.filePattern !== undefined) {
    set.file_pattern = checkString('input.filePattern', input.filePattern, { max: 255 })
  }
  if (input.fileFormat !== undefined)
    set.file_format = checkEnum('input.fileFormat', input.fileFormat, FILE_FORMATS)
  if (input.encoding !== undefined) set.encoding = checkEncoding('input.encoding', input.encoding)
  if (input.delimiter !== undefined) set.delimiter = checkDelimiter('input.delimiter', input.delimiter)
  if (input.fieldMapping !== undefined) {
    set.field_mapping =
      input.fieldMapping === null ? null : json(checkFieldMapping('input.fieldMapping', input.fieldMapping))
  }
  if (input.transformationRules !== undefined) {
    set.transformation_rules =
      input.transformationRules === null
        ? null
        : json(checkTransformationRules('input.transformationRules', input.transformationRules))
  }
  if (input.validationRules !== undefined) {
    set.validation_rules =
      input.validationRules === null
        ? null
        : json(checkValidationRules('input.validationRules', input.validationRules))
  }
  return set
}

const touchesRules = (input: ImportConfigInput) =>
  input.fieldMapping !== undefined ||
  input.transformationRules !== undefined ||
  input.validationRules !== undefined

/** Config names are unique per supplier (case-insensitive), checked under a per-supplier lock. */
async function requireFreeName(
  trx: Parameters<typeof lockScope>[0],
  supplierCode: string,
  name: string,
  exceptId: string | null,
) {
  await lockScope(trx, `import_configs:${supplierCode}`)
  if (await configNameTaken(trx, supplierCode, name, exceptId)) {
    throw conflict('input.configName', `supplier ${supplierCode} already has a configuration named "${name}"`)
  }
}

const configNotFound = () => notFound('id: no import configuration has this id', { field: 'id' })

export const configMutations = {
  createImportConfig: async (_, { input }, ctx) => {
    const values = configColumns(input)
    checkImportRules('input', {
      fieldMapping: input.fieldMapping,
      transformationRules: input.transformationRules,
      validationRules: input.validationRules,
    })
    const supplierCode = values.supplier_code as string
    await requireSupplier(ctx, 'input.supplierCode', supplierCode)
    return inTransaction(ctx, async (trx) => {
      await requireFreeName(trx, supplierCode, values.config_name as string, null)
      const row = await insertConfig(trx, values as Parameters<typeof insertConfig>[1])
      const config = toImportConfig(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'import_config',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: config },
      })
      return config
    })
  },

  updateImportConfig: async (_, { id, input }, ctx) => {
    requireSomeField('input', input as Record<string, unknown>)
    // Everything but connectionConfig (it needs the stored secrets) is checked before any I/O.
    configColumns({ ...input, connectionConfig: undefined })
    if (input.supplierCode != null) {
      await requireSupplier(
        ctx,
        'input.supplierCode',
        checkString('input.supplierCode', input.supplierCode, { max: 50 }),
      )
    }
    return inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'import_configs',
        id,
        notFound: configNotFound,
        values: async (before) => {
          const set = configColumns(input, before.connection_config)
          if (touchesRules(input)) {
            // The rules are checked against the mapping they will run with: the new one, else the stored one.
            checkImportRules('input', {
              fieldMapping: input.fieldMapping !== undefined ? input.fieldMapping : before.field_mapping,
              transformationRules:
                input.transformationRules !== undefined
                  ? input.transformationRules
                  : before.transformation_rules,
              validationRules:
                input.validationRules !== undefined ? input.validationRules : before.validation_rules,
            })
          }
          const supplierCode = (set.supplier_code as string | undefined) ?? before.supplier_code
          const name = (set.config_name as string | undefined) ?? before.config_name
          if (set.supplier_code !== undefined || set.config_name !== undefined) {
            await requireFreeName(trx, supplierCode, name, id)
          }
          return set
        },
        view: toImportConfig,
        afterUpdate: async (row, before) => {
          if (before.is_active === false || row.is_active !== false) return undefined
          const schedulesDeactivated = await deactivateSchedulesOfConfig(trx, id)
          return schedulesDeactivated ? { schedulesDeactivated } : undefined
        },
        audit: { entityType: 'import_config', userId: ctx.caller.userId },
      })
      const config = toImportConfig(row)
      return config
    })
  },

  deactivateImportConfig: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'import_configs',
        id,
        notFound: configNotFound,
        values: () => ({ is_active: false }),
        view: toImportConfig,
        afterUpdate: async () => ({ schedulesDeactivated: await deactivateSchedulesOfConfig(trx, id) }),
        audit: { entityType: 'import_config', action: 'deactivate', userId: ctx.caller.userId },
      })
      return toImportConfig(row)
    }),
} satisfies MutationResolvers
