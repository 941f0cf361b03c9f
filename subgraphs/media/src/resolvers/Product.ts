import { oncePerField, type Selection, selectionOf, thenNow } from '@pm/service-kit'
import type { GraphQLResolveInfo } from 'graphql'
import type { Context } from '../context'
import type { ProductResolvers } from '../generated/graphql'

/**
 * A product as this subgraph holds it: its key, whether its fetch asks for thumbnails of its files, and whether
 * it asks for the product's media list (else primaryImage reads the primary file alone).
 */
export interface ProductRef {
  id: string
  withThumbnails?: boolean
  withMedia?: boolean
}

const asksThumbnails = (files: Selection) => files.has('thumbnails') || files.has('thumbnail')

// Decided once per _entities field for media and primaryImage together: both then read one batch.
const entityWantsThumbnails = oncePerField((info) => {
  const product = selectionOf(info, 'Product')
  return [...product.field('media'), ...product.field('primaryImage')].some((f) =>
    asksThumbnails(f.selection()),
  )
})

// Whether the _entities field asks for Product.media: primaryImage then picks from that batch (one statement).
const entityWantsMedia = oncePerField((info) => selectionOf(info, 'Product').field('media').length > 0)

/** The files batch: with their thumbnails in the same statement when the operation asks for them. */
function mediaOf(product: ProductRef, ctx: Context, info: GraphQLResolveInfo) {
  const withThumbnails = product.withThumbnails ?? (info ? asksThumbnails(selectionOf(info)) : false)
  const loader = withThumbnails ? ctx.loaders.mediaWithThumbnailsByProductId : ctx.loaders.mediaByProductId
  return loader.loadNow(product.id)
}

/** Catalog owns products: the representation is returned as is, existence is checked there. */
export const Product = {
  __resolveReference: (ref: { id: string }, _: Context, info: GraphQLResolveInfo): ProductRef => ({
    id: ref.id,
    ...(info ? { withThumbnails: entityWantsThumbnails(info), withMedia: entityWantsMedia(info) } : {}),
  }),
  media: (product, _, ctx, info) => mediaOf(product, ctx, info),
  // Picked from the same batch as media when the operation asks for both (one statement, thumbnails included
  // when either asks for them); alone, the primary file is the only one read: the first marked primary in
  // display order, else the first file, as it would be picked from the list.
  primaryImage: (product, _, ctx, info) => {
    if (product.withMedia === false) {
      const withThumbnails = product.withThumbnails ?? (info ? asksThumbnails(selectionOf(info)) : false)
      const loader = withThumbnails
        ? ctx.loaders.primaryImageWithThumbnailsByProductId
        : ctx.loaders.primaryImageByProductId
      return loader.loadNow(product.id)
    }
    return thenNow(
      mediaOf(product, ctx, info),
      (files) => files.find((f) => f.isPrimary === true) ?? files[0] ?? null,
    )
  },
} satisfies ProductResolvers
