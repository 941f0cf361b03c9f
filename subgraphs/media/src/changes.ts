import { tellCatalogImages } from './catalog'
import type { Context } from './context'

/**
 * Tells the gateway's cache (ctx.changes) what the current mutation changes in media: these files' answers
 * (a file's `isPrimary`, `displayOrder`, thumbnails…) and these products' `media` and `primaryImage`.
 */
export function declareMedia(
  ctx: Context,
  changed: { products?: readonly (string | null)[]; files?: readonly (string | null | undefined)[] },
) {
  ctx.changes.entities('Product', changed.products ?? [])
  ctx.changes.entities('MediaFile', changed.files ?? [])
}

/** The mutation leaves catalog as it was (catalog hears of a product's images only when it gains or loses its first). */
export function declareCatalogUnchanged(ctx: Context) {
  ctx.changes.entities('Product', [], 'catalog')
}

/** Tells catalog about these products' images (tellCatalogImages) and declares what catalog says it changed. */
export async function tellCatalogAndDeclare(ctx: Context, productIds: readonly string[]) {
  ctx.changes.fromPeer('catalog', await tellCatalogImages(ctx, productIds))
}
