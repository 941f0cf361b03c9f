import type { Context } from './context'
import { productOwners } from './db/products'
import type { CatalogDb } from './db/queries'
import type { ProductColumns } from './validation'

/** Past this many products a mutation's change counts as catalog-wide for the gateway's cache. */
const MAX_DECLARED_PRODUCTS = 200

/**
 * Tells the gateway's cache (ctx.changes) that the current mutation changes these products' own data (prices,
 * stock, completeness), not which supplier, brand or category they belong to. Whose cached answers that
 * alters: each product's, and its supplier's, brand's and category's, whose `products` lists show it. A
 * mutation that moves a product elsewhere, or renames what products' answers nest, declares nothing (the
 * whole of catalog's cache goes).
 */
export async function declareProductsChanged(ctx: Context, db: CatalogDb, ids: readonly string[]) {
  if (ids.length > MAX_DECLARED_PRODUCTS) return ctx.changes.wholeDomain()
  const owners = ids.length === 0 ? [] : await productOwners(db, ids)
  ctx.changes.entities('Product', ids)
  ctx.changes.entities(
    'Supplier',
    owners.map((o) => o.supplier_id),
  )
  ctx.changes.entities(
    'Brand',
    owners.map((o) => o.brand_id),
  )
  ctx.changes.entities(
    'Category',
    owners.map((o) => o.category_id),
  )
}

/**
 * What a bulk write (an import batch) changes, for the gateway's cache: too many products to name one by one,
 * so every product's own answers (`Product:*`), and by name the owners whose lists held or now hold them —
 * those of the products its keys found, read before the write, and those the written rows gave their products.
 * Other owners' lists (another supplier's product page) stay cached.
 */
export class BulkProductChanges {
  private readonly suppliers = new Set<string | null>()
  private readonly brands = new Set<string | null>()
  private readonly categories = new Set<string | null>()

  /** Reads the owners of these products (before the write: the matched ones; after: the written ones). */
  async owners(db: CatalogDb, ids: readonly string[]) {
    if (ids.length === 0) return
    for (const o of await productOwners(db, ids)) {
      this.suppliers.add(o.supplier_id)
      this.brands.add(o.brand_id)
      this.categories.add(o.category_id)
    }
  }

  /**
   * The owners a written row gave its product, known without reading it back: a supplier, brand or category the
   * row sets is the product's now; one it leaves out is still the product's own (read by `owners` before the
   * write), or none for a product the row created.
   */
  written(columns: Pick<ProductColumns, 'supplier_id' | 'brand_id' | 'category_id'>, created: boolean) {
    for (const [owners, id] of [
      [this.suppliers, columns.supplier_id],
      [this.brands, columns.brand_id],
      [this.categories, columns.category_id],
    ] as const) {
      if (id !== undefined) owners.add(id)
      else if (created) owners.add(null)
    }
  }

  /** Declares them; `written` false (nothing created or updated, or rolled back): nothing of catalog changed. */
  declare(ctx: Context, written: boolean) {
    if (!written) return ctx.changes.entities('Product', [])
    ctx.changes.entities('Product', ['*'])
    ctx.changes.entities('Supplier', this.suppliers)
    ctx.changes.entities('Brand', this.brands)
    ctx.changes.entities('Category', this.categories)
  }
}
