import { normalizeConnectionConfig, validateConnectionConfig } from '@pm/connectors'
import type { DB } from '@pm/db/types/exports'
import {
  badUserInput,
  checkEnum,
  checkJsonObject,
  checkString,
  ErrorCode,
  inTransaction,
  notFound,
  recordAudit,
  refuseMaskedSecrets,
  requireSomeField,
  restoreMaskedSecrets,
  updateAudited,
  userError,
} from '@pm/service-kit'
import type { Updateable } from 'kysely'
import { type ExportPlatformRow, toExportPlatform } from '../db/mappers'
import { type ExportsTrx, insertPlatform, platformNameTaken } from '../db/writes'
import { checkExportMapping, RuleConfigError } from '../engine/mapping'
import { shopConfigIssues } from '../engine/shops'
import type {
  CreateExportPlatformInput,
  MutationResolvers,
  UpdateExportPlatformInput,
} from '../generated/graphql'

/** The channels an exporter knows how to write to. */
export const PLATFORM_TYPES = ['shopify', 'woocommerce', 'minio', 'prestashop', 'amazon', 'csv'] as const

type ExportPlatformInput = CreateExportPlatformInput | UpdateExportPlatformInput

type PlatformColumns = Updateable<DB['export_platforms']>

const notNull = (field: string, value: unknown) => {
  if (value === null) throw badUserInput(`${field} cannot be null; omit it to leave it unchanged`, { field })
}

/** JSON columns are written as JSON text. */
const json = (value: Record<string, unknown> | null) => (value === null ? null : JSON.stringify(value))

function jsonObject(field: string, value: unknown, stored: unknown, required: boolean) {
  const object = checkJsonObject(field, restoreMaskedSecrets(value, stored))
  if (object && required && Object.keys(object).length === 0) {
    throw badUserInput(`${field} must hold the platform's settings (an empty object was given)`, { field })
  }
  refuseMaskedSecrets(field, object)
  return object
}

/** Validates the given fields; `stored` is the row an update starts from (for "***" secrets sent back). */
function platformColumns(input: ExportPlatformInput, stored?: ExportPlatformRow): PlatformColumns {
  const set: PlatformColumns = {}
  for (const key of ['name', 'platformType', 'config', 'isActive'] as const)
    notNull(`input.${key}`, input[key])
  if (input.name != null) set.name = checkString('input.name', input.name, { max: 255 })
  if (input.platformType != null) {
    set.platform_type = checkEnum('input.platformType', input.platformType, PLATFORM_TYPES)
  }
  if (input.config != null) set.config = json(jsonObject('input.config', input.config, stored?.config, true))!
  if (input.fieldMappings !== undefined) {
    set.field_mappings = json(
      jsonObject('input.fieldMappings', input.fieldMappings, stored?.field_mappings, false),
    )
  }
  if (input.isActive != null) set.is_active = input.isActive
  checkEngineSettings(set, stored)
  return set
}

/**
 * What the export engine will run with, checked when the platform is saved: the field mappings (a source that
 * is not a product field, an unknown rule, a target twice are refused), a destination connection and a shop's
 * API settings.
 */
function checkEngineSettings(set: PlatformColumns, stored?: ExportPlatformRow) {
  if (typeof set.field_mappings === 'string') {
    try {
      checkExportMapping(JSON.parse(set.field_mappings), 'input.fieldMappings')
    } catch (error) {
      if (error instanceof RuleConfigError) throw badUserInput(error.message, { field: error.path })
      throw error
    }
  }
  if (typeof set.config === 'string' || set.platform_type !== undefined) {
    const config = (
      typeof set.config === 'string' ? JSON.parse(set.config) : (stored?.config ?? {})
    ) as Record<string, unknown>
    const type = (set.platform_type ?? stored?.platform_type ?? '') as string
    const issues = shopConfigIssues(type, config)
    if (issues.length > 0) throw badUserInput(issues.join('; '), { field: 'input.config' })
    if (
      config.file_name !== undefined &&
      (typeof config.file_name !== 'string' || !/^[\w][\w.-]{0,199}$/.test(config.file_name))
    ) {
      throw badUserInput('input.config.file_name must be a file name (letters, digits, _ . -)', {
        field: 'input.config.file_name',
      })
    }
    if (config.destination !== undefined) {
      const destination = normalizeConnectionConfig(config.destination)
      const problems =
        destination.type === 'sftp' || destination.type === 'ftp' || destination.type === 'ftps'
          ? validateConnectionConfig(destination, 'input.config.destination')
          : [
              {
                path: 'input.config.destination.type',
                message: 'input.config.destination.type must be sftp, ftp or ftps',
              },
            ]
      if (problems.length > 0) {
        throw badUserInput(problems.map((p) => p.message).join('; '), { field: problems[0]!.path })
      }
    }
  }
}

const nameConflict = (name: string) =>
  userError(ErrorCode.CONFLICT, `input.name: a platform named "${name}" already exists`, {
    field: 'input.name',
  })

/** Checked before writing for a clear message; the unique index still decides under a race. */
async function requireFreeName(trx: ExportsTrx, name: string, exceptId: string | null) {
  if (await platformNameTaken(trx, name, exceptId)) throw nameConflict(name)
}

/** The unique index's verdict when two callers race for one name, with the input's field name. */
function renameConflict(error: unknown, name: string | undefined): never {
  if ((error as { code?: string })?.code === '23505' && name !== undefined) throw nameConflict(name)
  throw error
}

const platformNotFound = () => notFound('id: no export platform has this id', { field: 'id' })

export const platformMutations = {
  createExportPlatform: (_, { input }, ctx) => {
    const values = platformColumns(input)
    return inTransaction(ctx, async (trx) => {
      await requireFreeName(trx, values.name as string, null)
      const row = await insertPlatform(trx, values as Parameters<typeof insertPlatform>[1]).catch((e) =>
        renameConflict(e, values.name as string),
      )
      const platform = toExportPlatform(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'export_platform',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: platform },
      })
      return platform
    })
  },

  updateExportPlatform: (_, { id, input }, ctx) => {
    requireSomeField('input', input as Record<string, unknown>)
    platformColumns({ ...input, config: undefined, fieldMappings: undefined })
    return inTransaction(ctx, async (trx) => {
      let name: string | undefined
      const { row } = await updateAudited(trx, {
        table: 'export_platforms',
        id,
        notFound: platformNotFound,
        values: async (before) => {
          const set = platformColumns(input, before)
          name = set.name as string | undefined
          if (name !== undefined) await requireFreeName(trx, name, id)
          return set
        },
        view: toExportPlatform,
        audit: { entityType: 'export_platform', userId: ctx.caller.userId },
      }).catch((e) => renameConflict(e, name))
      const after = toExportPlatform(row)
      return after
    })
  },

  deactivateExportPlatform: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'export_platforms',
        id,
        notFound: platformNotFound,
        values: () => ({ is_active: false }),
        view: toExportPlatform,
        audit: { entityType: 'export_platform', action: 'deactivate', userId: ctx.caller.userId },
      })
      return toExportPlatform(row)
    }),
} satisfies MutationResolvers
