import type { DatabaseOf, Domain } from '@pm/db'
import type { Insertable } from 'kysely'
import { generateAnalytics } from './analytics'
import { generateCatalog } from './catalog'
import { generateCode2Asin } from './code2asin'
import { createContext } from './context'
import type { MigrationTable } from './core'
import { DEMO_PASSWORD, generateCore, generateUsers } from './core'
import { generateExports } from './exports'
import { generateImports } from './imports'
import { generateMedia } from './media'

export interface SeedOptions {
  /** Number of catalog products (default 1000). */
  products?: number
  /** PRNG seed (default 42): the same seed and product count give the same rows and ids. */
  seed?: number
  log?: (message: string) => void
  /** The instant the data set is relative to ("the last 30 days"); default: now. */
  now?: Date
}

/**
 * The rows of every table of one domain database, as inserted (the audit outbox is the services' own; the
 * roles, permissions and grants are the migrations').
 */
export type DomainRows<D extends Domain> = {
  [T in Exclude<keyof DatabaseOf<D> & string, 'audit_outbox' | MigrationTable>]: Insertable<
    DatabaseOf<D>[T]
  >[]
}
export type DemoRows = { [D in Domain]: DomainRows<D> }

export interface DemoData {
  options: { products: number; seed: number; now: Date }
  rows: DemoRows
  /** Product ids that media, code2asin and exports refer to on purpose but the catalog does not have. */
  orphanProductIds: string[]
  /** Rows per table (table names are unique across the seven databases). */
  counts: Record<string, number>
  /** The password of every demo user. */
  demoPassword: string
}

export function resolveOptions(options: SeedOptions = {}): DemoData['options'] {
  const products = options.products ?? 1000
  const seed = options.seed ?? 42
  const now = options.now ?? new Date()
  if (!Number.isSafeInteger(products) || products < 1) {
    throw new RangeError(`products must be a positive integer, got ${products}`)
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`)
  if (Number.isNaN(now.getTime())) throw new RangeError('now must be a valid Date')
  return { products, seed, now }
}

/**
 * The whole demo data set, in memory, with no I/O: deterministic for a given seed, product count and
 * `now` (ids depend on the seed and product count only). Cross-database references use the ids
 * generated here for the other databases.
 */
export function generateDemoData(options: SeedOptions = {}): DemoData {
  const resolved = resolveOptions(options)
  const ctx = createContext(resolved.seed, resolved.products, resolved.now)
  const orphanRng = ctx.rng('orphans')
  const orphanProductIds = Array.from({ length: Math.max(2, Math.round(resolved.products * 0.02)) }, () =>
    orphanRng.uuid(),
  )

  const { users, info: userInfo } = generateUsers(ctx)
  const catalog = generateCatalog(ctx, userInfo)
  const imports = generateImports(ctx, catalog.suppliers, userInfo)
  const exportsData = generateExports(ctx, catalog.products, orphanProductIds)
  const code2asin = generateCode2Asin(ctx, catalog.products, orphanProductIds)
  // A verified ASIN match is recorded on the product itself.
  catalog.rows.products.forEach((row, i) => {
    row.asin = catalog.products[i]!.asin
  })
  const media = generateMedia(ctx, catalog.products, orphanProductIds)
  const importJobs = imports.jobs.map((job, i) => ({
    ...job,
    createdBy: imports.rows.import_jobs[i]!.created_by ?? null,
  }))
  const analytics = generateAnalytics(ctx, {
    products: catalog.products,
    suppliers: catalog.suppliers,
    users: userInfo,
    imports: importJobs,
    exports: exportsData.jobs,
  })
  const recent = ctx.daysAgo(14).getTime()
  const core = generateCore(ctx, users, userInfo, {
    imports: imports.jobs
      .filter((j) => j.createdAt.getTime() > recent && (j.status === 'completed' || j.status === 'failed'))
      .map((j) => ({
        id: j.id,
        supplierCode: j.supplierCode,
        status: j.status,
        at: j.createdAt,
        rows: j.processed,
        failed: j.failed,
      })),
    exports: exportsData.jobs.filter((j) => j.at.getTime() > recent && j.status !== 'pending'),
  })

  const rows: DemoRows = {
    core,
    catalog: catalog.rows,
    imports: imports.rows,
    exports: exportsData.rows,
    media,
    code2asin,
    analytics,
  }
  const counts: Record<string, number> = {}
  for (const tables of Object.values(rows)) {
    for (const [table, list] of Object.entries(tables as Record<string, unknown[]>))
      counts[table] = list.length
  }
  // Derived by catalog's triggers as the products go in: one score per product.
  counts.product_completeness = counts.products ?? 0
  return { options: resolved, rows, orphanProductIds, counts, demoPassword: DEMO_PASSWORD }
}
