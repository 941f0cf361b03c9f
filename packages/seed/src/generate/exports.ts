import type { DB } from '@pm/db/types/exports'
import type { Insertable } from 'kysely'
import { fixed, type Random } from '../random'
import { anchorId, type Ctx, HOUR_MS, MINUTE_MS, type ProductInfo } from './context'

export type ExportsRows = { [T in Exclude<keyof DB, 'audit_outbox'>]: Insertable<DB[T]>[] }

export interface ExportJobInfo {
  id: string
  platform: string
  status: string
  at: Date
  items: number
}

/** Error messages of failed export items, by platform type. */
export const EXPORT_FAILURES: Record<string, string[]> = {
  shopify: [
    'Shopify API 422: handle déjà utilisé par un autre produit',
    'Shopify API 429: limite de requêtes atteinte, nouvel essai planifié',
    "Image principale introuvable dans l'espace média",
  ],
  woocommerce: [
    'WooCommerce REST 400: product_invalid_sku (SKU déjà présent)',
    'WooCommerce REST 500: erreur interne du serveur distant',
    'Délai dépassé après 30 s',
  ],
  minio: ['S3 PutObject: SignatureDoesNotMatch', 'Délai dépassé après 30 s'],
}

/** Shopify, WooCommerce and MinIO export targets (their config holds credentials). */
export function exportPlatforms(ctx: Ctx, rng: Random, ids: Random): Insertable<DB['export_platforms']>[] {
  const createdAt = ctx.daysAgo(400)
  return [
    {
      // The first platform anchors the exports database (same id for every seed).
      id: anchorId('exports'),
      name: 'Boutique Shopify',
      platform_type: 'shopify',
      is_active: true,
      config: {
        shop_domain: 'boutique-demo.myshopify.com',
        api_version: '2024-10',
        api_key: `shpka_${rng.hex(32)}`,
        password: `shpat_${rng.hex(32)}`,
        location_id: rng.digits(11),
      },
      field_mappings: {
        title: 'title',
        description: 'body_html',
        brand: 'vendor',
        ean: 'variants[0].barcode',
        price: 'variants[0].price',
      },
      created_at: createdAt,
    },
    {
      id: ids.uuid(),
      name: 'WooCommerce – boutique pro',
      platform_type: 'woocommerce',
      is_active: true,
      config: {
        base_url: 'https://pro.boutique-demo.example',
        api_key: `ck_${rng.hex(40)}`,
        password: `cs_${rng.hex(40)}`,
        api_version: 'wc/v3',
      },
      field_mappings: {
        title: 'name',
        description: 'description',
        ean: 'meta_data.ean',
        price: 'regular_price',
        stock: 'stock_quantity',
      },
      created_at: ctx.after(createdAt, 30 * 24 * HOUR_MS),
    },
    {
      id: ids.uuid(),
      name: 'Flux MinIO partenaires',
      platform_type: 'minio',
      is_active: rng.chance(0.5),
      config: {
        endpoint: 'http://localhost:9000',
        bucket: 'pm-exports',
        prefix: 'flux/partenaires/',
        api_key: `AKIA${rng.alnum(16)}`,
        password: rng.hex(40),
        format: 'csv',
      },
      field_mappings: null,
      created_at: ctx.after(createdAt, 90 * 24 * HOUR_MS),
    },
  ]
}

/**
 * Three export platforms (their config holds credentials), export jobs over the last three months
 * and their items, a few of which point at product ids the catalog does not have.
 */
export function generateExports(
  ctx: Ctx,
  products: ProductInfo[],
  orphanIds: string[],
): { rows: ExportsRows; jobs: ExportJobInfo[] } {
  const rng = ctx.rng('exports')
  const ids = ctx.rng('exports.ids')
  const itemIds = ctx.rng('exports.export_job_items.id')

  const platforms = exportPlatforms(ctx, rng, ids)

  const jobs: Insertable<DB['export_jobs']>[] = []
  const items: Insertable<DB['export_job_items']>[] = []
  const info: ExportJobInfo[] = []
  const active = products.filter((p) => p.isActive)
  const jobCount = 15
  for (let j = 0; j < jobCount; j++) {
    const platformIndex = rng.weighted([
      [0, 5],
      [1, 3],
      [2, 2],
    ] as const)
    const platform = platforms[platformIndex]!
    const type = rng.pick(['full_sync', 'incremental_sync', 'price_update', 'stock_update', 'media_sync'])
    const isLast = j === jobCount - 1
    const status = isLast
      ? 'pending'
      : j === jobCount - 2
        ? 'running'
        : rng.weighted([
            ['completed', 80],
            ['failed', 12],
            ['cancelled', 8],
          ] as const)
    const jobCreated = isLast
      ? ctx.daysAgo(0.02)
      : j === jobCount - 2
        ? ctx.daysAgo(0.1)
        : ctx.daysAgo(90 - (j * 88) / jobCount - rng.float())
    const startedAt = status === 'pending' ? null : ctx.after(jobCreated, rng.int(1, 5) * MINUTE_MS)
    const jobId = ids.uuid()
    const pool = active.filter((p) => p.createdAt.getTime() < jobCreated.getTime())
    const count = status === 'pending' || pool.length === 0 ? 0 : Math.min(pool.length, rng.int(10, 60))
    let success = 0
    let failed = 0
    let last = startedAt?.getTime() ?? 0
    for (const product of rng.sample(pool, count)) {
      const itemStatus =
        status === 'running'
          ? rng.weighted([
              ['success', 60],
              ['pending', 35],
              ['failed', 5],
            ] as const)
          : status === 'failed'
            ? rng.weighted([
                ['success', 30],
                ['failed', 70],
              ] as const)
            : status === 'cancelled'
              ? rng.weighted([
                  ['success', 40],
                  ['skipped', 60],
                ] as const)
              : rng.weighted([
                  ['success', 93],
                  ['failed', 5],
                  ['skipped', 2],
                ] as const)
      const processedAt = itemStatus === 'pending' ? null : ctx.after(startedAt!, rng.int(1, 900) * 1000)
      if (processedAt) last = Math.max(last, processedAt.getTime())
      if (itemStatus === 'success') success++
      if (itemStatus === 'failed') failed++
      items.push({
        id: itemIds.uuid(),
        job_id: jobId,
        product_id: product.id,
        status: itemStatus,
        error_message: itemStatus === 'failed' ? rng.pick(EXPORT_FAILURES[platform.platform_type]!) : null,
        exported_data: {
          sku: product.sku,
          ean: product.ean,
          title: product.title,
          price: fixed(product.retailCents, 2),
          currency: 'EUR',
        },
        response_data:
          itemStatus === 'success' ? { remote_id: rng.digits(13), http_status: rng.pick([200, 201]) } : null,
        processed_at: processedAt,
      })
    }
    jobs.push({
      id: jobId,
      platform_id: platform.id!,
      job_type: type,
      status,
      total_items: count,
      success_items: success,
      failed_items: failed,
      started_at: startedAt,
      completed_at: ['completed', 'failed', 'cancelled'].includes(status)
        ? new Date(Math.min(ctx.now.getTime(), last + MINUTE_MS))
        : null,
      created_at: jobCreated,
    })
    info.push({ id: jobId, platform: platform.name, status, at: jobCreated, items: count })
  }

  // Orphans: items of products deleted from the catalog since (about 2% of items).
  const finished = jobs.filter((j) => j.status === 'completed')
  const orphanCount = Math.max(1, Math.round((items.length * 0.02) / 0.98))
  for (let n = 0; n < orphanCount && finished.length > 0; n++) {
    const job = finished[n % finished.length]!
    items.push({
      id: itemIds.uuid(),
      job_id: job.id!,
      product_id: orphanIds[n % orphanIds.length]!,
      status: 'failed',
      error_message: 'Produit introuvable dans le catalogue',
      exported_data: null,
      response_data: null,
      processed_at: ctx.after(job.started_at as Date, 1000),
    })
    job.total_items = (job.total_items ?? 0) + 1
    job.failed_items = (job.failed_items ?? 0) + 1
  }

  return { rows: { export_platforms: platforms, export_jobs: jobs, export_job_items: items }, jobs: info }
}
