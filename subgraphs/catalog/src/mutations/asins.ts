import { badUserInput, inTransaction, recordAudit } from '@pm/service-kit'
import type { Context } from '../context'
import { setAsins } from '../db/products'
import type { ProductAsinInput } from '../generated/graphql'

/** Rows one setProductAsins call takes. */
export const MAX_ASIN_ROWS = 1_000
const ASIN = /^[A-Z0-9]{10}$/

/**
 * Writes verified ASINs onto products (Mutation.setProductAsins): one UPDATE for the whole call, only where the
 * value changes, with one audit entry naming the products changed. The last row wins for a product given twice.
 */
export async function setProductAsins(rows: readonly ProductAsinInput[], ctx: Context) {
  if (rows.length === 0 || rows.length > MAX_ASIN_ROWS) {
    throw badUserInput(`rows must hold 1 to ${MAX_ASIN_ROWS} products`, { field: 'rows' })
  }
  const wanted = new Map<string, string | null>()
  rows.forEach((row, index) => {
    const asin = row.asin == null ? null : row.asin.trim().toUpperCase()
    if (asin !== null && !ASIN.test(asin)) {
      throw badUserInput(`rows[${index}].asin: an ASIN is 10 letters or digits`, {
        field: `rows[${index}].asin`,
      })
    }
    wanted.set(row.productId, asin)
  })
  return inTransaction(ctx, async (trx) => {
    const found = await setAsins(trx, wanted)
    const known = new Set(found.map((r) => r.id))
    const changed = found.filter((r) => r.changed)
    if (changed.length > 0) {
      await recordAudit(trx, {
        action: 'set_asins',
        entityType: 'product',
        entityId: changed.length === 1 ? changed[0]!.id : null,
        userId: ctx.caller.userId,
        changes: {
          products: changed.map((r) => ({ id: r.id, before: r.before, after: wanted.get(r.id) ?? null })),
        },
      })
    }
    return {
      updated: changed.length,
      unchanged: found.length - changed.length,
      missingProductIds: [...wanted.keys()].filter((id) => !known.has(id)),
    }
  })
}
