import {
  checkString,
  inTransaction,
  notFound,
  recordAudit,
  requireSomeField,
  updateAudited,
  userError,
} from '@pm/service-kit'
import { brandWithCode, insertBrand } from '../db/brands'
import { toBrand } from '../db/mappers'
import type { CatalogTrx } from '../db/writes'
import type { CreateBrandInput, MutationResolvers, UpdateBrandInput } from '../generated/graphql'
import { checkCode, checkUrl, notNull } from '../validation'

function brandColumns(input: CreateBrandInput | UpdateBrandInput) {
  const columns = {
    code: input.code === undefined ? undefined : checkCode('input.code', input.code),
    name:
      input.name === undefined
        ? undefined
        : checkString('input.name', notNull('input.name', input.name)!, { max: 255 }),
    logo_url: input.logoUrl === undefined ? undefined : checkUrl('input.logoUrl', input.logoUrl),
    is_active: notNull('input.isActive', input.isActive),
  }
  return Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined)) as Partial<
    typeof columns
  >
}

async function checkCodeFree(trx: CatalogTrx, code: string | null | undefined, exceptId: string | null) {
  if (!code) return
  const other = await brandWithCode(trx, code, exceptId)
  if (other) {
    throw userError('CONFLICT', `input.code: brand ${other.id} already has code "${code}"`, {
      field: 'input.code',
    })
  }
}

export const brandMutations = {
  createBrand: (_, { input }, ctx) => {
    const columns = brandColumns(input)
    return inTransaction(ctx, async (trx) => {
      await checkCodeFree(trx, columns.code, null)
      const row = await insertBrand(trx, { ...columns, name: columns.name! })
      const brand = toBrand(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'brand',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: brand },
      })
      return brand
    })
  },

  /** Partial; isActive: false withdraws the brand (its products are left as they are). */
  updateBrand: (_, { id, input }, ctx) => {
    requireSomeField('input', input as Record<string, unknown>)
    const columns = brandColumns(input)
    return inTransaction(ctx, async (trx) => {
      const { row } = await updateAudited(trx, {
        table: 'brands',
        id,
        notFound: () => notFound('id: no brand has this id', { field: 'id' }),
        values: () => columns,
        check: (changes) => checkCodeFree(trx, changes.code as string | undefined, id),
        view: toBrand,
        audit: { entityType: 'brand', userId: ctx.caller.userId },
      })
      return toBrand(row)
    })
  },
} satisfies MutationResolvers
