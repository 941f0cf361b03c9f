import { fixedStatement } from '@pm/db'
import { type Marked, type Order, pageQuery } from '@pm/service-kit'
import type { ProductRow } from './db/mappers'
import { type CatalogDb, type ProductFilter, productsQuery } from './db/queries'
import { type PrefetchColumn, type ProductPrefetchPlan, prefetchColumns, withPrefetch } from './prefetch'

/** The filters a first page's statement takes as values (whatever they are, the statement is the same). */
const VALUE_FILTERS = ['supplierId', 'brandId', 'categoryId', 'status'] as const
type ValueFilter = (typeof VALUE_FILTERS)[number]

type PageRow = ProductRow & Marked
type Statement = (db: CatalogDb, limit: number, ...values: string[]) => Promise<PageRow[]>

/** First pages seen lately, by shape: at most this many statements are kept compiled. */
const PAGE_STATEMENTS = 256
const pageStatements = new Map<string, { columns: PrefetchColumn[]; statement: Statement }>()

/**
 * Query.products' statement for a first page (no `after`) filtered only by supplier, brand, category,
 * status and/or isActive: which of those are set, isActive's value (a literal, for the partial indexes), the
 * order and the plan decide the statement, the filters' values and the page size are its parameters. It is
 * the statement paginate builds (same text, same parameters), built and compiled once per shape. Null for
 * any other list (search, ids, dates, scores, a cursor): those are built per request.
 */
export function firstPageStatement(
  filter: ProductFilter,
  order: Order,
  plan: ProductPrefetchPlan | null,
  after: string | null | undefined,
  db: CatalogDb,
): { columns: PrefetchColumn[]; run: (db: CatalogDb, limit: number) => Promise<PageRow[]> } | null {
  if (after) return null
  const present: ValueFilter[] = []
  for (const [name, value] of Object.entries(filter)) {
    if (value == null || name === 'isActive') continue
    if (!(VALUE_FILTERS as readonly string[]).includes(name)) return null
    present.push(name as ValueFilter)
  }
  // In the order productsQuery adds them: the parameters follow the statement's text.
  present.sort((a, b) => VALUE_FILTERS.indexOf(a) - VALUE_FILTERS.indexOf(b))
  const values = present.map((name) => filter[name] as string)
  const key = JSON.stringify([present, filter.isActive ?? null, order, plan])
  let found = pageStatements.get(key)
  if (!found) {
    const columns = prefetchColumns(db, plan)
    const isActive = filter.isActive ?? null
    const statement = fixedStatement(
      'products first page',
      (db: CatalogDb, limit: number, ...values: string[]) => {
        const shaped: ProductFilter = { isActive }
        present.forEach((name, i) => {
          shaped[name] = values[i]
        })
        return pageQuery(withPrefetch(productsQuery(db, shaped), columns), order, limit)
      },
    ) as Statement
    found = { columns, statement }
    if (pageStatements.size >= PAGE_STATEMENTS) pageStatements.delete(pageStatements.keys().next().value!)
    pageStatements.set(key, found)
  }
  const { columns, statement } = found
  return { columns, run: (db, limit) => statement(db, limit, ...values) }
}
