import { sql } from 'kysely'
import { type CatalogTrx, refreshCompleteness } from './writes'

/**
 * Scores the products stored before their first score (none after migration 006's backfill): those of `ids`,
 * or all of them when `ids` is not given.
 */
export async function scoreUnscoredProducts(trx: CatalogTrx, ids?: readonly string[]) {
  await (ids
    ? sql`SELECT refresh_product_completeness(ARRAY(
        SELECT p.id FROM products p WHERE p.id = ANY (${[...ids]}::uuid[])
          AND NOT EXISTS (SELECT 1 FROM product_completeness pc WHERE pc.product_id = p.id)))`
    : sql`SELECT refresh_product_completeness(ARRAY(
        SELECT p.id FROM products p
        WHERE NOT EXISTS (SELECT 1 FROM product_completeness pc WHERE pc.product_id = p.id)))`
  ).execute(trx)
}

/** Sets has_image of these products (others untouched) and refreshes their scores; returns how many changed. */
export async function setHasImage(trx: CatalogTrx, ids: readonly string[], hasImage: boolean) {
  if (ids.length === 0) return 0
  const changed = await trx
    .updateTable('product_completeness')
    .set({ has_image: hasImage })
    .where('product_id', '=', (eb) => eb.fn.any(eb.val([...ids])))
    .where('has_image', '<>', hasImage)
    .returning('product_id')
    .execute()
  await refreshCompleteness(
    trx,
    changed.map((c) => c.product_id),
  )
  return changed.length
}

/** has_image of every scored product: true for those of `withMedia`, false for the others (changes only). */
export async function setHasImageOfAll(trx: CatalogTrx, withMedia: readonly string[]) {
  await sql`WITH m AS (SELECT DISTINCT unnest(${[...withMedia]}::uuid[]) AS id),
        wanted AS (SELECT pc.product_id, m.id IS NOT NULL AS has_image
                   FROM product_completeness pc LEFT JOIN m ON m.id = pc.product_id)
        UPDATE product_completeness pc SET has_image = wanted.has_image FROM wanted
        WHERE wanted.product_id = pc.product_id AND pc.has_image <> wanted.has_image`.execute(trx)
}

/** Recomputes the stored completeness of every product (one statement). */
export async function refreshAllCompleteness(trx: CatalogTrx) {
  await sql`SELECT refresh_product_completeness(ARRAY(SELECT id FROM products))`.execute(trx)
}

/** How many products are scored, and their average score (null when none is). */
export function completenessTotals(trx: CatalogTrx) {
  return trx
    .selectFrom('product_completeness')
    .select((eb) => [eb.fn.countAll<string>().as('products'), eb.fn.avg<string>('score').as('average')])
    .executeTakeFirstOrThrow()
}
