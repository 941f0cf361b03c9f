// GENERATED FILE, do not edit: `pnpm compose` (gateway/scripts/compose.ts) writes it from the @cacheScope
// directives of subgraphs/<domain>/src/schema.graphql; a test fails when it is out of date.

/** Subgraph → Query field → where an owner id is among its arguments, and the owner's entity type. */
export const SCHEMA_CACHE_SCOPES: Readonly<
  Record<string, Record<string, readonly { path: readonly string[]; entity: string }[]>>
> = {
  "catalog": {
    "products": [
      {
        "path": [
          "filter",
          "supplierId"
        ],
        "entity": "Supplier"
      },
      {
        "path": [
          "filter",
          "brandId"
        ],
        "entity": "Brand"
      },
      {
        "path": [
          "filter",
          "categoryId"
        ],
        "entity": "Category"
      }
    ]
  },
  "media": {
    "mediaFiles": [
      {
        "path": [
          "filter",
          "productId"
        ],
        "entity": "Product"
      }
    ]
  }
}
