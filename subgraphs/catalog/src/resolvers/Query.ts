import {
  badUserInput,
  MAX_PAGE_SIZE,
  mapConnection,
  orderFrom,
  pageSize,
  paginate,
  SERVICE_MAX_PAGE_SIZE,
  selectionOf,
  toConnection,
  totalCountOf,
} from '@pm/service-kit'
import { checkScore, completenessQuery } from '../completeness'
import { toBrand, toCategory, toSupplier } from '../db/mappers'
import { brandsQuery, categoriesQuery, productsQuery, suppliersQuery } from '../db/queries'
import { figuresQuery } from '../figures'
import type { QueryResolvers } from '../generated/graphql'
import { productOrder } from '../loaders'
import { prefetchColumns, primeProduct, productPrefetchPlan, withPrefetch } from '../prefetch'
import { firstPageStatement } from '../products-page'
import { searchTerm } from './args'
import { loadProduct } from './products'

const SUPPLIER_ORDER_COLUMNS = {
  CREATED_AT: 'suppliers.created_at',
  NAME: 'suppliers.name',
  CODE: 'suppliers.code',
}
const BRAND_ORDER_COLUMNS = { NAME: 'brands.name', CODE: 'brands.code' }
const CATEGORY_ORDER_COLUMNS = { NAME: 'categories.name', SLUG: 'categories.slug' }
const EAN = /^[0-9]{8,14}$/
const COUNTRY = /^[A-Za-z]{2}$/

export const Query = {
  ...figuresQuery,
  ...completenessQuery,
  product: (_, { id }, ctx, info) => loadProduct(ctx, 'id', id, productPrefetchPlan(selectionOf(info))),
  productByEan: (_, { ean }, ctx, info) =>
    loadProduct(ctx, 'ean', ean.trim(), productPrefetchPlan(selectionOf(info))),
  productBySku: (_, { sku }, ctx, info) =>
    loadProduct(ctx, 'sku', sku.trim(), productPrefetchPlan(selectionOf(info))),
  products: async (_, args, ctx, info) => {
    const filter = {
      ...args.filter,
      search: searchTerm(args.filter?.search),
      completenessBelow: checkScore('filter.completenessBelow', args.filter?.completenessBelow),
      completenessAtLeast: checkScore('filter.completenessAtLeast', args.filter?.completenessAtLeast),
    }
    // The page's statement also fetches the children its nodes ask for (one statement for the list).
    const plan = productPrefetchPlan(selectionOf(info).at('edges', 'node'))
    const order = productOrder(args.orderBy)
    // The platform's feed exports (signed service callers) read the catalogue in larger pages.
    const maxPageSize = ctx.caller.kind === 'service' ? SERVICE_MAX_PAGE_SIZE : MAX_PAGE_SIZE
    const compiled = firstPageStatement(filter, order, plan, args.after, ctx.db)
    if (compiled) {
      const first = pageSize(args.first, maxPageSize)
      const rows = await compiled.run(ctx.db, first + 1)
      const page = toConnection(
        rows,
        first,
        order,
        args,
        totalCountOf(() => productsQuery(ctx.db, filter)),
      )
      return mapConnection(page, (row) => primeProduct(ctx.loaders, row, compiled.columns))
    }
    const columns = prefetchColumns(ctx.db, plan)
    const page = await paginate(withPrefetch(productsQuery(ctx.db, filter), columns), order, args, {
      maxPageSize,
    })
    return mapConnection(page, (row) => primeProduct(ctx.loaders, row, columns))
  },
  productVariant: (_, { id }, ctx) => ctx.loaders.variantById.load(id),
  productVariantBySku: (_, { sku }, ctx) => ctx.loaders.variantBySku.load(sku.trim()),

  supplier: (_, { id }, ctx) => ctx.loaders.supplierById.load(id),
  supplierByCode: (_, { code }, ctx) => ctx.loaders.supplierByCode.load(code),
  suppliers: async (_, args, ctx) => {
    const country = args.filter?.country?.trim()
    if (country != null && !COUNTRY.test(country)) {
      throw badUserInput('filter.country must be a two-letter ISO 3166-1 code, e.g. "FR"', {
        argument: 'filter.country',
      })
    }
    const filter = {
      ...args.filter,
      country: country?.toUpperCase(),
      search: searchTerm(args.filter?.search),
    }
    const order = orderFrom(SUPPLIER_ORDER_COLUMNS, 'suppliers.id', args.orderBy, {
      field: 'CREATED_AT',
      direction: 'DESC',
    })
    return mapConnection(await paginate(suppliersQuery(ctx.db, filter), order, args), toSupplier)
  },

  brand: (_, { id }, ctx) => ctx.loaders.brandById.load(id),
  brandByCode: (_, { code }, ctx) => ctx.loaders.brandByCode.load(code),
  brands: async (_, args, ctx) => {
    const filter = { ...args.filter, search: searchTerm(args.filter?.search) }
    const order = orderFrom(BRAND_ORDER_COLUMNS, 'brands.id', args.orderBy, {
      field: 'NAME',
      direction: 'ASC',
    })
    return mapConnection(await paginate(brandsQuery(ctx.db, filter), order, args), toBrand)
  },

  category: (_, { id }, ctx) => ctx.loaders.categoryById.load(id),
  categoryBySlug: (_, { slug }, ctx) => ctx.loaders.categoryBySlug.load(slug),
  categories: async (_, args, ctx) => {
    if (args.filter?.parentId != null && args.filter.rootsOnly) {
      throw badUserInput('use filter.parentId or filter.rootsOnly, not both', { argument: 'filter' })
    }
    const filter = { ...args.filter, search: searchTerm(args.filter?.search) }
    const order = orderFrom(CATEGORY_ORDER_COLUMNS, 'categories.id', args.orderBy, {
      field: 'NAME',
      direction: 'ASC',
    })
    return mapConnection(await paginate(categoriesQuery(ctx.db, filter), order, args), toCategory)
  },

  eanResolutions: (_, { ean }, ctx) => {
    const value = ean.trim()
    if (!EAN.test(value))
      throw badUserInput('ean must be 8 to 14 digits, e.g. "3017620422003"', { argument: 'ean' })
    return ctx.loaders.eanResolutionsByEan.load(value)
  },
} satisfies QueryResolvers
