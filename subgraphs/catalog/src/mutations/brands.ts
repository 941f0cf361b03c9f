import {
  checkString,
  inTransaction,
  notFound,
  recordAudit,
  requireSomeField,
  updateAudited,
  userError,
} from '@pm/service-kit'
import type { Context } from '../context'
import { toBrand } from '../db/mappers'
import type { CatalogTrx } from '../db/writes'
import { checkCode, checkUrl, notNull } from '../validation'

interface BrandInput {
  code?: string | null
  name?: string | null
  logoUrl?: string | null
  isActive?: boolean | null
}

function brandColumns(input: BrandInput) {
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
  let query = trx.selectFrom('brands').select('id').where('code', '=', code)
  if (exceptId) query = query.where('id', '<>', exceptId)
  const other = await query.executeTakeFirst()
  if (other) {
    throw userError('CONFLICT', `input.code: brand ${other.id} already has code "${code}"`, {
      field: 'input.code',
    })
  }
}

export const brandMutations = {
  createBrand: (_: unknown, { input }: { input: BrandInput }, ctx: Context) => {
    const columns = brandColumns(input)
    return inTransaction(ctx, async (trx) => {
      await checkCodeFree(trx, columns.code, null)
      const row = await trx
        .insertInto('brands')
        .values({ ...columns, name: columns.name! })
        .returningAll()
        .executeTakeFirstOrThrow()
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
  updateBrand: (_: unknown, { id, input }: { id: string; input: BrandInput }, ctx: Context) => {
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
}
