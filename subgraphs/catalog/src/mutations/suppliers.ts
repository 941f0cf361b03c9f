import {
  checkCountry,
  checkCurrency,
  checkEmail,
  checkInt,
  checkJsonObject,
  checkString,
  diffValues,
  inTransaction,
  isEmptyDiff,
  lockRow,
  notFound,
  recordAudit,
  requireSomeField,
  updateAudited,
  userError,
} from '@pm/service-kit'
import { toSupplier, toSupplierDetails } from '../db/mappers'
import { insertSupplier, supplierWithCode, updateSupplier, upsertSupplierDetails } from '../db/suppliers'
import type { CatalogTrx } from '../db/writes'
import type {
  CreateSupplierInput,
  MutationResolvers,
  SupplierDetailsInput,
  UpdateSupplierInput,
} from '../generated/graphql'
import { checkAmount, checkCode, checkPhone, checkText, checkUrl, MAX_NOTE, notNull } from '../validation'

const given = <T>(value: T | null | undefined, check: (v: T | null) => unknown) =>
  value === undefined ? undefined : check(value)

function supplierColumns(input: CreateSupplierInput | UpdateSupplierInput) {
  const columns = {
    code: given(notNull('input.code', input.code), (v) => checkCode('input.code', v)) as string | undefined,
    name: given(notNull('input.name', input.name), (v) => checkString('input.name', v, { max: 255 })) as
      | string
      | undefined,
    is_active: notNull('input.isActive', input.isActive),
    contact_email: given(input.contactEmail, (v) => checkEmail('input.contactEmail', v)) as
      | string
      | null
      | undefined,
    contact_phone: given(input.contactPhone, (v) => checkPhone('input.contactPhone', v)) as
      | string
      | null
      | undefined,
    address: given(input.address, (v) => checkText('input.address', v, MAX_NOTE)) as
      | string
      | null
      | undefined,
    country: given(input.country, (v) => checkCountry('input.country', v)) as string | null | undefined,
  }
  return Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined)) as Partial<
    typeof columns
  >
}

function detailsColumns(input: SupplierDetailsInput) {
  requireSomeField('input.details', input as Record<string, unknown>)
  const at = (f: string) => `input.details.${f}`
  const columns = {
    legal_name: given(input.legalName, (v) => checkString(at('legalName'), v, { max: 255 })),
    vat_number: given(input.vatNumber, (v) => checkString(at('vatNumber'), v, { max: 50 })),
    website: given(input.website, (v) => checkUrl(at('website'), v)),
    default_currency: given(notNull(at('defaultCurrency'), input.defaultCurrency), (v) =>
      checkCurrency(at('defaultCurrency'), v),
    ),
    payment_terms: given(input.paymentTerms, (v) => checkString(at('paymentTerms'), v, { max: 100 })),
    lead_time_days: given(input.leadTimeDays, (v) => checkInt(at('leadTimeDays'), v, { min: 0 })),
    minimum_order_amount: given(input.minimumOrderAmount, (v) => checkAmount(at('minimumOrderAmount'), v)),
    notes: given(input.notes, (v) => checkText(at('notes'), v, 10_000)),
    extra: given(notNull(at('extra'), input.extra), (v) => JSON.stringify(checkJsonObject(at('extra'), v))),
  }
  return Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined)) as Record<
    string,
    string | number | null
  >
}

async function checkCodeFree(trx: CatalogTrx, code: string | undefined, exceptId: string | null) {
  if (code === undefined) return
  const other = await supplierWithCode(trx, code, exceptId)
  if (other) {
    throw userError('CONFLICT', `input.code: supplier ${other.id} already has code "${code}"`, {
      field: 'input.code',
    })
  }
}

/**
 * Inserts or completes the supplier's one supplier_details row with the given fields; what changed, as the
 * API names it (null when nothing did).
 */
async function writeDetails(trx: CatalogTrx, supplierId: string, details: Record<string, unknown>) {
  const before = await lockRow(trx, 'supplier_details', supplierId, { key: 'supplier_id' })
  const changes = before
    ? diffValues(before, details, { numeric: new Set(['minimum_order_amount']), ignore: [] }).after
    : details
  if (Object.keys(changes).length === 0) return null
  const row = await upsertSupplierDetails(trx, supplierId, changes)
  if (before) return diffValues(toSupplierDetails(before), toSupplierDetails(row))
  const { supplierId: _, createdAt: __, updatedAt: ___, ...created } = toSupplierDetails(row)
  return { before: null, after: created }
}

const supplierNotFound = () => notFound('id: no supplier has this id', { field: 'id' })

export const supplierMutations = {
  createSupplier: (_, { input }, ctx) => {
    const columns = supplierColumns(input)
    const details = input.details ? detailsColumns(input.details) : null
    return inTransaction(ctx, async (trx) => {
      await checkCodeFree(trx, columns.code, null)
      const row = await insertSupplier(trx, { ...columns, code: columns.code!, name: columns.name! })
      const written = details ? await writeDetails(trx, row.id, details) : null
      const supplier = toSupplier(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'supplier',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: { ...supplier, ...(written ? { details: written.after } : {}) } },
      })
      return supplier
    })
  },

  updateSupplier: (_, { id, input }, ctx) => {
    requireSomeField('input', input as Record<string, unknown>)
    const columns = supplierColumns(input)
    const details = input.details ? detailsColumns(input.details) : null
    if (input.details === null) {
      throw userError('BAD_USER_INPUT', 'input.details cannot be null: give the fields to change', {
        field: 'input.details',
      })
    }
    return inTransaction(ctx, async (trx) => {
      // The supplier and its details are one entity to callers: one lock, one audit entry for both.
      const before = await lockRow(trx, 'suppliers', id)
      if (!before) throw supplierNotFound()
      const changes = diffValues(before, columns, { ignore: [] }).after
      if (changes.code !== undefined) await checkCodeFree(trx, changes.code, id)
      const row = Object.keys(changes).length === 0 ? before : await updateSupplier(trx, id, changes)
      const diff = diffValues(toSupplier(before), toSupplier(row))
      const detailChanges = details ? await writeDetails(trx, id, details) : null
      if (!isEmptyDiff(diff) || detailChanges) {
        await recordAudit(trx, {
          action: 'update',
          entityType: 'supplier',
          entityId: id,
          userId: ctx.caller.userId,
          changes: {
            before: { ...diff.before, ...(detailChanges ? { details: detailChanges.before } : {}) },
            after: { ...diff.after, ...(detailChanges ? { details: detailChanges.after } : {}) },
          },
        })
      }
      return toSupplier(row)
    })
  },

  /** isActive false; the supplier's products are left as they are. */
  deactivateSupplier: (_, { id }, ctx) =>
    inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'suppliers',
        id,
        notFound: supplierNotFound,
        values: () => ({ is_active: false }),
        view: toSupplier,
        audit: { entityType: 'supplier', action: 'deactivate', userId: ctx.caller.userId },
      })
      return toSupplier(row)
    }),
} satisfies MutationResolvers
