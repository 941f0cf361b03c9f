import type { Domain } from '@pm/db'
import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import type { OutboxEntry } from './audit'
import type { Logger } from './logger'
import { type Peers, postPeer } from './peers'

/** What happens to a row whose referenced entity no longer exists. */
export type ReferencePolicy = 'delete' | 'set_null' | 'keep_and_flag'

/** Entities whose deletion the owning subgraphs of dependent rows are told about. */
export type DeletedEntityKind = 'product' | 'supplier' | 'user'

/**
 * A column of one database that names a row of another database (no foreign key can hold it): what the
 * integrity check streams and verifies, what `pm integrity fix` and deletion propagation apply.
 */
export interface CrossDatabaseReference {
  /** Stable name: `<domain>.<table>.<column>`. */
  name: string
  from: { domain: Domain; table: string; column: string }
  to: { domain: Domain; table: string; column: string; kind?: DeletedEntityKind }
  policy: ReferencePolicy
  /** Why this policy. */
  reason: string
}

const ref = (
  from: `${Domain}.${string}.${string}`,
  to: `${Domain}.${string}.${string}`,
  policy: ReferencePolicy,
  reason: string,
): CrossDatabaseReference => {
  const [fd, ft, fc] = from.split('.') as [Domain, string, string]
  const [td, tt, tc] = to.split('.') as [Domain, string, string]
  const kind: DeletedEntityKind | undefined =
    tt === 'products' && tc === 'id'
      ? 'product'
      : tt === 'suppliers' && tc === 'id'
        ? 'supplier'
        : tt === 'users' && tc === 'id'
          ? 'user'
          : undefined
  return {
    name: from,
    from: { domain: fd, table: ft, column: fc },
    to: { domain: td, table: tt, column: tc, ...(kind ? { kind } : {}) },
    policy,
    reason,
  }
}

/**
 * Every cross-database reference of the seven databases (the migrations' "cross-database reference"
 * columns), with its declared policy. Audit outboxes are left out: their rows live seconds.
 */
export const CROSS_DATABASE_REFERENCES: readonly CrossDatabaseReference[] = [
  ref('media.media_files.product_id', 'catalog.products.id', 'delete', 'images of a deleted product'),
  ref(
    'media.media_source_urls.product_id',
    'catalog.products.id',
    'delete',
    'image URLs imported for a deleted product',
  ),
  ref(
    'code2asin.code2asin_results.product_id',
    'catalog.products.id',
    'delete',
    'matches of a deleted product',
  ),
  ref(
    'exports.export_job_items.product_id',
    'catalog.products.id',
    'delete',
    'feed lines of a deleted product',
  ),
  ref(
    'analytics.product_metrics.product_id',
    'catalog.products.id',
    'delete',
    'metrics of a deleted product',
  ),
  ref(
    'analytics.supplier_metrics.supplier_id',
    'catalog.suppliers.id',
    'delete',
    'metrics of a deleted supplier',
  ),
  ref('imports.import_jobs.created_by', 'core.users.id', 'set_null', 'the job stays, its creator is gone'),
  ref(
    'imports.import_jobs.supplier_code',
    'catalog.suppliers.code',
    'keep_and_flag',
    'import history is kept as it happened',
  ),
  ref(
    'imports.import_configs.supplier_code',
    'catalog.suppliers.code',
    'keep_and_flag',
    'a configuration is fixed by a person, not removed',
  ),
  ref(
    'imports.mapping_templates.supplier_code',
    'catalog.suppliers.code',
    'keep_and_flag',
    'a template may serve another supplier',
  ),
  ref(
    'code2asin.code2asin_jobs.supplier_code',
    'catalog.suppliers.code',
    'keep_and_flag',
    'matching history is kept as it happened',
  ),
  ref('analytics.audit_logs.user_id', 'core.users.id', 'keep_and_flag', 'the audit trail is never rewritten'),
  ref(
    'analytics.ai_usage_logs.user_id',
    'core.users.id',
    'set_null',
    'usage and cost stay, the user is gone',
  ),
  ref('analytics.reports.created_by', 'core.users.id', 'set_null', 'the report stays, its author is gone'),
  ref('catalog.price_history.changed_by', 'core.users.id', 'set_null', 'the price change stays'),
  ref('catalog.stock_history.changed_by', 'core.users.id', 'set_null', 'the stock movement stays'),
  ref(
    'catalog.import_batch_receipts.job_id',
    'imports.import_jobs.id',
    'delete',
    'receipts serve only their job',
  ),
]

/** The references a deletion of `kind` concerns, in the databases of `domain` (those it applies). */
export function referencesToKind(kind: DeletedEntityKind, domain?: Domain): CrossDatabaseReference[] {
  return CROSS_DATABASE_REFERENCES.filter(
    (r) => r.to.kind === kind && r.policy !== 'keep_and_flag' && (!domain || r.from.domain === domain),
  )
}

const DELETION_KINDS: Record<string, DeletedEntityKind> = {
  product: 'product',
  supplier: 'supplier',
  user: 'user',
}

/** Ids deleted per kind, from outbox entries (`delete` of a product, supplier or user). */
export function deletionsOf(entries: readonly OutboxEntry[]): Map<DeletedEntityKind, string[]> {
  const found = new Map<DeletedEntityKind, string[]>()
  for (const e of entries) {
    const kind = DELETION_KINDS[e.entityType]
    if (e.action !== 'delete' || !kind || !e.entityId) continue
    found.set(kind, [...(found.get(kind) ?? []), e.entityId])
  }
  return found
}

export const APPLY_DELETIONS_MUTATION = `mutation ApplyDeletions($products: [UUID!], $suppliers: [UUID!], $users: [UUID!]) {
  applyDeletions(products: $products, suppliers: $suppliers, users: $users)
}`

/**
 * After the outbox's entries reached analytics: the deletions among them are sent to each subgraph owning
 * rows that refer to the deleted entities (its internal `applyDeletions`, signed as SERVICE). A failure
 * throws, so the batch stays in the outbox and is sent again (applying a deletion twice changes nothing).
 */
export function withDeletionPropagation(
  deliver: (entries: OutboxEntry[]) => Promise<void>,
  peers: Peers,
): (entries: OutboxEntry[]) => Promise<void> {
  return async (entries) => {
    await deliver(entries)
    const deletions = deletionsOf(entries)
    if (deletions.size === 0) return
    const targets = new Set<Domain>()
    for (const kind of deletions.keys()) for (const r of referencesToKind(kind)) targets.add(r.from.domain)
    const variables = {
      products: deletions.get('product') ?? null,
      suppliers: deletions.get('supplier') ?? null,
      users: deletions.get('user') ?? null,
    }
    for (const domain of targets) {
      // A deployment without that service (a partial test stack) has no rows of it to fix.
      if (!peers[domain]) continue
      const body = await postPeer<{ applyDeletions: number }>(
        peers,
        domain,
        APPLY_DELETIONS_MUTATION,
        variables,
      )
      if (body.errors?.length || !body.data) {
        throw new Error(`${domain} did not apply the deletions: ${body.errors?.[0]?.message ?? 'no answer'}`)
      }
    }
  }
}

/**
 * Applies the declared policy of this database's references to the deleted entities (delete the rows, or
 * set the column null); keep-and-flag references are left for the integrity report. Rows changed.
 */
export async function applyDeletionPolicies(
  // biome-ignore lint/suspicious/noExplicitAny: any domain's database
  db: Kysely<any>,
  domain: Domain,
  deleted: Partial<Record<DeletedEntityKind, readonly string[] | null | undefined>>,
  logger?: Logger,
): Promise<number> {
  let changed = 0
  for (const [kind, ids] of Object.entries(deleted) as [DeletedEntityKind, readonly string[] | null][]) {
    if (!ids?.length) continue
    for (const r of referencesToKind(kind, domain)) {
      const column = sql.ref(r.from.column)
      const table = sql.table(r.from.table)
      const result =
        r.policy === 'delete'
          ? await sql`DELETE FROM ${table} WHERE ${column} = ANY(${ids}::uuid[])`.execute(db)
          : await sql`UPDATE ${table} SET ${column} = NULL WHERE ${column} = ANY(${ids}::uuid[])`.execute(db)
      const n = Number(result.numAffectedRows ?? 0)
      changed += n
      if (n > 0) logger?.info('deletion policy applied', { reference: r.name, policy: r.policy, rows: n })
    }
  }
  return changed
}

/**
 * The resolver of `applyDeletions(products, suppliers, users): Int!`, the same in every subgraph that owns
 * rows referring to products, suppliers or users of another database.
 */
export function applyDeletionsResolver(domain: Domain) {
  return async (
    _: unknown,
    args: { products?: string[] | null; suppliers?: string[] | null; users?: string[] | null },
    // biome-ignore lint/suspicious/noExplicitAny: every subgraph context has db and logger
    ctx: { db: Kysely<any>; logger: Logger },
  ): Promise<number> =>
    ctx.db
      .transaction()
      .execute((trx) =>
        applyDeletionPolicies(
          trx,
          domain,
          { product: args.products, supplier: args.suppliers, user: args.users },
          ctx.logger,
        ),
      )
}
