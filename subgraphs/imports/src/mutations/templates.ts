import {
  checkString,
  inTransaction,
  notFound,
  recordAudit,
  requireSomeField,
  updateAudited,
} from '@pm/service-kit'
import { requireSupplier } from '../catalog'
import { toMappingTemplate } from '../db/mappers'
import {
  deleteTemplate,
  type ImportsTrx,
  insertTemplate,
  lockScope,
  templateForUpdate,
  unsetOtherDefaults,
} from '../db/writes'
import type {
  CreateMappingTemplateInput,
  MutationResolvers,
  UpdateMappingTemplateInput,
} from '../generated/graphql'
import { checkTemplateMapping } from '../validation'
import { json, notNull } from './common'

type MappingTemplateInput = CreateMappingTemplateInput | UpdateMappingTemplateInput

interface TemplateColumns {
  name?: string
  supplier_code?: string | null
  field_mapping?: string
  is_default?: boolean
}

function templateColumns(input: MappingTemplateInput): TemplateColumns {
  const set: TemplateColumns = {}
  const name = notNull('input.name', input.name)
  if (name !== undefined) set.name = checkString('input.name', name, { max: 255 })
  if (input.supplierCode !== undefined) {
    set.supplier_code = checkString('input.supplierCode', input.supplierCode, { max: 50 })
  }
  const mapping = notNull('input.fieldMapping', input.fieldMapping)
  if (mapping !== undefined) set.field_mapping = json(checkTemplateMapping('input.fieldMapping', mapping))!
  const isDefault = notNull('input.isDefault', input.isDefault)
  if (isDefault !== undefined) set.is_default = isDefault
  return set
}

/** Before setting a default: one writer per supplier at a time, and the supplier's other defaults unset. */
async function takeDefault(trx: ImportsTrx, supplierCode: string | null, id: string) {
  await lockScope(trx, `mapping_templates:${supplierCode ?? ''}`)
  return unsetOtherDefaults(trx, supplierCode, id)
}

export const templateMutations = {
  createMappingTemplate: async (_, { input }, ctx) => {
    const values = templateColumns(input)
    const supplierCode = values.supplier_code ?? null
    if (supplierCode !== null) await requireSupplier(ctx, 'input.supplierCode', supplierCode)
    return inTransaction(ctx, async (trx) => {
      // Locked before the insert, so two concurrent "default" creations cannot both stay default.
      if (values.is_default) await lockScope(trx, `mapping_templates:${supplierCode ?? ''}`)
      const row = await insertTemplate(trx, {
        name: values.name!,
        supplier_code: supplierCode,
        field_mapping: values.field_mapping!,
        is_default: values.is_default ?? false,
      })
      const unset = row.is_default ? await unsetOtherDefaults(trx, supplierCode, row.id) : []
      const template = toMappingTemplate(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'mapping_template',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: template, ...(unset.length ? { defaultUnsetOn: unset } : {}) },
      })
      return template
    })
  },

  updateMappingTemplate: async (_, { id, input }, ctx) => {
    requireSomeField('input', input as Record<string, unknown>)
    const set = templateColumns(input)
    if (set.supplier_code) await requireSupplier(ctx, 'input.supplierCode', set.supplier_code)
    return inTransaction(ctx, async (trx) => {
      let unset: string[] = []
      const { row } = await updateAudited(trx, {
        table: 'mapping_templates',
        id,
        notFound: () => notFound('id: no mapping template has this id', { field: 'id' }),
        // The supplier's one default: taken from the others (under the supplier's lock) before the write.
        values: async (before) => {
          const supplierCode = set.supplier_code !== undefined ? set.supplier_code : before.supplier_code
          if (set.is_default ?? before.is_default ?? false) unset = await takeDefault(trx, supplierCode, id)
          return set
        },
        view: toMappingTemplate,
        afterUpdate: async () => (unset.length ? { defaultUnsetOn: unset } : undefined),
        audit: { entityType: 'mapping_template', userId: ctx.caller.userId },
      })
      return toMappingTemplate(row)
    })
  },

  deleteMappingTemplate: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const before = await templateForUpdate(trx, id)
      if (!before) throw notFound('id: no mapping template has this id', { field: 'id' })
      await deleteTemplate(trx, id)
      const template = toMappingTemplate(before)
      await recordAudit(trx, {
        action: 'delete',
        entityType: 'mapping_template',
        entityId: id,
        userId: ctx.caller.userId,
        changes: { before: template },
      })
      return template
    }),
} satisfies MutationResolvers
